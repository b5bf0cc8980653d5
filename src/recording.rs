//! Labeled recordings: short clips a tester records and labels, for training and
//! evaluation (`emotty eval` and `emotty features` read them through [`crate::dataset::corpus`]).
//!
//! ```text
//! <recordings dir>/
//!     manifest.jsonl                      one JSON object per clip, appended
//!     angry/20261121-101500_ann.wav       16-bit PCM at the capture rate and channels
//!     calm/20261121-101622_ann.wav
//! ```
//!
//! A [`Recorder`] is fed the engine's tap ([`AudioChunk`]s at the source's native rate)
//! and its events. It always keeps the last [`PRE_ROLL_S`] of audio, so a clip started
//! with a key press begins a little before it and the first syllable is not cut. When
//! the clip stops, the windows the model analysed over it give the prediction stored
//! with it (what the model heard at capture time, to compare with the label later).
//!
//! # Using it from the monitor
//!
//! ```no_run
//! # use emotty::recording::{Recorder, RecorderConfig};
//! # fn demo(engine: &emotty::engine::Engine, tap: &std::sync::mpsc::Receiver<emotty::engine::AudioChunk>,
//! #         model: &emotty::model::Model, dir: std::path::PathBuf,
//! #         session: &mut emotty::session::SessionWriter) -> anyhow::Result<()> {
//! let mut recorder = Recorder::new(
//!     RecorderConfig::new(dir, "ann".into()),          // recordings dir, speaker
//!     Some(emotty::session::ModelRecord::from_info(model.info())),
//! )?;
//! for event in engine.events().try_iter() {
//!     recorder.on_event(&event);                       // and session.on_event(&event)
//! }
//! for chunk in tap.try_iter() {
//!     recorder.feed(&chunk);                           // every chunk, recording or not
//! }
//! recorder.start("4", None, None)?;                    // StartRecording { label }: 1-8 or a name
//! if recorder.is_full() { /* at MAX_CLIP_S: stop it */ }
//! let saved = recorder.stop()?;                        // StopRecording: WAV + manifest line
//! session.recording_saved(&saved.entry.file, &saved.entry.label, &saved.recordings_dir)?;
//! # Ok(()) }
//! ```
//!
//! The take goes to disk as it is captured, pre-roll first, so memory stays flat
//! whatever the rate, channels and length (two minutes at 192 kHz × 8 channels held as
//! f32 were 863 MB). `stop` finishes the file (tens of milliseconds, most of it the
//! fsync). Labels are checked at `start`, and the file is opened there, so a bad key
//! press or a folder that takes no file fails before anything is captured.
//!
//! Saving is crash-safe in this order: the WAV goes to a temporary file in the label's
//! folder (named `.emotty-<pid>-….partial`, never an audio extension), is fsynced,
//! renamed to its final name (refusing to replace an existing clip), and only then is
//! its manifest line appended with a single write and fsynced. A crash at any point
//! leaves no truncated WAV and no manifest line without its file; at worst a complete
//! WAV without a manifest line, which the folder layout still labels. Temporary files
//! of dead processes are removed the next time a recorder starts.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local};
use serde::{Deserialize, Serialize};

use crate::audio::SourceRecord;
use crate::audio::wav::WavAppender;
use crate::dataset::corpus::{MANIFEST, check_speaker};
use crate::durable::{self, TempFile};
use crate::emotion::EMOTIONS;
use crate::engine::{AudioChunk, Event, WindowResult};
use crate::model::ModelRecord;
use crate::precision;

/// Audio kept from before the start of a clip, in seconds.
pub const PRE_ROLL_S: f64 = 0.5;

/// Longest clip, in seconds; a clip stops taking audio beyond it (a forgotten
/// recording must not fill the memory).
pub const MAX_CLIP_S: f64 = 600.0;

/// The shortest take `emotty record --seconds` asks for: a single spoken word. Less is
/// a clip of pre-roll and silence, which would train "no speech" as an emotion.
pub const MIN_TAKE_S: f64 = 0.5;

