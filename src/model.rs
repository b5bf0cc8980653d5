//! The emotion model: an ONNX file that carries its own configuration, run by tract.
//!
//! A model file is self-describing on purpose. The labels it predicts, the front end
//! whose features it was trained on and the window length it expects all live in the
//! file, as one JSON object under the ONNX `metadata_props` key `emotty` (see
//! [`ModelMeta`]). Swapping in a retrained model therefore needs no code or flag
//! change, and a model can never be fed features computed differently from the ones
//! it learnt on without [`Model::load`] saying so.
//!
//! Everything that can be checked is checked once, at load: the metadata, the graph's
//! single `[batch, time, feature_dim]` input, and a trial run that must return one
//! value per label. After that, [`Model::predict`] is the hot path: the engine calls
//! it every half second and `classify` thousands of times, so the graph is optimised
//! once with a symbolic time axis (one plan serves every window length, including the
//! short windows at the start of a stream) and each call only feeds that plan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tract_onnx::pb;
use tract_onnx::prelude::*;

use crate::dsp::frontend::FrontendConfig;

/// The metadata key under which a model file stores its [`ModelMeta`] JSON.
pub const METADATA_KEY: &str = "emotty";

/// The metadata format this build reads. Bumped only for incompatible changes, so
/// that an old emotty refuses a newer model instead of misreading it.
pub const METADATA_FORMAT: u32 = 1;

/// Frames in the trial run at load; short, because only the output's shape and
/// finiteness are checked, but more than one so a time axis cannot hide.
const TRIAL_FRAMES: usize = 8;

/// The largest model file read: far beyond any real one (the shipped model is 1.5 MB),
/// so that `--model /dev/zero` is an error rather than memory exhaustion.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// How far the sum of a "probabilities" output may drift from 1 before it is
/// treated as a mislabelled output rather than float rounding.
const PROBABILITY_SUM_TOLERANCE: f32 = 1e-3;

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
}

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

/// What the model says about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// One probability per label, in label order; they sum to 1.
    pub probs: Vec<f32>,
    /// Arousal and valence, from models that rate them.
    pub affect: Option<Affect>,
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

/// A loaded model's identity: where it came from and exactly which bytes.
///
/// The hash lets a session log or a benchmark name the precise model it used, even
/// after the file at `path` has been replaced by a retrained one.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The path the model was loaded from, as given.
    pub path: PathBuf,
    /// The file's own description of itself.
    pub meta: ModelMeta,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// File size in bytes.
    pub file_size: u64,
}

