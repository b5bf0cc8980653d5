//! The on-disk format of a session, shared by the writer and the readers.
//!
//! ```text
//! <sessions dir>/2026-11-21T14-03-22/
//!     session.json     what, when, with which model; rewritten whole (temp + rename)
//!     timeline.jsonl   one JSON object per analysis hop, appended as it happens
//!     events.jsonl     markers, notes, recordings, device changes, pauses, warnings
//!     audio.wav        only with --keep-audio (audio-2.wav… past 4 GiB)
//! ```
//!
//! JSON lines were chosen over CSV for the two growing files because every line is a
//! complete, self-describing record: a reader can skip one torn line and lose nothing
//! else, fields can be added later without breaking old readers, and `jq` works on
//! them directly. `emotty sessions export --format csv` gives a spreadsheet view.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Local, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::EndReason;

pub use crate::audio::SourceRecord;
pub use crate::model::ModelRecord;

/// Version of this format, written into `session.json`.
pub const FORMAT: u32 = 1;

pub const META_FILE: &str = "session.json";
pub const TIMELINE_FILE: &str = "timeline.jsonl";
pub const EVENTS_FILE: &str = "events.jsonl";

/// The name of the `n`th kept-audio file (0-based): `audio.wav`, `audio-2.wav`, …
pub fn audio_file_name(n: usize) -> String {
    if n == 0 {
        "audio.wav".into()
    } else {
        format!("audio-{}.wav", n + 1)
    }
}

/// A moment, in UTC and in the local time of the machine that recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub utc: DateTime<Utc>,
    pub local: DateTime<FixedOffset>,
}

impl Stamp {
    pub fn now() -> Stamp {
        Stamp::from_utc(Utc::now())
    }

    pub fn from_utc(utc: DateTime<Utc>) -> Stamp {
        Stamp {
            utc,
            local: utc.with_timezone(&Local).fixed_offset(),
        }
    }
}

/// What `session.json` says about the session's state. "Interrupted" is never written:
/// it is what a reader concludes from "running" when no process is running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WrittenStatus {
    Running,
    Closed,
}

/// Which process writes the session, to tell "running" from "interrupted".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    pub program: String,
    pub version: String,
    pub pid: u32,
    pub host: String,
    /// Linux boot id: a pid from before a reboot says nothing about now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// When the writing process started (clock ticks since boot): a later process that
    /// got the same pid has another start time, so a killed session is not taken for a
    /// running one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
}

/// Kept audio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioRecord {
    /// File names, in order, relative to the session directory.
    pub files: Vec<String>,
    /// "wav" (16-bit PCM).
    pub format: String,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Why the session ended, as written: [`EndCause::record`] makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndRecord {
    /// end_of_input, stopped, duration, signal, device_lost, failed, storage_failed.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why a session ends. Every command ends its sessions through this, so the reasons
/// in `session.json` and `events.jsonl` have one spelling each.
#[derive(Debug, Clone, PartialEq)]
pub enum EndCause {
    /// A file or pipe ended.
    EndOfInput,
    /// Stopped by the engine's owner, with what stopped it if it says.
    Stopped(Option<String>),
    /// `--duration` seconds of audio were analysed.
    Duration(f64),
    /// A signal (SIGINT, SIGTERM, SIGHUP) stopped the program.
    Signal(String),
    /// The audio device went away.
    DeviceLost(String),
    /// The analysis, the terminal or the source failed.
    Failed(String),
    /// The session's own files could not be written.
    StorageFailed(String),
}

impl EndCause {
    /// The record written for this cause.
    pub fn record(&self) -> EndRecord {
        let (reason, message) = match self {
            EndCause::EndOfInput => ("end_of_input", None),
            EndCause::Stopped(why) => ("stopped", why.clone()),
            EndCause::Duration(d) => ("duration", Some(format!("{d} s of audio"))),
            EndCause::Signal(s) => ("signal", Some(s.clone())),
            EndCause::DeviceLost(m) => ("device_lost", Some(m.clone())),
            EndCause::Failed(m) => ("failed", Some(m.clone())),
            EndCause::StorageFailed(m) => ("storage_failed", Some(m.clone())),
        };
        EndRecord {
            reason: reason.into(),
            message,
        }
    }
}

impl From<&EndReason> for EndCause {
    fn from(reason: &EndReason) -> EndCause {
        match reason {
            EndReason::EndOfInput => EndCause::EndOfInput,
            EndReason::Stopped => EndCause::Stopped(None),
            EndReason::DeviceLost(m) => EndCause::DeviceLost(m.clone()),
            EndReason::Failed(m) => EndCause::Failed(m.clone()),
        }
    }
}

/// Figures computed from the timeline; written at close, recomputed for interrupted
/// sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Seconds of audio the session covers.
    pub duration_s: f64,
    /// Seconds judged to be speech.
    pub speech_s: f64,
    /// Seconds of speech attributed to each emotion (the window's top label).
    pub emotion_s: BTreeMap<String, f64>,
    /// The emotion with the most speech time, if there was any speech.
    pub dominant: Option<String>,
    pub windows: u64,
    pub markers: u64,
    pub notes: u64,
    pub recordings: u64,
    /// Seconds spent paused (not logged).
    pub paused_s: f64,
}