/// Errors recording or saving a clip. Each is one line.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(
        "unknown label \"{0}\": use one of neutral, calm, happy, sad, angry, fearful, disgust, surprised, or 1-8"
    )]
    Label(String),
    #[error("speaker \"{id}\": {problem}")]
    Speaker { id: String, problem: String },
    #[error("already recording")]
    AlreadyRecording,
    #[error("not recording")]
    NotRecording,
    #[error("no audio was captured, so nothing was saved")]
    Empty,
    #[error("{}: cannot write: {cause}", path.display())]
    Write { path: PathBuf, cause: io::Error },
}

/// An emotion name (any case) or its number 1–8, as on the monitor's keys.
pub fn parse_label(s: &str) -> Result<&'static str, RecordingError> {
    crate::emotion::parse(s).ok_or_else(|| RecordingError::Label(s.to_string()))
}

/// What the model said about a clip while it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Top label of the verdict ([`crate::emotion::verdict`]).
    pub emotion: String,
    /// The speech windows covering the clip, pooled as a clip's verdict, per label.
    pub probs: BTreeMap<String, f32>,
    /// How many speech windows were pooled.
    pub windows: usize,
    pub model: String,
    pub model_sha256: String,
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The WAV, relative to the recordings directory, with `/` separators.
    pub file: String,
    /// One of the eight emotions.
    pub label: String,
    pub speaker: String,
    /// Capture device name, or the file / "stdin" it was read from.
    pub device: String,
    /// microphone, file or pipe.
    pub source: String,
    /// Sample rate of the WAV (the capture rate), Hz.
    pub rate: u32,
    pub channels: u16,
    /// Seconds of audio in the WAV, pre-roll included.
    pub duration: f64,
    /// Seconds of it from before the recording was started.
    pub pre_roll: f64,
    /// When the recording was started (local time with offset).
    pub time: DateTime<FixedOffset>,
    /// The model's view at capture, or null (no model, or no speech in the clip).
    pub prediction: Option<Prediction>,
    pub note: Option<String>,
}

/// A clip that was saved.
#[derive(Debug, Clone)]
pub struct SavedRecording {
    pub recordings_dir: PathBuf,
    /// The WAV's full path.
    pub path: PathBuf,
    pub entry: ManifestEntry,
}

/// How clips are recorded and where they go.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    pub dir: PathBuf,
    pub speaker: String,
    pub pre_roll_s: f64,
    pub max_s: f64,
}

impl RecorderConfig {
    pub fn new(dir: PathBuf, speaker: String) -> RecorderConfig {
        RecorderConfig {
            dir,
            speaker,
            pre_roll_s: PRE_ROLL_S,
            max_s: MAX_CLIP_S,
        }
    }
}

/// A clip's audio on disk as it is captured: memory stays flat whatever the rate,
/// channels and length. Dropping it removes the temporary file.
struct Take {
    tmp: TempFile,
    wav: WavAppender,
}

impl std::fmt::Debug for Take {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Take")
            .field("path", &self.tmp.path())
            .field("frames", &self.wav.frames())
            .finish()
    }
}

/// A clip being recorded.
#[derive(Debug)]
struct Active {
    label: &'static str,
    note: Option<String>,
    time: DateTime<FixedOffset>,
    rate: u32,
    channels: u16,
    /// Source frame index of the clip's first frame (pre-roll included).
    first_frame: u64,
    pre_roll_frames: u64,
    /// Frames taken so far, pre-roll included.
    frames: u64,
    /// The file the frames go to; opened once the source's format is known.
    take: Option<Take>,
    /// Why the take could not be written, reported when it stops.
    error: Option<RecordingError>,
    /// Seconds the clip may take after its start.
    after_s: f64,
    /// The source's format changed mid-clip: the rest was not taken.
    format_changed: bool,
}

impl Active {
    fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames the clip may hold in all, pre-roll included.
    fn limit_frames(&self) -> u64 {
        self.pre_roll_frames + (self.after_s * f64::from(self.rate)).round() as u64
    }

