//! Labeled audio for evaluation and training: the corpus layouts `eval` and `features`
//! read (and the recordings layout the recorder writes), the training archive's export,
//! its augmentation, and the scores `eval` reports. Nothing here runs in a live session
//! but the speaker rule and the recordings manifest.

pub mod augment;
pub mod corpus;
pub mod features;
pub mod metrics;
