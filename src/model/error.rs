//! Why a model could not be found, loaded or run.

use std::path::PathBuf;

use super::meta::METADATA_KEY;

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
    /// A window model's call on a streaming model, or the reverse.
    #[error("{}: {reason}", path.display())]
    WrongKind {
        /// The path as given.
        path: PathBuf,
        /// Which call on which kind.
        reason: &'static str,
    },
    /// [`Model::step`](super::Model::step) was given frames that are not whole steps.
    #[error("{frames} frames are not a whole number of the model's {step}-frame steps")]
    PartialStep {
        /// Frames given.
        frames: usize,
        /// The model's frames per step.
        step: usize,
    },
    /// [`Model::predict`](super::Model::predict) was given no frames.
    #[error("empty feature window (0 frames)")]
    EmptyWindow,
    /// [`Model::predict`](super::Model::predict) was given a slice whose length does not match.
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
    /// [`Model::predict`](super::Model::predict) was given NaN or infinite features.
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
pub(super) fn one_line(err: &impl std::fmt::Display) -> String {
    let text = format!("{err:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