    /// Appends interleaved samples to the take, opening its file first if needed.
    /// A failure is kept for [`Recorder::stop`] and ends the taking.
    fn take(&mut self, label_dir: &Path, samples: &[f32]) {
        if self.error.is_some() || samples.is_empty() {
            return;
        }
        let result = (|| -> Result<(), RecordingError> {
            if self.take.is_none() {
                self.take = Some(open_take(label_dir, self.rate, self.channels)?);
            }
            let Some(take) = self.take.as_mut() else {
                return Ok(());
            };
            take.wav
                .append(samples)
                .map_err(|cause| RecordingError::Write {
                    path: take.tmp.path().to_path_buf(),
                    cause,
                })
        })();
        match result {
            Ok(()) => self.frames += (samples.len() / usize::from(self.channels.max(1))) as u64,
            Err(e) => self.error = Some(e),
        }
    }
}

/// A temporary WAV in the label's folder, named so that a crash leaves nothing a
/// corpus scan would take for a clip.
fn open_take(label_dir: &Path, rate: u32, channels: u16) -> Result<Take, RecordingError> {
    let unwritable = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| RecordingError::Write { path, cause }
    };
    durable::create_private_dir(label_dir).map_err(unwritable(label_dir))?;
    let mut tmp = TempFile::new_in(label_dir).map_err(unwritable(label_dir))?;
    let tmp_path = tmp.path().to_path_buf();
    let file = tmp.file().try_clone().map_err(unwritable(&tmp_path))?;
    let wav = WavAppender::new(file, rate, channels).map_err(unwritable(&tmp_path))?;
    Ok(Take { tmp, wav })
}

/// Records labeled clips from the engine's tap. See the module documentation.
pub struct Recorder {
    cfg: RecorderConfig,
    model: Option<ModelRecord>,
    labels: Vec<String>,
    source: Option<SourceRecord>,
    rate: u32,
    channels: u16,
    /// The last `pre_roll_s` of audio, interleaved.
    pre: VecDeque<f32>,
    /// Source frame index just after the last frame fed.
    next_frame: u64,
    active: Option<Active>,
    /// A clip asked for before the pre-roll was full (see [`Recorder::start_after_pre_roll`]).
    armed: Option<Armed>,
    windows: VecDeque<WindowResult>,
}

/// A clip that starts at the frame where the source has delivered the whole pre-roll.
struct Armed {
    label: &'static str,
    note: Option<String>,
    seconds: Option<f64>,
}

impl Recorder {
    /// A recorder saving under `cfg.dir`. `model` names the model in predictions.
    /// Checks that the recordings folder takes a file, creating it if needed: called
    /// before a take starts, since finding out after it loses what was said. A
    /// temporary file is created there and removed again.
    pub fn check_writable(&self) -> Result<(), RecordingError> {
        let dir = &self.cfg.dir;
        let unwritable = |cause| RecordingError::Write {
            path: dir.clone(),
            cause,
        };
        durable::create_private_dir(dir).map_err(unwritable)?;
        drop(durable::TempFile::new_in(dir).map_err(unwritable)?);
        Ok(())
    }

    pub fn new(
        cfg: RecorderConfig,
        model: Option<ModelRecord>,
    ) -> Result<Recorder, RecordingError> {
        check_speaker(&cfg.speaker).map_err(|problem| RecordingError::Speaker {
            id: cfg.speaker.clone(),
            problem,
        })?;
        for label in EMOTIONS {
            // Leftovers of recorders killed mid-save; harmless if it fails.
            let _ = durable::remove_abandoned(&cfg.dir.join(label));
        }
        Ok(Recorder {
            cfg,
            model,
            labels: Vec::new(),
            source: None,
            rate: 0,
            channels: 0,
            pre: VecDeque::new(),
            next_frame: 0,
            active: None,
            armed: None,
            windows: VecDeque::new(),
        })
    }

