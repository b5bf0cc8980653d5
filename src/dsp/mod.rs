//! Signal processing on the analysis thread: resampling, features, voice activity, levels.

pub mod fft;
pub mod frontend;
pub mod level;
pub mod resample;
pub mod speechnet;
pub mod vad;
