//! Feature export for training: exactly what the engine computes, per clip.
//!
//! Training reads features from here instead of computing its own with librosa, so the
//! model learns from the same numbers the live engine will give it: same decoder, same
//! resampler, same front end, same voice activity detector. The output is an `.npz`
//! (NumPy's zip of arrays), which Python reads with `numpy.load`:
//!
//! | array | dtype | shape | meaning |
//! |---|---|---|---|
//! | `features` | float32 | frames × dim | each frame's model input (front end, then the pitch track if enabled), every clip concatenated |
//! | `speech` | uint8 | frames | 1 where the VAD judged the frame's centre to be speech |
//! | `offsets` | int64 | clips + 1 | clip *i* is rows `offsets[i]..offsets[i+1]` |
//! | `labels` | int64 | clips | index into `meta.labels` |
//! | `clip_index` | int64 | clips | index into `meta.clips` (the source file) |
//! | `variant` | int64 | clips | 0 for the clip as recorded, 1… for augmented copies |
//! | `window_row` | int64 | windows | the row (clip) a window belongs to |
//! | `window_start`, `window_end` | int64 | windows | its frames within the row, `start..end` |
//! | `window_speech` | float32 | windows | its speech ratio, as the engine computes it |
//! | `meta_json` | uint8 | bytes | UTF-8 JSON: front end, VAD, labels, the window schedule, per source clip its path, corpus, speaker; per row its augmentation recipe |
//!
//! The windows are the engine's own ([`crate::engine::schedule`]) with the default
//! window, hop and minimum window, which `meta.schedule` records; training reads them
//! from here instead of cutting its own, and writes the schedule into the model.
//!
//! "clips" above counts rows: with `--augment N` every source clip gives 1 + N rows.

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array1, Array2};
use ndarray_npy::NpzWriter;
use serde::Serialize;

use crate::audio::decode;
use crate::dataset::augment::{self, Recipe, Rng};
use crate::dataset::corpus::Clip;
use crate::dsp::frontend::FrontendConfig;
use crate::dsp::level::BlockLevel;
use crate::dsp::resample::{Resampler, downmix};
use crate::dsp::vad::VadConfig;
use crate::emotion::{self, EMOTIONS};
use crate::engine::analyzer::{
    DEFAULT_HOP_S, DEFAULT_MIN_SPEECH_RATIO, FeatureStream, StreamFrame, StreamSink,
};
use crate::engine::schedule::{DEFAULT_MIN_WINDOW_S, DEFAULT_WINDOW_S, Schedule};

/// Features of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipFeatures {
    /// frames × dim, row-major.
    pub features: Vec<f32>,
    /// One flag per frame.
    pub speech: Vec<bool>,
    pub frames: usize,
    pub duration_s: f64,
    pub source_rate: u32,
}

impl ClipFeatures {
    /// No frames yet, from a source at `source_rate` Hz.
    fn empty(source_rate: u32) -> ClipFeatures {
        ClipFeatures {
            features: Vec::new(),
            speech: Vec::new(),
            frames: 0,
            duration_s: 0.0,
            source_rate,
        }
    }
}

/// Errors exporting features.
#[derive(Debug, thiserror::Error)]
pub enum FeaturesError {
    #[error("{path}: {message}")]
    Clip { path: String, message: String },
    /// The cause is part of the message, not a `source`, so it is said once.
    #[error("{path}: cannot write: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: cannot write: {message}")]
    Npz { path: PathBuf, message: String },
}

struct Collect {
    dim: usize,
    out: ClipFeatures,
}

impl StreamSink for Collect {
    fn level(&mut self, _: BlockLevel) {}

    fn frame(&mut self, frame: &StreamFrame<'_>) {
        debug_assert_eq!(frame.features.len(), self.dim);
        self.out.features.extend_from_slice(frame.features);
        self.out.speech.push(frame.speech);
        self.out.frames += 1;
    }
}

