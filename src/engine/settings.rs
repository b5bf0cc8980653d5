//! The analysis settings: what the command line and the model's metadata ask of the
//! engine, checked once against the model before any source opens.

use crate::dsp::frontend::FrontendError;
use crate::dsp::resample::ResampleError;
use crate::dsp::vad::{VAD_RATE, VadConfig};
use crate::engine::adapt::StreamStats;
use crate::model::{Model, ModelError};

/// Settings of the analysis, most of them from the command line with defaults from the
/// model's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Window length in seconds (the model's own by default).
    pub window_s: f64,
    /// Time between window ends.
    pub hop_s: f64,
    /// Shortest partial window worth classifying at the start of a stream.
    pub min_window_s: f64,
    /// Windows with a smaller fraction of speech frames are reported as no speech.
    pub min_speech_ratio: f32,
    pub vad: VadConfig,
    /// Send a spectrogram column per frame (the monitor wants them; batch commands not).
    pub spectrogram: bool,
    /// Send level events every `level_block_s`.
    pub levels: bool,
    pub level_block_s: f64,
    /// Per-stream feature adaptation ([`crate::engine::adapt`]).
    pub adapt: Adapt,
}

/// Whether and from where a stream adapts to the voice it hears.
#[derive(Debug, Clone, PartialEq)]
pub enum Adapt {
    /// The model sees the features as computed.
    Off,
    /// Adapting from the model's training statistics.
    Fresh,
    /// Adapting, continuing a stream that has heard this much (the next file of one
    /// speaker, say).
    Resume(StreamStats),
}

impl AnalysisConfig {
    /// Defaults for a model: its window, its default hop ([`default_hop_s`]),
    /// adaptation when the model was trained for it.
    pub fn for_model(model: &Model) -> Self {
        let meta = &model.info().meta;
        AnalysisConfig {
            window_s: f64::from(meta.window_s),
            hop_s: default_hop_s(model),
            min_window_s: f64::from(meta.min_window_s),
            min_speech_ratio: DEFAULT_MIN_SPEECH_RATIO,
            vad: VadConfig::default(),
            spectrogram: false,
            levels: false,
            level_block_s: 0.05,
            adapt: if meta.adaptation.is_some() {
                Adapt::Fresh
            } else {
                Adapt::Off
            },
        }
    }

    /// Everything about the settings that can be known before a source opens, checked
    /// against `model`: the model's rate (the VAD's), the lengths against its frame
    /// rate, a streaming model's hop against its steps, adaptation against its
    /// metadata. [`Analyzer::new`](crate::engine::Analyzer::new) runs the same check;
    /// the commands run it once, before they open or create anything.
    pub fn check(&self, model: &Model) -> Result<(), AnalysisError> {
        let meta = &model.info().meta;
        if meta.frontend.sample_rate != VAD_RATE {
            return Err(AnalysisError::Config(format!(
                "the model works at {} Hz but voice activity detection needs {VAD_RATE} Hz",
                meta.frontend.sample_rate
            )));
        }
        let fps = meta.frontend.frames_per_second();
        self.validate(fps)?;
        if let Some(step) = model.step_frames() {
            let hop = (self.hop_s * fps).round() as usize;
            if !hop.is_multiple_of(step) {
                let step_s = step as f64 / fps;
                let below = (hop / step) as f64 * step_s;
                let above = below + step_s;
                let nearest = if below > 0.0 {
                    format!("{} or {}", seconds(below), seconds(above))
                } else {
                    seconds(above)
                };
                return Err(AnalysisError::Config(format!(
                    "hop {} s is not a whole number of the streaming model's {:.0} ms steps \
                     (use {nearest})",
                    self.hop_s,
                    step_s * 1000.0
                )));
            }
        }
        if self.adapt != Adapt::Off && meta.adaptation.is_none() {
            return Err(AnalysisError::Config(
                "the model was trained without adaptation statistics; it cannot adapt to the stream"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks the settings against a front end of `frames_per_second` frames: lengths
    /// in range and whole numbers of frames (a hop of 15 ms would alternate 10 and
    /// 20 ms while every report used 15), the window no shorter than the model's
    /// minimum, the speech ratio a ratio.
    pub fn validate(&self, frames_per_second: f64) -> Result<(), AnalysisError> {
        let frame_ms = 1000.0 / frames_per_second;
        let check = |name: &str, s: f64| {
            if !(s.is_finite() && s > 0.0 && s <= 600.0) {
                return Err(AnalysisError::Config(format!(
                    "{name} must be between 0 and 600 seconds, not {s}"
                )));
            }
            let frames = s * frames_per_second;
            if (frames - frames.round()).abs() > 1e-6 || frames.round() < 1.0 {
                let below = frames.floor().max(1.0) / frames_per_second;
                let above = frames.ceil().max(1.0) / frames_per_second;
                let nearest = if below < above {
                    format!("{below} or {above}")
                } else {
                    format!("{above}")
                };
                return Err(AnalysisError::Config(format!(
                    "{name} {s} s is not a whole number of {frame_ms:.0} ms frames (use {nearest})"
                )));
            }
            Ok(())
        };
        check("window", self.window_s)?;
        check("hop", self.hop_s)?;
        check("minimum window", self.min_window_s)?;
        if self.window_s + 1e-9 < self.min_window_s {
            return Err(AnalysisError::Config(format!(
                "window {} s is shorter than the model's minimum window of {} s",
                self.window_s, self.min_window_s
            )));
        }
        if !(0.0..=1.0).contains(&self.min_speech_ratio) {
            return Err(AnalysisError::Config(format!(
                "minimum speech ratio must be between 0 and 1, not {}",
                self.min_speech_ratio
            )));
        }
        Ok(())
    }
}

/// Time between window ends for a window model unless the command line or the
/// configuration says otherwise: two verdicts a second (each costs a whole window).
pub const DEFAULT_HOP_S: f64 = 0.5;

/// Time between verdicts for a streaming model unless the command line or the
/// configuration says otherwise, rounded down to the model's whole steps: four a second,
/// since a verdict costs only the frames since the last one.
pub const DEFAULT_STREAM_HOP_S: f64 = 0.25;

/// The hop a model runs at unless told otherwise: [`DEFAULT_HOP_S`] for a window model,
/// [`DEFAULT_STREAM_HOP_S`] in whole steps (at least one) for a streaming model.
pub fn default_hop_s(model: &Model) -> f64 {
    let Some(step) = model.step_frames() else {
        return DEFAULT_HOP_S;
    };
    let fps = model.info().meta.frontend.frames_per_second();
    let steps = ((DEFAULT_STREAM_HOP_S * fps + 1e-6) as usize / step).max(1);
    (steps * step) as f64 / fps
}

/// Seconds as a user would type them (0.48, not 0.48000000000000004).
fn seconds(s: f64) -> String {
    format!("{}", (s * 1e6).round() / 1e6)
}

/// Default for [`AnalysisConfig::min_speech_ratio`]: at least 0.6 s of speech in a
/// 3 s window. Shorter snippets (a cough, a click, one syllable) say too little.
pub const DEFAULT_MIN_SPEECH_RATIO: f32 = 0.2;

/// Errors building or running the analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("invalid analysis settings: {0}")]
    Config(String),
    #[error(transparent)]
    Frontend(#[from] FrontendError),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error(transparent)]
    Model(#[from] ModelError),
}
