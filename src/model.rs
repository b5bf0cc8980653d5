//! STUB (uncommitted) — replaced by the model branch.
#![allow(dead_code, unused_variables)]
use crate::dsp::frontend::FrontendConfig;
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ModelMeta {
    pub format: u32,
    pub name: String,
    pub version: String,
    pub description: String,
    pub labels: Vec<String>,
    pub sample_rate: u32,
    pub frontend: FrontendConfig,
    pub window_s: f32,
    pub min_window_s: f32,
    pub output: OutputKind,
    pub training_data: String,
    pub metrics: serde_json::Value,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Probabilities,
    Logits,
}
pub struct ModelInfo {
    pub path: PathBuf,
    pub meta: ModelMeta,
    pub sha256: String,
    pub file_size: u64,
}
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("x")]
    X,
}
pub struct Model;
impl Model {
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        todo!()
    }
    pub fn info(&self) -> &ModelInfo {
        todo!()
    }
    pub fn labels(&self) -> &[String] {
        todo!()
    }
    pub fn feature_dim(&self) -> usize {
        todo!()
    }
    pub fn predict(&self, features: &[f32], frames: usize) -> Result<Vec<f32>, ModelError> {
        todo!()
    }
}
pub fn default_model_candidates() -> Vec<PathBuf> {
    todo!()
}
pub fn find_default_model() -> Result<PathBuf, ModelError> {
    todo!()
}