/// Computes the features of one file with the engine's signal path.
pub fn clip_features(
    path: &Path,
    frontend: &FrontendConfig,
    vad: VadConfig,
) -> Result<ClipFeatures, FeaturesError> {
    let err = |message: String| FeaturesError::Clip {
        path: path.display().to_string(),
        message,
    };
    let mut reader = decode::open_file(path).map_err(|e| FeaturesError::Clip {
        path: path.display().to_string(),
        message: strip(&e.to_string(), path),
    })?;
    let spec = reader.spec();
    let mut stream =
        FeatureStream::new(frontend.clone(), vad, spec.sample_rate, spec.channels, None)
            .map_err(|e| err(e.to_string()))?;
    let mut sink = Collect {
        dim: frontend.model_dim(),
        out: ClipFeatures::empty(spec.sample_rate),
    };
    let mut block = Vec::new();
    loop {
        match reader.read_block(&mut block) {
            Ok(true) => stream
                .push(&block, &mut sink)
                .map_err(|e| err(e.to_string()))?,
            Ok(false) => break,
            Err(e) => return Err(err(strip(&e.to_string(), path))),
        }
    }
    stream.finish(&mut sink).map_err(|e| err(e.to_string()))?;
    sink.out.duration_s = stream.audio_s();
    if sink.out.frames == 0 || sink.out.duration_s == 0.0 {
        return Err(err("contains no audio samples".into()));
    }
    Ok(sink.out)
}

/// Features of 16 kHz mono audio already in memory, through the same stream.
pub fn samples_features(
    samples: &[f32],
    frontend: &FrontendConfig,
    vad: VadConfig,
) -> Result<ClipFeatures, String> {
    let mut stream = FeatureStream::new(frontend.clone(), vad, augment::RATE, 1, None)
        .map_err(|e| e.to_string())?;
    let mut sink = Collect {
        dim: frontend.model_dim(),
        out: ClipFeatures::empty(augment::RATE),
    };
    for chunk in samples.chunks(4096) {
        stream.push(chunk, &mut sink).map_err(|e| e.to_string())?;
    }
    stream.finish(&mut sink).map_err(|e| e.to_string())?;
    sink.out.duration_s = stream.audio_s();
    Ok(sink.out)
}

/// The clip as recorded plus `augment` augmented copies, each with its recipe.
pub fn clip_variants(
    path: &Path,
    frontend: &FrontendConfig,
    vad: VadConfig,
    augment: usize,
    seed: u64,
    clip_number: u64,
) -> Result<Vec<(ClipFeatures, Option<Recipe>)>, FeaturesError> {
    let clean = clip_features(path, frontend, vad)?;
    let mut out = vec![(clean, None)];
    if augment == 0 {
        return Ok(out);
    }
    let err = |message: String| FeaturesError::Clip {
        path: path.display().to_string(),
        message,
    };
    let (spec, samples) = decode::read_all(path).map_err(|e| err(strip(&e.to_string(), path)))?;
    let mut mono = Vec::new();
    downmix(&samples, spec.channels as usize, &mut mono);
    let mut speech = Vec::new();
    let mut resampler =
        Resampler::new(spec.sample_rate, augment::RATE).map_err(|e| err(e.to_string()))?;
    resampler
        .process(&mono, &mut speech)
        .and_then(|_| resampler.finish(&mut speech))
        .map_err(|e| err(e.to_string()))?;
    for variant in 1..=augment as u64 {
        let mut rng = Rng::for_item(seed, clip_number, variant);
        let (audio, recipe) = augment::augment(&speech, &mut rng);
        let features = samples_features(&audio, frontend, vad).map_err(err)?;
        out.push((features, Some(recipe)));
    }
    Ok(out)
}

fn strip(message: &str, path: &Path) -> String {
    let name = path.display().to_string();
    message
        .strip_prefix(&name)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message)
        .to_string()
}

