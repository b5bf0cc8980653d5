//! What a model file says about itself: the `emotty` metadata entry, parsed and checked.

use std::path::Path;

use tract_onnx::pb;

use super::error::{ModelError, one_line};
use crate::dsp::frontend::FrontendConfig;

/// The metadata key under which a model file stores its [`ModelMeta`] JSON.
pub const METADATA_KEY: &str = "emotty";

/// The newest metadata format this build reads. Bumped only for incompatible changes,
/// so that an old emotty refuses a newer model instead of misreading it: format 2 added
/// streaming models ([`StreamingMeta`]), which a format-1 reader would take for a
/// window model with too many inputs.
pub const METADATA_FORMAT: u32 = 2;

/// The oldest metadata format this build still reads (window models only).
pub const OLDEST_METADATA_FORMAT: u32 = 1;

/// What a model file says about itself (the JSON under the `emotty` metadata key).
///
/// The front end is part of the model, not of the program: features computed with
/// other settings than the training ones give confident nonsense, so the engine
/// builds its front end from `frontend` rather than from its own defaults.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ModelMeta {
    /// Metadata format; this build reads [`METADATA_FORMAT`].
    pub format: u32,
    /// Short model name, shown in the UI and written into session logs.
    pub name: String,
    /// Model version, recorded next to every result so results can be traced back.
    pub version: String,
    /// Free text describing the model (the ONNX doc string holds the same).
    #[serde(default)]
    pub description: String,
    /// Output labels, in the order of the model's output values.
    pub labels: Vec<String>,
    /// Sample rate (Hz) the audio is resampled to before the front end.
    pub sample_rate: u32,
    /// The front end the model was trained on.
    pub frontend: FrontendConfig,
    /// Length of the sliding analysis window, in seconds.
    pub window_s: f32,
    /// Shortest partial window worth a prediction at the start of a stream, in seconds.
    pub min_window_s: f32,
    /// Whether the output is already a distribution or raw scores to softmax.
    pub output: OutputKind,
    /// Where the training data came from, for licences (the model card says more).
    #[serde(default)]
    pub training_data: String,
    /// Evaluation figures recorded at training time; free-form.
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// The names of a second output's values: `["arousal", "valence"]` when the model
    /// also rates arousal and valence, each in [-1, 1]; empty when it has one output.
    #[serde(default)]
    pub affect: Vec<String>,
    /// The temperature the probabilities were calibrated with (already applied inside
    /// the graph; recorded for the model card).
    #[serde(default)]
    pub temperature: Option<f32>,
    /// The training data's feature statistics, for models trained with per-stream
    /// adaptation (see [`crate::engine::adapt`]); absent in models trained without it.
    #[serde(default)]
    pub adaptation: Option<AdaptationPrior>,
    /// Present for a streaming model: one that keeps its own state and sees each frame
    /// once (format 2). Absent for a window model, which is run on each whole window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<StreamingMeta>,
}

/// How to run a streaming model: the graph takes `[1, T, features]` with `T` a multiple
/// of `step_frames`, followed by each piece of `state` in order, and gives the
/// probabilities, arousal and valence where the model rates them, then each piece of
/// the new state in the same order. A fresh stream starts from zeros. The outputs
/// describe the last `window_s` seconds fed (the span pooled), with everything fed
/// before as context.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamingMeta {
    /// Frames per step of the recurrent layer (the convolutions' total stride): every
    /// call feeds a whole number of steps.
    pub step_frames: u32,
    /// The state tensors, in the order of the graph's inputs after the features.
    pub state: Vec<StateSpec>,
}

/// One state tensor of a streaming model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StateSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

/// The most values a streaming model's state may hold in all: far beyond a real one
/// (about 50 000), so that a bad file cannot make each stream allocate gigabytes.
const MAX_STATE_VALUES: usize = 1 << 24;

/// The longest step a streaming model may declare, in frames (8 is typical).
const MAX_STEP_FRAMES: u32 = 1000;

/// Where per-stream adaptation starts: the mean and standard deviation of each model
/// input over the training data's speech frames, counted as if `prior_frames` speech
/// frames of them had been heard before the stream began.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdaptationPrior {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub prior_frames: f64,
}

/// The names a model's second output must have, in this order.
pub const AFFECT_NAMES: [&str; 2] = ["arousal", "valence"];

/// Where a window sits on the circumplex of affect: arousal from calm (-1) to excited
/// (+1), valence from negative (-1) to positive (+1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Affect {
    pub arousal: f32,
    pub valence: f32,
}

/// What the model's single output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Already a probability distribution (the graph ends in a softmax).
    Probabilities,
    /// Unnormalised scores; the runner applies a softmax.
    Logits,
}

