//! What a command that runs the engine does with its output besides showing it: the
//! session writer, the recorder and the kept audio, fed in one order, with one record of
//! whether the session's storage failed.
//!
//! ```text
//! engine ──events──▶ Consumers::on_event ──▶ session writer, then recorder
//!        ──tap─────▶ Consumers::drain_tap ─▶ recorder, then the session's kept audio
//! ```
//!
//! The monitor and `listen` own one each and keep only their own input and output (the
//! screen and keys; standard output and `--duration`). After the session's first failed
//! write nothing more is written to it (the writer keeps its files as they are); the
//! caller hears about that failure once, as the `Err` of the call that met it, and reads
//! it again from [`Consumers::storage_error`].

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use crate::engine::{AudioChunk, Event};
use crate::recording::{Recorder, RecordingError, SavedRecording};
use crate::session::{EndCause, SessionError, SessionWriter, Summary};

/// The consumers of one engine run (and of the runs after a device change).
pub struct Consumers {
    session: Option<SessionWriter>,
    recorder: Option<Recorder>,
    tap: Option<Receiver<AudioChunk>>,
    /// Source audio kept in the session up to this many seconds (`listen --duration`).
    keep_limit_s: Option<f64>,
    frames_kept: u64,
}

/// A session closed by [`Consumers::close`].
pub struct Closed {
    pub id: String,
    pub dir: PathBuf,
    /// The first failed write that stopped the session, if one did.
    pub storage_error: Option<String>,
    pub summary: Result<Summary, SessionError>,
}

impl Closed {
    /// The session's summary, or what stopped it: the first failed write, else the
    /// failure to close it.
    pub fn outcome(self) -> Result<Summary, String> {
        match (self.storage_error, self.summary) {
            (None, Ok(summary)) => Ok(summary),
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(e.to_string()),
        }
    }
}

impl Consumers {
    /// `tap` carries the engine's source audio, for the recorder and the kept audio.
    pub fn new(
        session: Option<SessionWriter>,
        recorder: Option<Recorder>,
        tap: Option<Receiver<AudioChunk>>,
    ) -> Consumers {
        Consumers {
            session,
            recorder,
            tap,
            keep_limit_s: None,
            frames_kept: 0,
        }
    }

    /// Keeps no source audio past `seconds` in the session.
    pub fn keep_audio_until(mut self, seconds: Option<f64>) -> Consumers {
        self.keep_limit_s = seconds;
        self
    }

    pub fn session(&self) -> Option<&SessionWriter> {
        self.session.as_ref()
    }

    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    pub fn recorder_mut(&mut self) -> Option<&mut Recorder> {
        self.recorder.as_mut()
    }

    /// A new recorder (a new engine's frame numbers start at 0), or none.
    pub fn set_recorder(&mut self, recorder: Option<Recorder>) {
        self.recorder = recorder;
    }

    /// Why the session stopped being written, once it did.
    pub fn storage_error(&self) -> Option<&str> {
        self.session.as_ref().and_then(SessionWriter::failure)
    }

    /// An engine event: to the session (unless its storage failed), then the recorder.
    pub fn on_event(&mut self, event: &Event) -> Result<(), SessionError> {
        let result = self.with_session(|w| w.on_event(event)).map(|_| ());
        if let Some(r) = &mut self.recorder {
            r.on_event(event);
        }
        result
    }

    /// The audio the tap holds: to the recorder, then the session's kept audio (cut at
    /// the keep limit).
    pub fn drain_tap(&mut self) -> Result<(), SessionError> {
        let Some(tap) = &self.tap else { return Ok(()) };
        let mut result = Ok(());
        for mut chunk in tap.try_iter() {
            if let Some(r) = &mut self.recorder {
                r.feed(&chunk);
            }
            let Some(w) = &mut self.session else { continue };
            if w.failure().is_some() {
                continue;
            }
            let channels = u64::from(chunk.channels.max(1));
            if let Some(limit) = self.keep_limit_s {
                let max = (limit * f64::from(chunk.sample_rate)).round() as u64;
                let room = max.saturating_sub(self.frames_kept);
                if chunk.samples.len() as u64 / channels > room {
                    chunk.samples.truncate((room * channels) as usize);
                }
            }
            self.frames_kept += chunk.samples.len() as u64 / channels;
            if let Err(e) = w.on_audio(&chunk) {
                result = Err(e);
            }
        }
        result
    }

    /// Runs `f` on the session: `Ok(false)` when there is none or its storage failed.
    pub fn with_session(
        &mut self,
        f: impl FnOnce(&mut SessionWriter) -> Result<(), SessionError>,
    ) -> Result<bool, SessionError> {
        match &mut self.session {
            Some(w) if w.failure().is_none() => f(w).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Stops the recording in progress, if there is one: the audio already in the tap
    /// goes into it first, and a saved clip is logged in the session.
    pub fn stop_recording(
        &mut self,
    ) -> Option<(
        Result<SavedRecording, RecordingError>,
        Result<(), SessionError>,
    )> {
        if !self.recorder.as_ref().is_some_and(Recorder::is_recording) {
            return None;
        }
        let drained = self.drain_tap();
        let saved = self.recorder.as_mut()?.stop();
        let logged = match &saved {
            Ok(s) => self
                .with_session(|w| {
                    w.recording_saved(&s.entry.file, &s.entry.label, &s.recordings_dir)
                })
                .map(|_| ()),
            Err(_) => Ok(()),
        };
        Some((saved, drained.and(logged)))
    }

    /// Closes the session, if there is one, with `cause` (or with the storage failure
    /// that stopped it).
    pub fn close(self, cause: &EndCause) -> Option<Closed> {
        let w = self.session?;
        let (id, dir) = (w.id().to_string(), w.dir().to_path_buf());
        let storage_error = w.failure().map(str::to_owned);
        Some(Closed {
            id,
            dir,
            storage_error,
            summary: w.close_with(cause),
        })
    }
}
