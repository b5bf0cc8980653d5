//! STUB (uncommitted) — replaced by the frontend branch.
#![allow(dead_code, unused_variables)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    Mfcc,
    Logmel,
}
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    pub sample_rate: u32,
    pub n_fft: usize,
    pub win_length: usize,
    pub hop_length: usize,
    pub n_mels: usize,
    pub n_mfcc: usize,
    pub fmin: f32,
    pub fmax: f32,
    pub features: FeatureKind,
}
impl Default for FrontendConfig {
    fn default() -> Self {
        todo!()
    }
}
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error("x")]
    X,
}
impl FrontendConfig {
    pub fn validate(&self) -> Result<(), FrontendError> {
        todo!()
    }
    pub fn feature_dim(&self) -> usize {
        todo!()
    }
    pub fn frames_per_second(&self) -> f64 {
        todo!()
    }
    pub fn mel_center_frequencies(&self) -> Vec<f32> {
        todo!()
    }
}
pub struct Frame<'a> {
    pub index: u64,
    pub mel_db: &'a [f32],
    pub features: &'a [f32],
}
pub struct Frontend;
impl Frontend {
    pub fn new(config: FrontendConfig) -> Result<Self, FrontendError> {
        todo!()
    }
    pub fn config(&self) -> &FrontendConfig {
        todo!()
    }
    pub fn push(&mut self, samples: &[f32], on_frame: &mut dyn FnMut(&Frame<'_>)) {
        todo!()
    }
    pub fn finish(&mut self, on_frame: &mut dyn FnMut(&Frame<'_>)) {
        todo!()
    }
    pub fn reset(&mut self) {
        todo!()
    }
}
pub fn features_of_clip(
    config: &FrontendConfig,
    samples: &[f32],
) -> Result<Vec<f32>, FrontendError> {
    todo!()
}