/// Why a model could not be found, loaded or run.
///
/// Each message is one line that names the file and the problem, so that the CLI can
/// print it as is.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The given path does not exist.
    #[error("{}: no such file", path.display())]
    NoSuchFile {
        /// The path as given.
        path: PathBuf,
    },
    /// The given path is a directory.
    #[error("{}: is a directory, not a model file", path.display())]
    IsDirectory {
        /// The path as given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than any model emotty reads.
    #[error("{}: larger than {limit_mib} MiB, far beyond any emotion model", path.display())]
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// The limit in MiB.
        limit_mib: u64,
    },
    /// The bytes are not an ONNX model tract can parse.
    #[error("{}: not a valid ONNX model ({reason})", path.display())]
    InvalidOnnx {
        /// The path as given.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A valid ONNX file, but not an emotty model.
    #[error("{}: no emotty metadata (metadata_props key \"{METADATA_KEY}\" missing)", path.display())]
    NoMetadata {
        /// The path as given.
        path: PathBuf,
    },
    /// The metadata is there but does not parse or is inconsistent.
    #[error("{}: bad emotty metadata: {reason}", path.display())]
    BadMetadata {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The graph's inputs or outputs do not have the shape emotty feeds and reads.
    #[error("{}: {reason}", path.display())]
    BadGraph {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The graph's input width disagrees with the front end in its own metadata.
    #[error(
        "{}: model expects {model} features per frame but its front end gives {frontend}",
        path.display()
    )]
    FeatureDimMismatch {
        /// The path as given.
        path: PathBuf,
        /// Features per frame the graph declares.
        model: usize,
        /// Features per frame the metadata's front end produces.
        frontend: usize,
    },
    /// The graph's output width disagrees with the metadata's labels.
    #[error("{}: model outputs {outputs} values but metadata lists {labels} labels", path.display())]
    LabelCountMismatch {
        /// The path as given.
        path: PathBuf,
        /// Values per output row.
        outputs: usize,
        /// Labels in the metadata.
        labels: usize,
    },
    /// tract could not optimise or run the graph.
    #[error("{}: cannot run the model: {reason}", path.display())]
    Inference {
        /// The path as given.
        path: PathBuf,
        /// What tract said, on one line.
        reason: String,
    },
    /// The model ran but its output is not usable as probabilities.
    #[error("{}: bad model output: {reason}", path.display())]
    BadOutput {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Model::predict`] was given no frames.
    #[error("empty feature window (0 frames)")]
    EmptyWindow,
    /// [`Model::predict`] was given a slice whose length does not match.
    #[error(
        "feature slice holds {got} values but {frames} frames of {feature_dim} features need {}",
        frames.saturating_mul(*feature_dim)
    )]
    InputLength {
        /// Values in the slice.
        got: usize,
        /// Frames claimed.
        frames: usize,
        /// Features per frame the model takes.
        feature_dim: usize,
    },
    /// [`Model::predict`] was given NaN or infinite features.
    #[error("feature window holds {value} at frame {frame}, feature {feature}")]
    NonFiniteInput {
        /// The offending value.
        value: f32,
        /// Its frame (row).
        frame: usize,
        /// Its feature (column).
        feature: usize,
    },
    /// No model at any default location.
    #[error(
        "no model found (looked for {}); pass --model PATH",
        list_paths(searched)
    )]
    NotFound {
        /// Every path tried, in order.
        searched: Vec<PathBuf>,
    },
}

fn list_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no candidate locations".to_owned();
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// Turns a (possibly multi-line, chained) tract error into one line.
fn one_line(err: &impl std::fmt::Display) -> String {
    let text = format!("{err:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A loaded, validated, optimised model, ready to be shared between threads.
///
/// `Model` is `Send + Sync`: the engine and `classify` share one through an `Arc`.
/// Concurrent [`predict`](Model::predict) calls are safe and independent: the
/// optimised plan is shared read-only and each call runs in its own state.
pub struct Model {
    info: ModelInfo,
    feature_dim: usize,
    plan: Arc<TypedSimplePlan>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("info", &self.info)
            .field("feature_dim", &self.feature_dim)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Reads, validates and optimises the model at `path`.
    ///
    /// All the checking happens here so that a bad model fails at startup with a
    /// one-line reason instead of in the middle of a session: metadata present and
    /// consistent, one `[batch, time, feature_dim]` input matching the metadata's
    /// front end, and a trial run that yields one probability per label.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = read_model_file(path)?;
        let sha256 = hex_sha256(&bytes);
        let file_size = bytes.len() as u64;

        let onnx = tract_onnx::onnx().with_ignore_value_info(true);
        let proto = onnx
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| ModelError::InvalidOnnx {
                path: path.to_owned(),
                reason: one_line(&e),
            })?;
        drop(bytes);
        let Some(graph) = proto.graph.as_ref() else {
            return Err(ModelError::InvalidOnnx {
                path: path.to_owned(),
                reason: "it holds no graph".to_owned(),
            });
        };

        let meta = read_meta(path, &proto)?;
        let feature_dim = meta.frontend.model_dim();
        check_declared_io(
            path,
            graph,
            feature_dim,
            meta.labels.len(),
            !meta.affect.is_empty(),
        )?;

        let model_dir = path.parent().and_then(Path::to_str);
        let parsed = onnx
            .parse(&proto, model_dir)
            .map_err(|e| ModelError::InvalidOnnx {
                path: path.to_owned(),
                reason: one_line(&e),
            })?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(ModelError::InvalidOnnx {
                path: path.to_owned(),
                reason: format!("unresolved inputs {:?}", parsed.unresolved_inputs),
            });
        }
        let plan = optimise(path, parsed.model, feature_dim)?;

        let model = Model {
            info: ModelInfo {
                path: path.to_owned(),
                meta,
                sha256,
                file_size,
            },
            feature_dim,
            plan,
        };
        model.trial_run()?;
        Ok(model)
    }

    /// Where the model came from and what it says about itself.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The labels, in the order of [`predict`](Model::predict)'s output.
    pub fn labels(&self) -> &[String] {
        &self.info.meta.labels
    }

    /// Features per frame the model takes (from the metadata's front end).
    pub fn feature_dim(&self) -> usize {
        self.feature_dim
    }

    /// Whether [`predict`](Model::predict) gives arousal and valence too.
    pub fn has_affect(&self) -> bool {
        !self.info.meta.affect.is_empty()
    }

    /// Runs the model on one window of features.
    ///
    /// `features`: frames × feature_dim, row-major. Returns probabilities (sum 1) in
    /// label order, and arousal and valence where the model rates them.
    ///
    /// Errors (not panics) if frames == 0 or the slice length != frames * feature_dim.
    pub fn predict(&self, features: &[f32], frames: usize) -> Result<Prediction, ModelError> {
        if frames == 0 {
            return Err(ModelError::EmptyWindow);
        }
        if frames.checked_mul(self.feature_dim) != Some(features.len()) {
            return Err(ModelError::InputLength {
                got: features.len(),
                frames,
                feature_dim: self.feature_dim,
            });
        }
        // tract's activations swallow NaN (a NaN frame still yields plausible-looking
        // probabilities), so garbage in must be caught here, not at the output.
        if let Some(index) = features.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFiniteInput {
                value: features[index],
                frame: index / self.feature_dim,
                feature: index % self.feature_dim,
            });
        }
        let input = Tensor::from_shape(&[1, frames, self.feature_dim], features)
            .map_err(|e| self.inference_error(&e))?;
        let (raw, affect) = self.run(input)?;
        Ok(Prediction {
            probs: self.to_probabilities(&raw, frames)?,
            affect: affect.map(|a| self.to_affect(&a, frames)).transpose()?,
        })
    }

    /// Runs the plan on one `[1, frames, feature_dim]` tensor and returns the output
    /// row, and the affect row where the model has one, checking their shapes.
    fn run(&self, input: Tensor) -> Result<(Vec<f32>, Option<Vec<f32>>), ModelError> {
        let frames = input.shape()[1];
        // A fresh run state per call, from the shared plan. Reusing states is not
        // safe: tract's recurrent ops keep their hidden state in the run state (for
        // streaming), so a reused state would leak one window into the next.
        let outputs = self
            .plan
            .run(tvec!(input.into_tvalue()))
            .map_err(|e| self.inference_error(&e))?;

        let (output, affect) = match (outputs.as_slice(), self.has_affect()) {
            ([output], false) => (output, None),
            ([output, affect], true) => (output, Some(affect)),
            (_, has_affect) => {
                return Err(self.bad_graph(output_count_message(outputs.len(), has_affect)));
            }
        };
        let affect = match affect {
            None => None,
            Some(a) => {
                if a.shape() != [1, AFFECT_NAMES.len()] {
                    return Err(self.bad_graph(format!(
                        "model's affect output has shape {:?}; emotty needs [1, 2]",
                        a.shape()
                    )));
                }
                let view = a.to_plain_array_view::<f32>().map_err(|e| {
                    self.bad_graph(format!(
                        "model's affect output is not float32 ({})",
                        one_line(&e)
                    ))
                })?;
                Some(view.iter().copied().collect())
            }
        };
        let n_labels = self.info.meta.labels.len();
        match output.shape() {
            [1, n] if *n == n_labels => {}
            [1, n] => {
                return Err(ModelError::LabelCountMismatch {
                    path: self.info.path.clone(),
                    outputs: *n,
                    labels: n_labels,
                });
            }
            shape => {
                return Err(self.bad_graph(format!(
                    "model output has shape {shape:?} for a [1, {frames}, {}] input; emotty \
                     needs [1, {n_labels}]",
                    self.feature_dim
                )));
            }
        }
        let view = output.to_plain_array_view::<f32>().map_err(|e| {
            self.bad_graph(format!("model output is not float32 ({})", one_line(&e)))
        })?;
        Ok((view.iter().copied().collect(), affect))
    }

    /// Checks the graph end to end on silence-like input before anyone relies on it.
    fn trial_run(&self) -> Result<(), ModelError> {
        let input = Tensor::zero::<f32>(&[1, TRIAL_FRAMES, self.feature_dim])
            .map_err(|e| self.inference_error(&e))?;
        let (raw, affect) = self.run(input)?;
        if let Some(a) = affect {
            self.to_affect(&a, TRIAL_FRAMES)?;
        }
        self.to_probabilities(&raw, TRIAL_FRAMES).map(drop)
    }

    /// Checks the affect row: two finite values, kept to [-1, 1].
    fn to_affect(&self, raw: &[f32], frames: usize) -> Result<Affect, ModelError> {
        if let Some(bad) = raw.iter().find(|v| !v.is_finite()) {
            return Err(self.bad_output(format!(
                "non-finite arousal or valence {bad} for {frames} frames"
            )));
        }
        Ok(Affect {
            arousal: raw[0].clamp(-1.0, 1.0),
            valence: raw[1].clamp(-1.0, 1.0),
        })
    }

    /// Turns the raw output row into a distribution, per the metadata's `output`.
    fn to_probabilities(&self, raw: &[f32], frames: usize) -> Result<Vec<f32>, ModelError> {
        if let Some(bad) = raw.iter().find(|v| !v.is_finite()) {
            return Err(self.bad_output(format!(
                "non-finite value {bad} in the output for {frames} frames"
            )));
        }
        match self.info.meta.output {
            OutputKind::Logits => Ok(softmax(raw)),
            OutputKind::Probabilities => {
                if let Some(neg) = raw.iter().find(|&&v| v < -PROBABILITY_SUM_TOLERANCE) {
                    return Err(self.bad_output(format!(
                        "negative probability {neg} (metadata says \"probabilities\"; are \
                         they \"logits\"?)"
                    )));
                }
                let clamped: Vec<f32> = raw.iter().map(|v| v.max(0.0)).collect();
                let sum: f32 = clamped.iter().sum();
                if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
                    return Err(self.bad_output(format!(
                        "probabilities sum to {sum}, not 1 (metadata says \"probabilities\"; \
                         are they \"logits\"?)"
                    )));
                }
                Ok(clamped.into_iter().map(|v| v / sum).collect())
            }
        }
    }

    fn inference_error(&self, err: &impl std::fmt::Display) -> ModelError {
        ModelError::Inference {
            path: self.info.path.clone(),
            reason: one_line(err),
        }
    }

    fn bad_graph(&self, reason: String) -> ModelError {
        ModelError::BadGraph {
            path: self.info.path.clone(),
            reason,
        }
    }

    fn bad_output(&self, reason: String) -> ModelError {
        ModelError::BadOutput {
            path: self.info.path.clone(),
            reason,
        }
    }
}

/// Numerically stable softmax (inputs already checked finite).
fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|v| v / sum).collect()
}

/// Reads the whole file, telling "missing", "a directory" and "unreadable" apart:
/// the three need different fixes from the user.
fn read_model_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::NoSuchFile {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(ModelError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    if metadata.is_dir() {
        return Err(ModelError::IsDirectory {
            path: path.to_owned(),
        });
    }
    let read_error = |source| ModelError::Read {
        path: path.to_owned(),
        source,
    };
    crate::durable::read_at_most(path, MAX_MODEL_BYTES)
        .map_err(read_error)?
        .ok_or_else(|| ModelError::TooLarge {
            path: path.to_owned(),
            limit_mib: MAX_MODEL_BYTES >> 20,
        })
}

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Finds, parses and checks the `emotty` metadata entry.
fn read_meta(path: &Path, proto: &pb::ModelProto) -> Result<ModelMeta, ModelError> {
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
fn validate_meta(meta: &ModelMeta) -> Result<(), String> {
    if meta.format != METADATA_FORMAT {
        return Err(format!(
            "format {} is not supported (this emotty reads format {METADATA_FORMAT})",
            meta.format
        ));
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

/// Why a graph's output count is wrong, for a model with or without an affect output.
fn output_count_message(outputs: usize, has_affect: bool) -> String {
    if has_affect {
        format!(
            "model has {outputs} outputs; its metadata lists affect, so emotty needs two: \
             [batch, labels] and [batch, 2]"
        )
    } else {
        format!("model has {outputs} outputs; emotty needs exactly one [batch, labels] output")
    }
}

/// Checks the input and output the graph declares, before tract sees it.
///
/// tract is told to ignore declared shapes (they freeze the batch axis with some
/// exporters), so the declaration is read here instead: it gives far clearer errors
/// than a shape clash deep inside the graph.
fn check_declared_io(
    path: &Path,
    graph: &pb::GraphProto,
    feature_dim: usize,
    n_labels: usize,
    has_affect: bool,
) -> Result<(), ModelError> {
    let bad = |reason: String| ModelError::BadGraph {
        path: path.to_owned(),
        reason,
    };
    // Older IR versions list initializers among the inputs; they are weights, not inputs.
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|input| !graph.initializer.iter().any(|init| init.name == input.name))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(bad(format!(
            "model has {} inputs; emotty needs exactly one [batch, time, features] input",
            inputs.len()
        )));
    };
    if let Some(dims) = declared_dims(input) {
        if dims.len() != 3 {
            return Err(bad(format!(
                "model input \"{}\" has rank {}; emotty needs [batch, time, features]",
                input.name,
                dims.len()
            )));
        }
        if let Some(model) = dims[2]
            && model != feature_dim
        {
            return Err(ModelError::FeatureDimMismatch {
                path: path.to_owned(),
                model,
                frontend: feature_dim,
            });
        }
    }
    if let Some(elem_type) = declared_elem_type(input)
        && elem_type != pb::tensor_proto::DataType::Float as i32
    {
        return Err(bad(format!(
            "model input \"{}\" is not float32 (ONNX element type {elem_type})",
            input.name
        )));
    }
    let output = match (graph.output.as_slice(), has_affect) {
        ([output], false) => output,
        ([output, affect], true) => {
            if let Some(dims) = declared_dims(affect)
                && let [_, Some(n)] = dims.as_slice()
                && *n != AFFECT_NAMES.len()
            {
                return Err(bad(format!(
                    "model's affect output \"{}\" has {n} values; emotty needs 2 (arousal, valence)",
                    affect.name
                )));
            }
            output
        }
        (outputs, _) => return Err(bad(output_count_message(outputs.len(), has_affect))),
    };
    if let Some(dims) = declared_dims(output)
        && let [_, Some(outputs)] = dims.as_slice()
        && *outputs != n_labels
    {
        return Err(ModelError::LabelCountMismatch {
            path: path.to_owned(),
            outputs: *outputs,
            labels: n_labels,
        });
    }
    Ok(())
}

/// The declared dimensions of a graph input or output (`None` per symbolic axis),
/// or `None` when no shape is declared.
fn declared_dims(value: &pb::ValueInfoProto) -> Option<Vec<Option<usize>>> {
    let tensor = declared_tensor(value)?;
    let shape = tensor.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|dim| match dim.value {
                Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                    usize::try_from(v).ok().filter(|&v| v > 0)
                }
                _ => None,
            })
            .collect(),
    )
}

fn declared_elem_type(value: &pb::ValueInfoProto) -> Option<i32> {
    declared_tensor(value).map(|tensor| tensor.elem_type)
}

/// The declared tensor type of a graph input or output, if any (tract's ONNX
/// protobuf knows only tensor types).
fn declared_tensor(value: &pb::ValueInfoProto) -> Option<&pb::type_proto::Tensor> {
    let pb::type_proto::Value::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
    Some(tensor)
}

/// Fixes the input to `[1, T, feature_dim]` float32 with `T` symbolic, and optimises
/// once: the resulting plan serves every window length.
fn optimise(
    path: &Path,
    mut model: InferenceModel,
    feature_dim: usize,
) -> Result<Arc<TypedSimplePlan>, ModelError> {
    let fail = |stage: &str, e: &dyn std::fmt::Display| ModelError::Inference {
        path: path.to_owned(),
        reason: format!(
            "{stage} with a [1, T, {feature_dim}] float32 input: {}",
            one_line(&e)
        ),
    };
    let time = model.sym("T");
    let shape: TVec<TDim> = tvec![1.to_dim(), time.to_dim(), feature_dim.to_dim()];
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
        .map_err(|e| fail("setting the input", &e))?;
    let typed = model.into_optimized().map_err(|e| fail("optimising", &e))?;
    typed.into_runnable().map_err(|e| fail("planning", &e))
}

/// Where the model is looked for when --model is not given, in order: `models/emotty.onnx`
/// under the current directory; next to the executable (`<exe dir>/emotty.onnx`,
/// `<exe dir>/models/emotty.onnx`, and the source tree's `models/emotty.onnx` when the exe
/// is in `<repo>/target/{debug,release}`); then the user data directory
/// (`directories::ProjectDirs::from("", "", "emotty")` → data_dir()/models/emotty.onnx).
///
/// The order runs from most to least specific: a model in the project being worked
/// on beats an installed one, and a model shipped with a binary beats the user's
/// shared copy.
pub fn default_model_candidates() -> Vec<PathBuf> {
    let mut candidates = vec![PathBuf::from("models").join("emotty.onnx")];
    if let Ok(exe) = std::env::current_exe() {
        // Resolve symlinks (an installed link to target/release/emotty) when possible.
        let exe = exe.canonicalize().unwrap_or(exe);
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join("emotty.onnx"));
            candidates.push(dir.join("models").join("emotty.onnx"));
            let profile = dir.file_name().and_then(|n| n.to_str());
            let target = dir.parent();
            if matches!(profile, Some("debug" | "release"))
                && let Some(target) = target
                && target.file_name().and_then(|n| n.to_str()) == Some("target")
                && let Some(repo) = target.parent()
            {
                candidates.push(repo.join("models").join("emotty.onnx"));
            }
        }
    }
    if let Some(dirs) = directories::ProjectDirs::from("", "", "emotty") {
        candidates.push(dirs.data_dir().join("models").join("emotty.onnx"));
    }
    let mut unique = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if !unique.contains(&candidate) {
            unique.push(candidate);
        }
    }
    unique
}

/// First existing candidate, or ModelError::NotFound listing where it looked (one line).
pub fn find_default_model() -> Result<PathBuf, ModelError> {
    let searched = default_model_candidates();
    match searched.iter().find(|candidate| candidate.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(ModelError::NotFound { searched }),
    }
}

#[cfg(test)]
mod tests;
