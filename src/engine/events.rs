//! The typed events that leave the analysis thread.
//!
//! These are the engine's only output. Printers, the monitor and the session writer all
//! consume the same stream, so nothing downstream needs to know how a number was made,
//! and the engine never needs to know who is listening.

use std::time::Instant;

use serde::Serialize;

use crate::model::Affect;

pub use crate::audio::{SourceInfo, SourceKind};

/// What the engine is running, sent once before anything else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StartInfo {
    pub source: SourceInfo,
    pub model_name: String,
    pub labels: Vec<String>,
    /// Whether the model rates arousal and valence (speech windows then carry them).
    pub affect: bool,
    /// Whether the stream adapts to the voice it hears ([`crate::engine::adapt`]).
    pub adapting: bool,
    /// The model's rate; every time in the other events is in seconds of audio at this rate
    /// since the source started.
    pub sample_rate: u32,
    /// The window and hop the analyzer uses, in whole frames (not just as requested).
    pub window_s: f64,
    pub hop_s: f64,
    /// Centre frequency in Hz of each mel band of the spectrogram columns, lowest first.
    pub mel_frequencies: Vec<f32>,
    /// When the engine started reading the source: stream time 0 for a live source.
    /// With [`WindowResult::emitted_at`] it gives the latency from the end of a window's
    /// audio to its result.
    #[serde(skip)]
    pub started_at: Instant,
}

/// One spectrogram column: the log-mel power (dB) of one 10 ms analysis frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectrogramColumn {
    pub time_s: f64,
    pub mel_db: Vec<f32>,
}

/// Input level over a short block (about 50 ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Level {
    pub time_s: f64,
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
    /// At least one sample at or beyond full scale in this block.
    pub clipped: bool,
}

/// What the model saw in one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Too little voice activity: deliberately not forced into an emotion.
    NoSpeech,
    Emotion {
        /// One probability per label, in the model's label order; they sum to 1.
        probs: Vec<f32>,
        /// Index of the most probable label.
        top: usize,
        /// Arousal and valence, from models that rate them (`arousal` and `valence`
        /// fields in JSON).
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        affect: Option<Affect>,
    },
}

/// One analysis window: the unit everything downstream reasons about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    /// Sequence number, from 0.
    pub index: u64,
    pub start_s: f64,
    pub end_s: f64,
    /// Fraction of the window's voice-activity frames judged to be speech.
    pub speech_ratio: f32,
    /// RMS level of the window in dBFS.
    pub rms_dbfs: f32,
    pub outcome: Outcome,
    /// When the engine sent it (for latency measurements downstream).
    #[serde(skip)]
    pub emitted_at: Instant,
}

impl WindowResult {
    /// The probabilities, or `None` for a no-speech window.
    pub fn probs(&self) -> Option<&[f32]> {
        match &self.outcome {
            Outcome::Emotion { probs, .. } => Some(probs),
            Outcome::NoSpeech => None,
        }
    }

    /// Arousal and valence, for a speech window of a model that rates them.
    pub fn affect(&self) -> Option<Affect> {
        match &self.outcome {
            Outcome::Emotion { affect, .. } => *affect,
            Outcome::NoSpeech => None,
        }
    }

    /// Index of the top label, or `None` for a no-speech window.
    pub fn top(&self) -> Option<usize> {
        match &self.outcome {
            Outcome::Emotion { top, .. } => Some(*top),
            Outcome::NoSpeech => None,
        }
    }
}

/// Health figures, sent about once a second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// Seconds of audio analysed so far.
    pub time_s: f64,
    /// Seconds of it judged to be speech.
    pub speech_s: f64,
    /// Samples the audio callback could not store because the ring was full, since start.
    pub dropped_samples: u64,
    /// Mean processing time per hop (resampling, features, VAD, model) over the last period.
    pub hop_ms: f32,
    /// Processing time divided by audio time over the last period (below 1 keeps up).
    pub real_time_factor: f32,
    /// How full the ring buffer was when last read, 0..1.
    pub ring_fill: f32,
}

/// Why the engine stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "message", rename_all = "snake_case")]
pub enum EndReason {
    /// The file or pipe ended.
    EndOfInput,
    /// Someone asked it to stop.
    Stopped,
    /// The capture device went away or failed.
    DeviceLost(String),
    /// Decoding or inference failed.
    Failed(String),
}

/// Everything the analysis thread sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started(StartInfo),
    Spectrogram(SpectrogramColumn),
    Level(Level),
    Window(WindowResult),
    Stats(Stats),
    /// Something worth showing that does not stop the engine.
    Warning {
        message: String,
    },
    /// Always the last event.
    Ended(EndReason),
}

/// A session's time across engine restarts. Each engine's stream time starts at 0 (a
/// device change starts a new engine); a session's time goes on from where the last
/// engine left it. The monitor's state and the session writer keep one each, fed the
/// same events, so the screen and the files agree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionClock {
    base_s: f64,
    now_s: f64,
    engines: u32,
}

impl SessionClock {
    /// An engine started (its `Started` event); true when it is not the first.
    pub fn engine_started(&mut self) -> bool {
        let restarted = self.engines > 0;
        if restarted {
            self.base_s = self.now_s;
        }
        self.engines += 1;
        restarted
    }

    /// Session time of the current engine's stream time `engine_s`.
    pub fn session_s(&self, engine_s: f64) -> f64 {
        self.base_s + engine_s
    }

    /// Moves to the current engine's stream time `engine_s` (never backwards).
    pub fn advance(&mut self, engine_s: f64) {
        self.now_s = self.now_s.max(self.session_s(engine_s));
    }

    /// The latest session time seen.
    pub fn now_s(&self) -> f64 {
        self.now_s
    }
}
