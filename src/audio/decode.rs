//! STUB (uncommitted) — replaced by the decode branch.
#![allow(dead_code, unused_variables)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioSpec {
    pub sample_rate: u32,
    pub channels: u16,
}
pub trait AudioReader: Send {
    fn spec(&self) -> AudioSpec;
    fn total_frames(&self) -> Option<u64>;
    fn read_block(&mut self, buf: &mut Vec<f32>) -> Result<bool, DecodeError>;
    fn describe(&self) -> String;
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEncoding {
    S16Le,
    F32Le,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFormat {
    pub encoding: RawEncoding,
    pub sample_rate: u32,
    pub channels: u16,
}
pub fn open_file(path: &std::path::Path) -> Result<Box<dyn AudioReader>, DecodeError> {
    todo!()
}
pub fn open_stream(
    reader: Box<dyn std::io::Read + Send + Sync>,
    raw: Option<RawFormat>,
    name: &str,
) -> Result<Box<dyn AudioReader>, DecodeError> {
    todo!()
}
pub fn read_all(path: &std::path::Path) -> Result<(AudioSpec, Vec<f32>), DecodeError> {
    todo!()
}
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("x")]
    X,
}
