//! Signal processing on the analysis thread: resampling, features, voice activity, levels.

pub mod frontend;
pub mod level;
pub mod resample;
pub mod vad;