    /// Feeds an engine event: the source and labels from `Started`, predictions from
    /// `Window`.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Started(s) => {
                self.labels = s.labels.clone();
                self.source = Some(SourceRecord::from(&s.source));
            }
            Event::Window(w) => {
                self.windows.push_back(w.clone());
                // Keep what a clip could still need: everything from its start while
                // recording, the last minute otherwise.
                let keep_from = match &self.active {
                    Some(a) => a.first_frame as f64 / f64::from(a.rate.max(1)) - 60.0,
                    None => w.end_s - 60.0,
                };
                while self.windows.front().is_some_and(|f| f.end_s < keep_from) {
                    self.windows.pop_front();
                }
            }
            _ => {}
        }
    }

    /// Feeds source audio (every chunk from the tap, recording or not). An armed clip
    /// starts inside the chunk, at the frame where the pre-roll is complete.
    pub fn feed(&mut self, chunk: &AudioChunk) {
        if chunk.channels == 0 || chunk.sample_rate == 0 {
            return;
        }
        let channels = usize::from(chunk.channels);
        let samples = &chunk.samples[..chunk.samples.len() / channels * channels];
        if self.armed.is_some() {
            let needed = self.pre_roll_frames(chunk.sample_rate);
            let frames = (samples.len() / channels) as u64;
            if chunk.first_frame + frames >= needed {
                let head = needed.saturating_sub(chunk.first_frame) as usize * channels;
                self.feed_frames(chunk, chunk.first_frame, &samples[..head]);
                self.start_armed_now();
                let first = chunk.first_frame + (head / channels) as u64;
                self.feed_frames(chunk, first, &samples[head..]);
                return;
            }
        }
        self.feed_frames(chunk, chunk.first_frame, samples);
    }

    /// Whole frames of `chunk`'s format, the first of them source frame `first_frame`.
    fn feed_frames(&mut self, chunk: &AudioChunk, first_frame: u64, samples: &[f32]) {
        let channels = usize::from(chunk.channels);
        if chunk.sample_rate != self.rate || chunk.channels != self.channels {
            self.rate = chunk.sample_rate;
            self.channels = chunk.channels;
            self.pre.clear();
            if let Some(a) = &mut self.active {
                if a.rate == 0 {
                    // Started before any audio arrived: this is the clip's format.
                    a.rate = chunk.sample_rate;
                    a.channels = chunk.channels;
                } else {
                    a.format_changed = true;
                }
            }
        }
        self.next_frame = first_frame + (samples.len() / channels) as u64;
        if let Some(a) = &mut self.active
            && !a.format_changed
        {
            let room = (a.limit_frames().saturating_sub(a.frames())) as usize * channels;
            let label_dir = self.cfg.dir.join(a.label);
            a.take(&label_dir, &samples[..samples.len().min(room)]);
        }
        let keep = self.pre_roll_frames(self.rate) as usize * channels;
        if samples.len() >= keep {
            self.pre.clear();
            self.pre.extend(&samples[samples.len() - keep..]);
        } else {
            self.pre.extend(samples);
            while self.pre.len() > keep {
                self.pre.pop_front();
            }
        }
    }

    /// Frames of pre-roll at `rate`.
    fn pre_roll_frames(&self, rate: u32) -> u64 {
        (self.cfg.pre_roll_s * f64::from(rate)).round() as u64
    }

    /// A clip can start: none is recording or armed.
    fn check_idle(&self) -> Result<(), RecordingError> {
        if self.active.is_some() || self.armed.is_some() {
            return Err(RecordingError::AlreadyRecording);
        }
        Ok(())
    }

    /// Seconds of pre-roll currently buffered.
    pub fn pre_roll_available_s(&self) -> f64 {
        if self.rate == 0 || self.channels == 0 {
            return 0.0;
        }
        (self.pre.len() / usize::from(self.channels)) as f64 / f64::from(self.rate)
    }

    /// Starts a clip now, beginning with the buffered pre-roll. `seconds` limits the
    /// clip to that much audio after the start (else [`MAX_CLIP_S`]).
    pub fn start(
        &mut self,
        label: &str,
        note: Option<String>,
        seconds: Option<f64>,
    ) -> Result<(), RecordingError> {
        self.check_idle()?;
        let mut active = self.begin(parse_label(label)?, note, seconds);
        if let Some(e) = active.error.take() {
            return Err(e);
        }
        self.active = Some(active);
        Ok(())
    }

    /// Starts a clip once the source has delivered the whole pre-roll, at that exact
    /// frame (at once if it already has): `emotty record`'s clip, whose first
    /// `pre_roll_s` is the pre-roll even when a fast file source delivers seconds in
    /// one chunk. A file that cannot be written is reported by [`Recorder::stop`].
    pub fn start_after_pre_roll(
        &mut self,
        label: &str,
        note: Option<String>,
        seconds: Option<f64>,
    ) -> Result<(), RecordingError> {
        self.check_idle()?;
        if self.rate > 0 && self.next_frame >= self.pre_roll_frames(self.rate) {
            return self.start(label, note, seconds);
        }
        self.armed = Some(Armed {
            label: parse_label(label)?,
            note,
            seconds,
        });
        Ok(())
    }

    /// A clip armed by [`Recorder::start_after_pre_roll`] is waiting for its pre-roll.
    pub fn is_armed(&self) -> bool {
        self.armed.is_some()
    }

    /// Starts the armed clip now, with whatever pre-roll there is (the input ended
    /// before the pre-roll was full: all of it is the clip).
    pub fn start_armed_now(&mut self) {
        if let Some(a) = self.armed.take() {
            self.active = Some(self.begin(a.label, a.note, a.seconds));
        }
    }

    /// A clip beginning with the buffered pre-roll; a file that cannot be opened or
    /// written is kept in its `error`.
    fn begin(&self, label: &'static str, note: Option<String>, seconds: Option<f64>) -> Active {
        let channels = usize::from(self.channels.max(1));
        let pre_frames = (self.pre.len() / channels) as u64;
        let after_s = seconds.unwrap_or(self.cfg.max_s).clamp(0.0, self.cfg.max_s);
        let mut active = Active {
            label,
            note: note.filter(|n| !n.trim().is_empty()),
            time: Local::now().fixed_offset(),
            rate: self.rate,
            channels: self.channels,
            first_frame: self.next_frame.saturating_sub(pre_frames),
            pre_roll_frames: pre_frames,
            frames: 0,
            take: None,
            error: None,
            after_s,
            format_changed: false,
        };
        let label_dir = self.cfg.dir.join(label);
        if self.rate > 0 {
            // The file is opened now, so a folder that cannot take it is said at once.
            match open_take(&label_dir, self.rate, self.channels) {
                Ok(take) => {
                    active.take = Some(take);
                    let (a, b) = self.pre.as_slices();
                    active.take(&label_dir, a);
                    active.take(&label_dir, b);
                }
                Err(e) => active.error = Some(e),
            }
        }
        active
    }

    pub fn is_recording(&self) -> bool {
        self.active.is_some()
    }

    /// The clip has all the audio it may take (its length, the format changed, or
    /// its file could not be written).
    pub fn is_full(&self) -> bool {
        self.active.as_ref().is_some_and(|a| {
            a.format_changed || a.error.is_some() || (a.rate > 0 && a.frames() >= a.limit_frames())
        })
    }

    /// The clip's file could not be opened or written: [`Recorder::stop`] says why.
    pub fn has_failed(&self) -> bool {
        self.active.as_ref().is_some_and(|a| a.error.is_some())
    }

    /// Seconds recorded since the start (pre-roll excluded).
    pub fn elapsed_s(&self) -> f64 {
        self.active.as_ref().map_or(0.0, |a| {
            a.frames().saturating_sub(a.pre_roll_frames) as f64 / f64::from(a.rate.max(1))
        })
    }

    /// Source time (seconds) at which the clip's audio ends, for waiting on its windows.
    pub fn clip_end_s(&self) -> Option<f64> {
        self.active
            .as_ref()
            .map(|a| (a.first_frame + a.frames()) as f64 / f64::from(a.rate.max(1)))
    }

    /// Drops the clip (or the armed one) without saving anything.
    pub fn cancel(&mut self) {
        self.active = None;
        self.armed = None;
    }

    /// Stops the clip and saves it with its manifest line.
    pub fn stop(&mut self) -> Result<SavedRecording, RecordingError> {
        let mut active = self.active.take().ok_or(RecordingError::NotRecording)?;
        if let Some(e) = active.error.take() {
            return Err(e);
        }
        let Some(take) = active.take.take().filter(|_| active.frames > 0) else {
            return Err(RecordingError::Empty);
        };
        let prediction = self.prediction(&active);
        let source = self.source.clone();
        let entry = ManifestEntry {
            file: String::new(),
            label: active.label.to_string(),
            speaker: self.cfg.speaker.clone(),
            device: source.as_ref().map_or_else(String::new, |s| s.name.clone()),
            source: source.as_ref().map_or_else(String::new, |s| s.kind.clone()),
            rate: active.rate,
            channels: active.channels,
            duration: precision::seconds(active.frames() as f64 / f64::from(active.rate.max(1))),
            pre_roll: precision::seconds(
                active.pre_roll_frames as f64 / f64::from(active.rate.max(1)),
            ),
            time: active.time,
            prediction,
            note: active.note.clone(),
        };
        publish(&self.cfg.dir, entry, take)
    }

    fn prediction(&self, a: &Active) -> Option<Prediction> {
        let model = self.model.as_ref()?;
        let rate = f64::from(a.rate.max(1));
        let c0 = a.first_frame as f64 / rate;
        let c1 = (a.first_frame + a.frames()) as f64 / rate;
        // A window covers the clip when at least half of the shorter of the two lies in
        // the other: the clip's audio is a real part of what it heard.
        let covering: Vec<&WindowResult> = self
            .windows
            .iter()
            .filter(|w| {
                let overlap = w.end_s.min(c1) - w.start_s.max(c0);
                overlap > 0.0 && overlap >= 0.5 * (w.end_s - w.start_s).min(c1 - c0)
            })
            .collect();
        let verdict = crate::emotion::verdict(covering.iter().copied())?;
        Some(Prediction {
            emotion: self.labels.get(verdict.top)?.clone(),
            probs: self
                .labels
                .iter()
                .zip(&verdict.probs)
                .map(|(l, p)| (l.clone(), precision::ratio_f32(*p)))
                .collect(),
            windows: covering.iter().filter(|w| w.probs().is_some()).count(),
            model: model.name.clone(),
            model_sha256: model.sha256.clone(),
        })
    }
}

