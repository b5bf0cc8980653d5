//! STUB (uncommitted) — replaced by the resample branch.
#![allow(dead_code, unused_variables)]
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    todo!()
}
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("x")]
    X,
}
pub struct Resampler;
impl Resampler {
    pub fn new(input_rate: u32, output_rate: u32) -> Result<Self, ResampleError> {
        todo!()
    }
    pub fn input_rate(&self) -> u32 {
        todo!()
    }
    pub fn output_rate(&self) -> u32 {
        todo!()
    }
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        todo!()
    }
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        todo!()
    }
    pub fn reset(&mut self) {
        todo!()
    }
}