/// The contents of `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub format: u32,
    /// The directory name.
    pub id: String,
    /// `--session NAME`: a name or client code.
    pub name: Option<String>,
    pub status: WrittenStatus,
    pub start: Stamp,
    pub end: Option<Stamp>,
    pub writer: Writer,
    /// The source; `None` until the engine has started.
    pub source: Option<SourceRecord>,
    /// The capture device name, for microphone sessions.
    pub device: Option<String>,
    pub model: ModelRecord,
    /// The model's labels, in the order of the probabilities.
    pub labels: Vec<String>,
    /// Rate the model analyses at (Hz); times are seconds of audio since the start.
    pub sample_rate: Option<u32>,
    pub window_s: Option<f64>,
    pub hop_s: Option<f64>,
    pub audio: Option<AudioRecord>,
    pub ended: Option<EndRecord>,
    pub summary: Option<Summary>,
}

/// One analysis hop in `timeline.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// Window sequence number.
    pub index: u64,
    /// The window's span in seconds of audio since the session started.
    pub start_s: f64,
    pub end_s: f64,
    /// When the result was logged.
    pub wall: DateTime<Utc>,
    /// Top emotion, or `null` when the window held too little speech.
    pub emotion: Option<String>,
    pub no_speech: bool,
    pub speech_ratio: f32,
    pub rms_dbfs: f32,
    /// One probability per label, `null` for no speech.
    pub probs: Option<BTreeMap<String, f32>>,
    /// Arousal and valence in [-1, 1], for speech windows of models that rate them
    /// (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arousal: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valence: Option<f32>,
}

impl TimelineRow {
    /// The probabilities in `labels` order (missing labels read as 0).
    pub fn probs_in(&self, labels: &[String]) -> Option<Vec<f32>> {
        self.probs.as_ref().map(|p| {
            labels
                .iter()
                .map(|l| p.get(l).copied().unwrap_or(0.0))
                .collect()
        })
    }
}

/// What happened, in `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The user marked a moment ("door knock", "topic: work").
    Marker {
        label: String,
    },
    /// A free-text note.
    Note {
        text: String,
    },
    /// A labeled recording was saved during the session.
    Recording {
        /// Path of the clip, relative to its recordings directory.
        file: String,
        label: String,
        recordings_dir: String,
    },
    /// The source changed.
    DeviceChanged {
        source: SourceRecord,
    },
    /// Logging paused: no timeline rows, silence in kept audio, until resume.
    Pause,
    Resume,
    /// Something the engine or the writer wants remembered (dropped samples, …).
    Warning {
        message: String,
    },
    /// The engine started on a source.
    Started {
        source: SourceRecord,
    },
    /// The session ended (also in `session.json`).
    Ended {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Seconds of audio since the session started, when it happened.
    pub t: f64,
    pub wall: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}