/// Finishes a take's WAV and publishes it as `<dir>/<label>/<time>_<speaker>.wav`, then
/// appends its manifest line (`entry.file` is filled in here). See the module
/// documentation for the order. On error the temporary file is removed.
fn publish(
    dir: &Path,
    mut entry: ManifestEntry,
    take: Take,
) -> Result<SavedRecording, RecordingError> {
    let label_dir = dir.join(&entry.label);
    let Take { mut tmp, wav } = take;
    let tmp_path = tmp.path().to_path_buf();
    wav.finish().map_err(|source| RecordingError::Write {
        path: tmp_path.clone(),
        cause: source,
    })?;
    let stamp = entry.time.format("%Y%m%d-%H%M%S").to_string();
    let mut published = None;
    for n in 1..=100 {
        let name = if n == 1 {
            format!("{stamp}_{}.wav", entry.speaker)
        } else {
            format!("{stamp}-{n}_{}.wav", entry.speaker)
        };
        let path = label_dir.join(&name);
        match tmp.publish(&path) {
            Ok(()) => {
                published = Some((name, path));
                break;
            }
            Err((_, Some(back))) => tmp = back,
            Err((source, None)) => {
                return Err(RecordingError::Write {
                    path,
                    cause: source,
                });
            }
        }
    }
    let Some((name, path)) = published else {
        return Err(RecordingError::Write {
            path: label_dir,
            cause: io::Error::new(io::ErrorKind::AlreadyExists, "100 clips in the same second"),
        });
    };
    entry.file = format!("{}/{name}", entry.label);
    let manifest = dir.join(MANIFEST);
    let line = serde_json::to_string(&entry).unwrap_or_default();
    durable::append_line(&manifest, &line).map_err(|source| RecordingError::Write {
        path: manifest.clone(),
        cause: source,
    })?;
    Ok(SavedRecording {
        recordings_dir: dir.to_path_buf(),
        path,
        entry,
    })
}

#[cfg(test)]
mod tests;
