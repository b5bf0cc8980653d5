//! Whole-clip verdicts: a file through the engine, its windows summed up.
//!
//! `classify`, `eval` and the tests all call [`analyze_file`], which runs the file
//! through exactly the live path (reader thread → ring buffer → engine thread →
//! events), only unpaced; [`analyze_stream`] runs several files as one adapting
//! stream (one speaker's clips, one folder). A clip's verdict is the speech-weighted mean of its windows'
//! probabilities: windows with more speech say more, and no-speech windows say nothing.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::audio::source::{self, Pace};
use crate::emotion;
use crate::engine::{
    Adapt, AnalysisConfig, EndReason, Engine, Event, SourceInfo, StreamStats, WindowResult,
};
use crate::model::Model;

pub use crate::emotion::Verdict;

/// What the engine made of one clip.
#[derive(Debug, Clone, Serialize)]
pub struct ClipResult {
    pub source: SourceInfo,
    pub windows: Vec<WindowResult>,
    /// Seconds of audio analysed.
    pub duration_s: f64,
    /// Seconds of it the VAD judged to be speech.
    pub speech_s: f64,
    pub verdict: Option<Verdict>,
}

impl ClipResult {
    /// Fraction of the clip that is speech.
    pub fn speech_ratio(&self) -> f64 {
        if self.duration_s > 0.0 {
            self.speech_s / self.duration_s
        } else {
            0.0
        }
    }
}

/// Errors analysing a clip; the message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    /// Names the file itself.
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("{path}: {message}")]
    Failed { path: String, message: String },
}

/// Runs a file through the engine as fast as possible and collects its windows.
pub fn analyze_file(
    path: &Path,
    model: &Arc<Model>,
    config: &AnalysisConfig,
) -> Result<ClipResult, ClassifyError> {
    analyze_resuming(path, model, config).0
}

/// Runs `paths` one after another as one stream: with adaptation on, what it heard in
/// each file carries into the next, as if they had been played back to back. A file
/// that fails adds nothing to the stream.
pub fn analyze_stream(
    paths: &[&Path],
    model: &Arc<Model>,
    config: &AnalysisConfig,
) -> Vec<Result<ClipResult, ClassifyError>> {
    let mut config = config.clone();
    paths
        .iter()
        .map(|path| {
            let (result, heard) = analyze_resuming(path, model, &config);
            if let (Some(stats), Ok(_)) = (heard, &result) {
                config.adapt = Adapt::Resume(stats);
            }
            result
        })
        .collect()
}

fn analyze_resuming(
    path: &Path,
    model: &Arc<Model>,
    config: &AnalysisConfig,
) -> (Result<ClipResult, ClassifyError>, Option<StreamStats>) {
    let engine = match source::open_file(path, Pace::Fast)
        .map_err(ClassifyError::from)
        .and_then(|(feed, guard)| Ok(Engine::start(feed, guard, model.clone(), config.clone())?))
    {
        Ok(engine) => engine,
        Err(e) => return (Err(e), None),
    };
    let result = collect(&engine, &path.display().to_string(), |_| {});
    (result, engine.finish())
}

/// Drains an engine's events until it ends, passing each window to `on_window` as it
/// arrives (for streaming output), and sums the clip up.
pub fn collect(
    engine: &Engine,
    name: &str,
    mut on_window: impl FnMut(&WindowResult),
) -> Result<ClipResult, ClassifyError> {
    let mut source = None;
    let mut windows = Vec::new();
    let (mut duration_s, mut speech_s) = (0.0, 0.0);
    let failed = |message: String| ClassifyError::Failed {
        path: name.to_string(),
        message,
    };
    for event in engine.events() {
        match event {
            Event::Started(start) => source = Some(start.source),
            Event::Window(w) => {
                on_window(&w);
                windows.push(w);
            }
            Event::Stats(s) => {
                duration_s = s.time_s;
                speech_s = s.speech_s;
            }
            Event::Ended(EndReason::EndOfInput) => break,
            Event::Ended(EndReason::Stopped) => break,
            Event::Ended(EndReason::Failed(m)) => return Err(failed(strip_name(&m, name))),
            Event::Ended(EndReason::DeviceLost(m)) => {
                return Err(failed(format!("device lost: {m}")));
            }
            Event::Spectrogram(_) | Event::Level(_) | Event::Warning { .. } => {}
        }
    }
    let source = source.ok_or_else(|| failed("the engine stopped before starting".into()))?;
    if duration_s == 0.0 {
        return Err(failed("contains no audio samples".into()));
    }
    let verdict = emotion::verdict(&windows);
    Ok(ClipResult {
        source,
        windows,
        duration_s,
        speech_s,
        verdict,
    })
}

/// Decoder messages already start with the file name; do not say it twice.
fn strip_name(message: &str, name: &str) -> String {
    message
        .strip_prefix(name)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}