/// Per-clip record in `meta_json`.
#[derive(Debug, Serialize)]
struct ClipMeta<'a> {
    path: &'a Path,
    corpus: &'a str,
    speaker: &'a str,
    label: &'a str,
    frames: usize,
    duration_s: f64,
    source_rate: u32,
}

#[derive(Debug, Serialize)]
struct Meta<'a> {
    format: u32,
    emotty_version: &'a str,
    frontend: &'a FrontendConfig,
    vad_threshold: f32,
    vad_floor_dbfs: f32,
    labels: &'a [&'a str],
    schedule: ScheduleMeta,
    clips: Vec<ClipMeta<'a>>,
    augment_seed: u64,
    /// Per row: the augmentation applied (null for the clip as recorded).
    recipes: Vec<Option<Recipe>>,
    /// Clips that could not be read, with the reason.
    failed: Vec<String>,
}

/// The window schedule the archive's windows follow, in seconds.
#[derive(Debug, Serialize)]
struct ScheduleMeta {
    window_s: f64,
    hop_s: f64,
    min_window_s: f64,
    min_speech_ratio: f32,
}

/// Result of an export.
#[derive(Debug)]
pub struct Export {
    pub clips: usize,
    pub frames: usize,
    pub failed: Vec<String>,
}

/// How to augment, if at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Augmentation {
    /// Augmented copies per clip (0: none).
    pub copies: usize,
    pub seed: u64,
}

