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
//! `[batch, time, feature_dim]` input (and a streaming model's state inputs and
//! outputs), and a trial run that must return one value per label. After that,
//! [`Model::predict`] (a window model) or [`Model::step`] (a streaming model, one
//! [`StreamState`] per stream) is the hot path: the engine calls it every hop and
//! `classify` thousands of times, so the graph is optimised once with a symbolic time
//! axis (one plan serves every window length, including the short windows at the start
//! of a stream, or every number of steps) and each call only feeds that plan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

mod error;
mod graph;
mod lookup;
mod meta;
mod stream;

pub use error::ModelError;
use error::one_line;
use graph::{check_declared_io, output_count_message};
pub use lookup::{default_model_candidates, find_default_model};
use meta::read_meta;
#[cfg(test)]
use meta::validate_meta;
pub use meta::{
    AFFECT_NAMES, AdaptationPrior, Affect, METADATA_FORMAT, METADATA_KEY, ModelMeta,
    OLDEST_METADATA_FORMAT, OutputKind, StateSpec, StreamingMeta,
};
pub use stream::StreamState;

/// Frames in the trial run at load; short, because only the output's shape and
/// finiteness are checked, but more than one so a time axis cannot hide.
const TRIAL_FRAMES: usize = 8;

/// The largest model file read: far beyond any real one (the shipped model is 1.5 MB),
/// so that `--model /dev/zero` is an error rather than memory exhaustion.
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

/// How far the sum of a "probabilities" output may drift from 1 before it is
/// treated as a mislabelled output rather than float rounding.
const PROBABILITY_SUM_TOLERANCE: f32 = 1e-3;

/// What the model says about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// One probability per label, in label order; they sum to 1.
    pub probs: Vec<f32>,
    /// Arousal and valence, from models that rate them.
    pub affect: Option<Affect>,
}

/// One run's output row, its affect row where the model has one, and the outputs after
/// them (a streaming model's new state).
type RawOutputs = (Vec<f32>, Option<Vec<f32>>, TVec<TValue>);

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

/// The model, precisely enough to know later which bytes produced the numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelRecord {
    pub name: String,
    pub version: String,
    pub path: String,
    /// SHA-256 of the model file, lowercase hex.
    pub sha256: String,
}

impl ModelRecord {
    pub fn from_info(info: &ModelInfo) -> ModelRecord {
        ModelRecord {
            name: info.meta.name.clone(),
            version: info.meta.version.clone(),
            path: info.path.display().to_string(),
            sha256: info.sha256.clone(),
        }
    }
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
    /// A streaming model's fresh state (zeros), cloned for each new stream; empty for
    /// a window model.
    fresh_state: Vec<Tensor>,
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
        let state = meta.streaming.as_ref().map_or(&[][..], |s| &s.state[..]);
        check_declared_io(
            path,
            graph,
            feature_dim,
            meta.labels.len(),
            !meta.affect.is_empty(),
            state,
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
        let plan = optimise(path, parsed.model, feature_dim, state)?;
        let fresh_state = state
            .iter()
            .map(|spec| Tensor::zero::<f32>(&spec.shape))
            .collect::<TractResult<Vec<_>>>()
            .map_err(|e| ModelError::Inference {
                path: path.to_owned(),
                reason: one_line(&e),
            })?;

        let model = Model {
            info: ModelInfo {
                path: path.to_owned(),
                meta,
                sha256,
                file_size,
            },
            feature_dim,
            plan,
            fresh_state,
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
    ///
    /// A streaming model is run through [`step`](Model::step) instead; asking it for a
    /// window is an error.
    pub fn predict(&self, features: &[f32], frames: usize) -> Result<Prediction, ModelError> {
        if self.is_streaming() {
            return Err(ModelError::WrongKind {
                path: self.info.path.clone(),
                reason: "a streaming model is fed frame by frame, not a window at a time",
            });
        }
        let input = self.features_tensor(features, frames)?;
        let (raw, affect, _) = self.run(tvec!(input.into_tvalue()), frames)?;
        Ok(Prediction {
            probs: self.to_probabilities(&raw, frames)?,
            affect: affect.map(|a| self.to_affect(&a, frames)).transpose()?,
        })
    }

    /// `frames` rows of features as the graph's `[1, frames, feature_dim]` input, after
    /// checking the slice's length and that every value is finite.
    fn features_tensor(&self, features: &[f32], frames: usize) -> Result<Tensor, ModelError> {
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
        Tensor::from_shape(&[1, frames, self.feature_dim], features)
            .map_err(|e| self.inference_error(&e))
    }

    /// Runs the plan on its inputs (the `[1, frames, feature_dim]` features, then a
    /// streaming model's state) and returns the output row, the affect row where the
    /// model has one, and the outputs after them (a streaming model's new state),
    /// checking the first two's shapes.
    fn run(&self, inputs: TVec<TValue>, frames: usize) -> Result<RawOutputs, ModelError> {
        // A fresh run state per call, from the shared plan. Reusing states is not
        // safe: tract's recurrent ops keep their hidden state in the run state, so a
        // reused state would leak one window into the next (a streaming model's
        // state travels through its inputs and outputs instead).
        let mut outputs = self
            .plan
            .run(inputs)
            .map_err(|e| self.inference_error(&e))?;
        let ours = 1 + usize::from(self.has_affect());
        let state = self.fresh_state.len();
        if outputs.len() != ours + state {
            return Err(self.bad_graph(output_count_message(
                outputs.len(),
                self.has_affect(),
                state,
            )));
        }
        let rest: TVec<TValue> = outputs.drain(ours..).collect();
        let (output, affect) = match outputs.as_slice() {
            [output] => (output, None),
            [output, affect] => (output, Some(affect)),
            _ => unreachable!("the output count was checked above"),
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
        Ok((view.iter().copied().collect(), affect, rest))
    }

    /// Checks the graph end to end on silence-like input before anyone relies on it: a
    /// window model on a short window, a streaming model one step from a fresh state.
    fn trial_run(&self) -> Result<(), ModelError> {
        if let Some(step) = self.step_frames() {
            let mut state = self.new_stream();
            self.step(&mut state, &vec![0.0; step * self.feature_dim], step)?;
            return Ok(());
        }
        let input = Tensor::zero::<f32>(&[1, TRIAL_FRAMES, self.feature_dim])
            .map_err(|e| self.inference_error(&e))?;
        let (raw, affect, _) = self.run(tvec!(input.into_tvalue()), TRIAL_FRAMES)?;
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

/// Fixes the input to `[1, T, feature_dim]` float32 with `T` symbolic (and a streaming
/// model's state inputs to their declared shapes), and optimises once: the resulting
/// plan serves every window length, or every number of steps.
fn optimise(
    path: &Path,
    mut model: InferenceModel,
    feature_dim: usize,
    state: &[StateSpec],
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
    for (i, spec) in state.iter().enumerate() {
        model
            .set_input_fact(
                1 + i,
                InferenceFact::dt_shape(f32::datum_type(), &spec.shape),
            )
            .map_err(|e| fail(&format!("setting the state input {}", spec.name), &e))?;
    }
    let typed = model.into_optimized().map_err(|e| fail("optimising", &e))?;
    typed.into_runnable().map_err(|e| fail("planning", &e))
}

#[cfg(test)]
mod tests;
