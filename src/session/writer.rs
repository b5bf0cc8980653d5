//! [`SessionWriter`]: turns the engine's events (and the user's markers) into a session
//! directory, as they happen.
//!
//! Durability: every timeline row and event is one `write` of a whole line, so a
//! killed process (`kill -9`, a lost SSH connection) loses nothing it had logged: the
//! kernel already has it. What a power cut could lose is bounded by fsyncing the files
//! at most a second apart ([`SYNC_EVERY`]); kept audio's WAV header is brought up to
//! date at the same moments. `session.json` is only ever replaced whole.
//!
//! After the first failed write (typically a full disk) the writer stops writing and
//! every later call returns [`SessionError::Stopped`]: appending after a torn line
//! would bury it in the middle of the file. What was written stays readable.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::SessionError;
use super::format::{
    AudioRecord, EVENTS_FILE, EndCause, EventKind, EventRecord, FORMAT, META_FILE, ModelRecord,
    SessionMeta, SourceRecord, Stamp, Summary, TIMELINE_FILE, TimelineRow, Writer, WrittenStatus,
    audio_file_name,
};
use super::summary::SummaryBuilder;
use crate::audio::wav::WavAppender;
use crate::durable;
use crate::engine::{AudioChunk, Event, SessionClock, SourceKind, WindowResult};
use crate::precision;

/// The longest a logged line waits before it is fsynced.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);

/// How to start a session.
#[derive(Debug, Clone)]
pub struct SessionSetup {
    /// The sessions directory; the session gets a new folder inside it.
    pub sessions_dir: PathBuf,
    /// A name or client code (`--session NAME`).
    pub name: Option<String>,
    pub model: ModelRecord,
    /// Keep the source audio as WAV next to the logs (`--keep-audio`). Off by default:
    /// without it no audio is stored anywhere.
    pub keep_audio: bool,
}

/// Kept audio being written.
struct AudioKeeper {
    wav: WavAppender,
    files: Vec<String>,
}

/// Writes one session. See the module documentation of [`crate::session`] for how the
/// monitor uses it.
pub struct SessionWriter {
    dir: PathBuf,
    meta: SessionMeta,
    pub(super) timeline: File,
    events: File,
    keep_audio: bool,
    audio: Option<AudioKeeper>,
    audio_limit_bytes: Option<u64>,
    labels: Vec<String>,
    paused: bool,
    /// Session time (seconds of audio since the session started) across engines.
    clock: SessionClock,
    rows: u64,
    summary: SummaryBuilder,
    dropped: u64,
    last_end: Option<EndCause>,
    unsynced_since: Option<Instant>,
    failed: Option<String>,
}