/// Computes features for `clips` on `jobs` threads and writes them to `out` as `.npz`.
/// A regular file appears only when complete (written beside it, then renamed), so a
/// failed or interrupted run never leaves a truncated archive where training would read
/// it; a FIFO or device is written in place (`durable::write_output`).
#[allow(clippy::type_complexity)]
pub fn export(
    clips: &[Clip],
    frontend: &FrontendConfig,
    vad: VadConfig,
    augmentation: Augmentation,
    jobs: usize,
    out: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<Export, FeaturesError> {
    let results: Vec<Mutex<Option<Result<Vec<(ClipFeatures, Option<Recipe>)>, FeaturesError>>>> =
        clips.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(clip) = clips.get(i) else { break };
                    let r = clip_variants(
                        &clip.path,
                        frontend,
                        vad,
                        augmentation.copies,
                        augmentation.seed,
                        i as u64,
                    );
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        loop {
            let d = done.load(Ordering::Relaxed);
            progress(d, clips.len());
            if d >= clips.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    });

    let dim = frontend.model_dim();
    let mut features = Vec::new();
    let mut speech = Vec::new();
    let mut offsets = vec![0i64];
    let mut labels = Vec::new();
    let mut clip_index = Vec::new();
    let mut variant = Vec::new();
    let mut recipes = Vec::new();
    let mut meta_clips = Vec::new();
    let mut failed = Vec::new();
    let fps = frontend.frames_per_second();
    let frames_of = |s: f64| (s * fps).round() as usize;
    let schedule = Schedule::new(
        frames_of(DEFAULT_WINDOW_S),
        frames_of(DEFAULT_HOP_S),
        frames_of(DEFAULT_MIN_WINDOW_S),
    );
    let (mut window_row, mut window_start, mut window_end, mut window_speech) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (clip, slot) in clips.iter().zip(results) {
        let result = slot.into_inner().ok().flatten();
        match result {
            Some(Ok(variants)) => {
                let f = &variants[0].0;
                for (v, (f, recipe)) in variants.iter().enumerate() {
                    features.extend_from_slice(&f.features);
                    let row = labels.len() as i64;
                    for w in schedule.clone().all(f.frames as u64) {
                        let (a, b) = (w.start as usize, w.end as usize);
                        let heard = f.speech[a..b].iter().filter(|&&s| s).count();
                        window_row.push(row);
                        window_start.push(a as i64);
                        window_end.push(b as i64);
                        window_speech.push(heard as f32 / (b - a) as f32);
                    }
                    speech.extend(f.speech.iter().map(|&s| u8::from(s)));
                    offsets.push(offsets.last().copied().unwrap_or(0) + f.frames as i64);
                    labels.push(emotion::index(&clip.label).unwrap_or(0) as i64);
                    clip_index.push(meta_clips.len() as i64);
                    variant.push(v as i64);
                    recipes.push(recipe.clone());
                }
                meta_clips.push(ClipMeta {
                    path: &clip.path,
                    corpus: clip.corpus.name(),
                    speaker: &clip.speaker,
                    label: &clip.label,
                    frames: f.frames,
                    duration_s: f.duration_s,
                    source_rate: f.source_rate,
                });
            }
            Some(Err(e)) => failed.push(e.to_string()),
            None => failed.push(format!("{}: not processed", clip.path.display())),
        }
    }
    let frames = speech.len();
    let meta = Meta {
        format: 1,
        emotty_version: env!("CARGO_PKG_VERSION"),
        frontend,
        vad_threshold: vad.threshold,
        vad_floor_dbfs: vad.floor_dbfs,
        labels: &EMOTIONS,
        schedule: ScheduleMeta {
            window_s: DEFAULT_WINDOW_S,
            hop_s: DEFAULT_HOP_S,
            min_window_s: DEFAULT_MIN_WINDOW_S,
            min_speech_ratio: DEFAULT_MIN_SPEECH_RATIO,
        },
        clips: meta_clips,
        augment_seed: augmentation.seed,
        recipes,
        failed: failed.clone(),
    };
    let clip_count = meta.clips.len();
    let meta_json = serde_json::to_vec(&meta).map_err(|e| FeaturesError::Npz {
        path: out.to_path_buf(),
        message: e.to_string(),
    })?;
    let npz_err = |e: &dyn std::fmt::Display| FeaturesError::Npz {
        path: out.to_path_buf(),
        message: e.to_string(),
    };
    let features = Array2::from_shape_vec((frames, dim), features).map_err(|e| npz_err(&e))?;
    let io_err = |cause: std::io::Error| FeaturesError::Write {
        path: out.to_path_buf(),
        cause,
    };
    let mut npz_error = None;
    crate::durable::write_output(out, |file| {
        let mut write = || -> Result<(), FeaturesError> {
            let mut npz = NpzWriter::new(BufWriter::new(&mut *file));
            npz.add_array("features", &features)
                .map_err(|e| npz_err(&e))?;
            npz.add_array("speech", &Array1::from(speech.clone()))
                .map_err(|e| npz_err(&e))?;
            npz.add_array("offsets", &Array1::from(offsets.clone()))
                .map_err(|e| npz_err(&e))?;
            npz.add_array("labels", &Array1::from(labels.clone()))
                .map_err(|e| npz_err(&e))?;
            npz.add_array("clip_index", &Array1::from(clip_index.clone()))
                .map_err(|e| npz_err(&e))?;
            npz.add_array("variant", &Array1::from(variant.clone()))
                .map_err(|e| npz_err(&e))?;
            for (name, values) in [
                ("window_row", &window_row),
                ("window_start", &window_start),
                ("window_end", &window_end),
            ] {
                npz.add_array(name, &Array1::from(values.clone()))
                    .map_err(|e| npz_err(&e))?;
            }
            npz.add_array("window_speech", &Array1::from(window_speech.clone()))
                .map_err(|e| npz_err(&e))?;
            npz.add_array("meta_json", &Array1::from(meta_json.clone()))
                .map_err(|e| npz_err(&e))?;
            let writer = npz.finish().map_err(|e| npz_err(&e))?;
            writer.into_inner().map_err(|e| npz_err(&e.error()))?;
            Ok(())
        };
        write().map_err(|e| {
            let message = e.to_string();
            npz_error = Some(e);
            std::io::Error::other(message)
        })
    })
    .map_err(|e| npz_error.take().unwrap_or_else(|| io_err(e)))?;
    Ok(Export {
        clips: clip_count,
        frames,
        failed,
    })
}
