//! Where the model is found when `--model` is not given.

use std::path::PathBuf;

use super::error::ModelError;

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