/// Finds, parses and checks the `emotty` metadata entry.
pub(super) fn read_meta(path: &Path, proto: &pb::ModelProto) -> Result<ModelMeta, ModelError> {
    let entry = proto
        .metadata_props
        .iter()
        .find(|entry| entry.key == METADATA_KEY)
        .ok_or_else(|| ModelError::NoMetadata {
            path: path.to_owned(),
        })?;
    let meta: ModelMeta =
        serde_json::from_str(&entry.value).map_err(|e| ModelError::BadMetadata {
            path: path.to_owned(),
            reason: one_line(&e),
        })?;
    validate_meta(&meta).map_err(|reason| ModelError::BadMetadata {
        path: path.to_owned(),
        reason,
    })?;
    Ok(meta)
}

/// The metadata's internal consistency; the graph is checked against it separately.
pub(super) fn validate_meta(meta: &ModelMeta) -> Result<(), String> {
    if !(OLDEST_METADATA_FORMAT..=METADATA_FORMAT).contains(&meta.format) {
        return Err(format!(
            "format {} is not supported (this emotty reads formats \
             {OLDEST_METADATA_FORMAT} to {METADATA_FORMAT})",
            meta.format
        ));
    }
    if let Some(streaming) = &meta.streaming {
        if meta.format < 2 {
            return Err("streaming models need format 2".to_owned());
        }
        validate_streaming(streaming)?;
    }
    if meta.labels.is_empty() {
        return Err("labels is empty".to_owned());
    }
    // Names and labels are printed in tables, logs and the monitor: a control
    // character there would be a terminal escape sequence coming from a model file.
    for (what, text) in [("name", &meta.name), ("version", &meta.version)]
        .into_iter()
        .chain(meta.labels.iter().map(|l| ("a label", l)))
    {
        if text.chars().any(char::is_control) {
            return Err(format!(
                "{what} \"{}\" contains a control character",
                crate::text::visible(text)
            ));
        }
    }
    for (i, label) in meta.labels.iter().enumerate() {
        if label.trim().is_empty() {
            return Err(format!("label {i} is empty"));
        }
        if meta.labels[..i].contains(label) {
            return Err(format!("label \"{label}\" appears twice"));
        }
    }
    if meta.sample_rate != meta.frontend.sample_rate {
        return Err(format!(
            "sample_rate {} differs from frontend.sample_rate {}",
            meta.sample_rate, meta.frontend.sample_rate
        ));
    }
    meta.frontend
        .validate()
        .map_err(|e| format!("frontend: {e}"))?;
    if !(meta.window_s.is_finite() && meta.window_s > 0.0) {
        return Err(format!("window_s must be > 0, got {}", meta.window_s));
    }
    if !(meta.min_window_s > 0.0 && meta.min_window_s <= meta.window_s) {
        return Err(format!(
            "min_window_s must be in (0, window_s = {}], got {}",
            meta.window_s, meta.min_window_s
        ));
    }
    if !meta.affect.is_empty() && meta.affect != AFFECT_NAMES {
        return Err(format!(
            "affect must be [\"arousal\", \"valence\"] or absent, got {:?}",
            meta.affect
        ));
    }
    if let Some(a) = &meta.adaptation {
        let dim = meta.frontend.model_dim();
        if a.mean.len() != dim || a.std.len() != dim {
            return Err(format!(
                "adaptation has {} means and {} deviations; the front end gives {dim} values per frame",
                a.mean.len(),
                a.std.len()
            ));
        }
        if !a.mean.iter().all(|v| v.is_finite()) || !a.std.iter().all(|v| v.is_finite() && *v > 0.0)
        {
            return Err("adaptation statistics must be finite, deviations above 0".to_owned());
        }
        if !(a.prior_frames.is_finite() && (0.0..=1e9).contains(&a.prior_frames)) {
            return Err(format!(
                "adaptation prior_frames must be between 0 and 1e9, got {}",
                a.prior_frames
            ));
        }
    }
    Ok(())
}

/// A streaming model's state, checked before any of it is allocated.
fn validate_streaming(streaming: &StreamingMeta) -> Result<(), String> {
    if !(1..=MAX_STEP_FRAMES).contains(&streaming.step_frames) {
        return Err(format!(
            "streaming step_frames must be between 1 and {MAX_STEP_FRAMES}, got {}",
            streaming.step_frames
        ));
    }
    if streaming.state.is_empty() {
        return Err("a streaming model needs at least one state tensor".to_owned());
    }
    let mut total = 0usize;
    for (i, spec) in streaming.state.iter().enumerate() {
        if spec.name.trim().is_empty() || spec.name.chars().any(char::is_control) {
            return Err(format!("streaming state {i} has no printable name"));
        }
        if streaming.state[..i].iter().any(|s| s.name == spec.name) {
            return Err(format!("streaming state \"{}\" appears twice", spec.name));
        }
        let values = spec
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n > 0);
        let Some(values) = values.filter(|_| !spec.shape.is_empty()) else {
            return Err(format!(
                "streaming state \"{}\" has shape {:?}; every axis must be at least 1",
                spec.name, spec.shape
            ));
        };
        total = total.saturating_add(values);
    }
    if total > MAX_STATE_VALUES {
        return Err(format!(
            "streaming state holds {total} values, more than the {MAX_STATE_VALUES} emotty allows"
        ));
    }
    Ok(())
}