impl SessionWriter {
    /// Creates the session directory and writes `session.json` with status "running".
    pub fn create(setup: SessionSetup) -> Result<SessionWriter, SessionError> {
        let root = &setup.sessions_dir;
        durable::create_private_dir(root).map_err(|source| SessionError::CreateDir {
            path: root.clone(),
            cause: source,
        })?;
        let start = Stamp::now();
        let base = start.local.format("%Y-%m-%dT%H-%M-%S").to_string();
        let (id, dir) = new_session_dir(root, &base)?;
        let meta = SessionMeta {
            format: FORMAT,
            id: id.clone(),
            name: setup.name.clone(),
            status: WrittenStatus::Running,
            start,
            end: None,
            writer: Writer {
                program: env!("CARGO_PKG_NAME").into(),
                version: env!("CARGO_PKG_VERSION").into(),
                pid: std::process::id(),
                host: hostname(),
                boot_id: boot_id(),
                started: crate::durable::process_start_time(std::process::id()),
            },
            source: None,
            device: None,
            model: setup.model.clone(),
            labels: Vec::new(),
            sample_rate: None,
            window_s: None,
            hop_s: None,
            audio: None,
            ended: None,
            summary: None,
        };
        let open = |name: &str| {
            let path = dir.join(name);
            durable::create_new(&path).map_err(|source| SessionError::Write {
                path,
                cause: source,
            })
        };
        let result =
            write_meta(&dir, &meta).and_then(|_| Ok((open(TIMELINE_FILE)?, open(EVENTS_FILE)?)));
        let (timeline, events) = match result {
            Ok(files) => files,
            Err(e) => {
                // Nothing useful is in there yet; do not leave an empty session behind.
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        Ok(SessionWriter {
            dir,
            meta,
            timeline,
            events,
            keep_audio: setup.keep_audio,
            audio: None,
            audio_limit_bytes: None,
            labels: Vec::new(),
            paused: false,
            clock: SessionClock::default(),
            rows: 0,
            summary: SummaryBuilder::new(None),
            dropped: 0,
            last_end: None,
            unsynced_since: None,
            failed: None,
        })
    }

    /// Limits each kept-audio file to `bytes` (tests; the real limit is 4 GiB).
    pub fn with_audio_file_limit(mut self, bytes: u64) -> SessionWriter {
        self.audio_limit_bytes = Some(bytes);
        self
    }

    /// The session's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The session id (the directory name).
    pub fn id(&self) -> &str {
        &self.meta.id
    }

    /// Session time of the latest audio, in seconds: where a marker made now lands.
    pub fn time_s(&self) -> f64 {
        self.clock.now_s()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The first write error, once the writer has stopped.
    pub fn failure(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Feeds one engine event. Windows become timeline rows; warnings, dropped audio
    /// and source changes become events.
    pub fn on_event(&mut self, event: &Event) -> Result<(), SessionError> {
        self.check()?;
        match event {
            Event::Started(s) => {
                let source = SourceRecord::from(&s.source);
                if self.clock.engine_started() {
                    // A new engine on a new source: its clock starts at 0 again.
                    self.dropped = 0;
                    self.log(EventKind::DeviceChanged {
                        source: source.clone(),
                    })?;
                } else {
                    self.log(EventKind::Started {
                        source: source.clone(),
                    })?;
                }
                self.labels = s.labels.clone();
                self.meta.device =
                    (s.source.kind == SourceKind::Microphone).then(|| s.source.name.clone());
                self.meta.source = Some(source);
                self.meta.labels = s.labels.clone();
                self.meta.sample_rate = Some(s.sample_rate);
                self.meta.window_s = Some(s.window_s);
                self.meta.hop_s = Some(s.hop_s);
                self.summary.set_hop(Some(s.hop_s));
                self.save_meta()?;
            }
            Event::Level(l) => self.advance(l.time_s),
            Event::Spectrogram(c) => self.advance(c.time_s),
            Event::Window(w) => {
                self.advance(w.end_s);
                if !self.paused {
                    self.row(w)?;
                }
            }
            Event::Stats(s) => {
                self.advance(s.time_s);
                if s.dropped_samples > self.dropped {
                    let channels = self
                        .meta
                        .source
                        .as_ref()
                        .map_or(1, |s| u64::from(s.channels.max(1)));
                    let frames = (s.dropped_samples - self.dropped) / channels;
                    self.dropped = s.dropped_samples;
                    self.log(EventKind::Warning {
                        message: format!(
                            "{frames} frames of audio were dropped (the analysis fell behind)"
                        ),
                    })?;
                }
            }
            Event::Warning { message } => self.log(EventKind::Warning {
                message: message.clone(),
            })?,
            Event::Ended(reason) => self.last_end = Some(EndCause::from(reason)),
        }
        self.sync_if_due()
    }

    /// Feeds a block of source audio (from the engine's tap). Ignored unless the
    /// session keeps audio. While paused, silence of the same length is written, so
    /// the file stays aligned with the session's times.
    pub fn on_audio(&mut self, chunk: &AudioChunk) -> Result<(), SessionError> {
        if !self.keep_audio || chunk.samples.is_empty() || chunk.channels == 0 {
            return Ok(());
        }
        self.check()?;
        let result = self.write_audio(chunk);
        self.fail_on_err(result)?;
        self.sync_if_due()
    }

    /// Marks the current moment ("door knock", "topic: work").
    pub fn marker(&mut self, label: &str) -> Result<(), SessionError> {
        self.check()?;
        self.log(EventKind::Marker {
            label: label.to_string(),
        })?;
        self.sync_now()
    }

    /// Adds a free-text note at the current moment.
    pub fn note(&mut self, text: &str) -> Result<(), SessionError> {
        self.check()?;
        self.log(EventKind::Note {
            text: text.to_string(),
        })?;
        self.sync_now()
    }

    /// Stops logging windows (and keeps silence instead of audio) until [`resume`].
    ///
    /// [`resume`]: SessionWriter::resume
    pub fn pause(&mut self) -> Result<(), SessionError> {
        self.check()?;
        if !self.paused {
            self.paused = true;
            self.log(EventKind::Pause)?;
            self.sync_now()?;
        }
        Ok(())
    }

    pub fn resume(&mut self) -> Result<(), SessionError> {
        self.check()?;
        if self.paused {
            self.paused = false;
            self.log(EventKind::Resume)?;
            self.sync_now()?;
        }
        Ok(())
    }

    /// Records a labeled recording saved during the session: its file (relative to
    /// the recordings folder), its label and the folder.
    pub fn recording_saved(
        &mut self,
        file: &str,
        label: &str,
        recordings_dir: &std::path::Path,
    ) -> Result<(), SessionError> {
        self.check()?;
        self.log(EventKind::Recording {
            file: file.to_owned(),
            label: label.to_owned(),
            recordings_dir: recordings_dir.display().to_string(),
        })?;
        self.sync_now()
    }

    /// fsyncs what is pending if the last fsync is [`SYNC_EVERY`] old. Call it from a
    /// loop that may go a while without events.
    pub fn tick(&mut self) -> Result<(), SessionError> {
        self.check()?;
        self.sync_if_due()
    }

    /// Closes the session: status "closed", end time, summary. The end reason is the
    /// engine's last `Ended` event, or "stopped".
    pub fn close(self) -> Result<Summary, SessionError> {
        let cause = self.last_end.clone().unwrap_or(EndCause::Stopped(None));
        self.close_with(&cause)
    }

    /// Closes the session with an explicit end cause (a signal, `--duration`).
    pub fn close_with(mut self, cause: &EndCause) -> Result<Summary, SessionError> {
        let reason = match &self.failed {
            // Say in the record why it ends early; the rest of the close still runs, so
            // a disk that had room again gets a proper session.json.
            Some(first) => EndCause::StorageFailed(first.clone()).record(),
            None => cause.record(),
        };
        if self.failed.is_none() {
            self.log(EventKind::Ended {
                reason: reason.reason.clone(),
                message: reason.message.clone(),
            })?;
        }
        let finished = self.finish_files();
        // After a failure the files are what they are; session.json is still worth
        // writing.
        if self.failed.is_none() {
            finished?;
        }
        let summary = self.summary.finish(Some(self.clock.now_s()));
        self.meta.status = WrittenStatus::Closed;
        self.meta.end = Some(Stamp::now());
        self.meta.ended = Some(reason);
        self.meta.summary = Some(summary.clone());
        write_meta(&self.dir, &self.meta)?;
        Ok(summary)
    }

    /// Finalises kept audio and fsyncs the logs.
    fn finish_files(&mut self) -> Result<(), SessionError> {
        if let Some(audio) = self.audio.take() {
            let path = self
                .dir
                .join(audio.files.last().cloned().unwrap_or_default());
            audio.wav.finish().map_err(|source| SessionError::Write {
                path,
                cause: source,
            })?;
        }
        for (file, name) in [(&self.timeline, TIMELINE_FILE), (&self.events, EVENTS_FILE)] {
            file.sync_all().map_err(|source| SessionError::Write {
                path: self.dir.join(name),
                cause: source,
            })?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), SessionError> {
        match &self.failed {
            Some(first) => Err(SessionError::Stopped {
                dir: self.dir.clone(),
                first: first.clone(),
            }),
            None => Ok(()),
        }
    }

    fn fail_on_err<T>(&mut self, r: Result<T, SessionError>) -> Result<T, SessionError> {
        if let Err(e) = &r
            && self.failed.is_none()
        {
            self.failed = Some(e.to_string());
        }
        r
    }

    fn advance(&mut self, engine_time_s: f64) {
        self.clock.advance(engine_time_s);
    }

    fn row(&mut self, w: &WindowResult) -> Result<(), SessionError> {
        let probs = w.probs().map(|p| {
            self.labels
                .iter()
                .zip(p)
                .map(|(l, v)| (l.clone(), precision::ratio_f32(*v)))
                .collect()
        });
        let row = TimelineRow {
            index: self.rows,
            start_s: precision::seconds(self.clock.session_s(w.start_s)),
            end_s: precision::seconds(self.clock.session_s(w.end_s)),
            wall: Utc::now(),
            emotion: w.top().and_then(|t| self.labels.get(t).cloned()),
            no_speech: w.top().is_none(),
            speech_ratio: precision::ratio_f32(w.speech_ratio),
            rms_dbfs: precision::decibels(w.rms_dbfs) as f32,
            probs,
            arousal: w.affect().map(|a| precision::ratio_f32(a.arousal)),
            valence: w.affect().map(|a| precision::ratio_f32(a.valence)),
        };
        let line = to_line(&row);
        let path = self.dir.join(TIMELINE_FILE);
        let result = write_line(&mut self.timeline, &line).map_err(|source| SessionError::Write {
            path,
            cause: source,
        });
        self.fail_on_err(result)?;
        self.rows += 1;
        self.summary.row(&row);
        self.unsynced_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn log(&mut self, kind: EventKind) -> Result<(), SessionError> {
        let record = EventRecord {
            t: precision::seconds(self.clock.now_s()),
            wall: Utc::now(),
            kind,
        };
        let line = to_line(&record);
        let path = self.dir.join(EVENTS_FILE);
        let result = write_line(&mut self.events, &line).map_err(|source| SessionError::Write {
            path,
            cause: source,
        });
        self.fail_on_err(result)?;
        self.summary.event(&record);
        self.unsynced_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn write_audio(&mut self, chunk: &AudioChunk) -> Result<(), SessionError> {
        let channels = usize::from(chunk.channels);
        let whole = chunk.samples.len() / channels * channels;
        let silence;
        let mut samples: &[f32] = &chunk.samples[..whole];
        if self.paused {
            silence = vec![0.0; whole];
            samples = &silence;
        }
        while !samples.is_empty() {
            let needs_new = match &self.audio {
                None => true,
                Some(a) => {
                    a.wav.sample_rate() != chunk.sample_rate
                        || a.wav.channels() != chunk.channels
                        || a.wav.room_frames() == 0
                }
            };
            if needs_new {
                self.next_audio_file(chunk.sample_rate, chunk.channels)?;
            }
            let Some(audio) = self.audio.as_mut() else {
                break;
            };
            let fit = (audio.wav.room_frames() as usize).min(samples.len() / channels) * channels;
            let path = self
                .dir
                .join(audio.files.last().cloned().unwrap_or_default());
            audio
                .wav
                .append(&samples[..fit])
                .map_err(|source| SessionError::Write {
                    path,
                    cause: source,
                })?;
            samples = &samples[fit..];
        }
        self.unsynced_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Finishes the current audio file (if any) and starts the next one.
    fn next_audio_file(&mut self, rate: u32, channels: u16) -> Result<(), SessionError> {
        let mut files = Vec::new();
        if let Some(old) = self.audio.take() {
            let path = self.dir.join(old.files.last().cloned().unwrap_or_default());
            old.wav.finish().map_err(|source| SessionError::Write {
                path,
                cause: source,
            })?;
            files = old.files;
        }
        let name = audio_file_name(files.len());
        let path = self.dir.join(&name);
        let file = durable::create_new(&path).map_err(|source| SessionError::Write {
            path: path.clone(),
            cause: source,
        })?;
        let mut wav =
            WavAppender::new(file, rate, channels).map_err(|source| SessionError::Write {
                path,
                cause: source,
            })?;
        if let Some(limit) = self.audio_limit_bytes {
            wav = wav.with_limit_bytes(limit);
        }
        files.push(name);
        self.meta.audio = Some(AudioRecord {
            files: files.clone(),
            format: "wav".into(),
            sample_rate: rate,
            channels,
        });
        self.audio = Some(AudioKeeper { wav, files });
        // A reader of an interrupted session learns about the file from here.
        self.save_meta()
    }

    fn save_meta(&mut self) -> Result<(), SessionError> {
        let result = write_meta(&self.dir, &self.meta);
        self.fail_on_err(result)
    }

    fn sync_if_due(&mut self) -> Result<(), SessionError> {
        match self.unsynced_since {
            Some(t) if t.elapsed() >= SYNC_EVERY => self.sync_now(),
            _ => Ok(()),
        }
    }

    fn sync_now(&mut self) -> Result<(), SessionError> {
        if self.unsynced_since.is_none() {
            return Ok(());
        }
        let result = self.sync_files();
        self.fail_on_err(result)?;
        self.unsynced_since = None;
        Ok(())
    }

    fn sync_files(&mut self) -> Result<(), SessionError> {
        let dir = &self.dir;
        let err = |name: &str| {
            let path = dir.join(name);
            move |source| SessionError::Write {
                path,
                cause: source,
            }
        };
        self.timeline.sync_data().map_err(err(TIMELINE_FILE))?;
        self.events.sync_data().map_err(err(EVENTS_FILE))?;
        if let Some(audio) = self.audio.as_mut() {
            let name = audio.files.last().cloned().unwrap_or_default();
            audio.wav.sync().map_err(err(&name))?;
        }
        Ok(())
    }
}

impl Drop for SessionWriter {
    /// A writer dropped without [`SessionWriter::close`] leaves the session "running",
    /// which readers show as interrupted; what was logged is made durable first.
    fn drop(&mut self) {
        if self.meta.status == WrittenStatus::Running && self.failed.is_none() {
            let _ = self.sync_files();
        }
    }
}

/// `<base>`, or `<base>-2`, `<base>-3`… when sessions start in the same second. The
/// directory is created here, so two processes can never pick the same one.
fn new_session_dir(root: &Path, base: &str) -> Result<(String, PathBuf), SessionError> {
    for n in 1..=1000 {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let dir = root.join(&id);
        match durable::create_new_private_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(SessionError::CreateDir {
                    path: dir,
                    cause: source,
                });
            }
        }
    }
    Err(SessionError::CreateDir {
        path: root.join(base),
        cause: std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a thousand sessions already started in this second",
        ),
    })
}

fn write_meta(dir: &Path, meta: &SessionMeta) -> Result<(), SessionError> {
    let path = dir.join(META_FILE);
    let mut text = serde_json::to_string_pretty(meta).unwrap_or_default();
    text.push('\n');
    durable::write_atomic(&path, text.as_bytes()).map_err(|source| SessionError::Write {
        path,
        cause: source,
    })
}

fn to_line<T: serde::Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail (string keys, finite or null floats).
    serde_json::to_string(value).unwrap_or_default()
}

/// One `write` of the whole line: a killed process never leaves half of it.
fn write_line(file: &mut File, line: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf)
}

fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates or
        // truncates within it.
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if r == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    String::new()
}

/// This boot's id (Linux); `None` elsewhere.
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// This machine's host name.
pub(crate) fn this_host() -> String {
    hostname()
}
