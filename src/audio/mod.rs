//! Getting audio in: decoding files and pipes, capturing from microphones.

pub mod capture;
pub mod decode;
pub mod source;
pub mod wav;

use serde::{Deserialize, Serialize};

/// Where the audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Microphone,
    File,
    Pipe,
}

/// What the source is, as the user should see it in a status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// Device name, file path as given, or "stdin".
    pub name: String,
    /// Native rate of the source (before resampling).
    pub sample_rate: u32,
    pub channels: u16,
    /// e.g. "i16", "FLAC 16-bit".
    pub format: String,
}

/// The source, as `session.json` and `events.jsonl` record it (a copy of
/// [`SourceInfo`] that can also be read back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// microphone, file or pipe.
    pub kind: String,
    /// Device name, file path as given, or "stdin".
    pub name: String,
    /// Native rate of the source, before resampling.
    pub sample_rate: u32,
    pub channels: u16,
    pub format: String,
}

impl From<&SourceInfo> for SourceRecord {
    fn from(s: &SourceInfo) -> SourceRecord {
        SourceRecord {
            kind: match s.kind {
                SourceKind::Microphone => "microphone",
                SourceKind::File => "file",
                SourceKind::Pipe => "pipe",
            }
            .into(),
            name: s.name.clone(),
            sample_rate: s.sample_rate,
            channels: s.channels,
            format: s.format.clone(),
        }
    }
}
