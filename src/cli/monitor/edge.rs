//! What the monitor's loop owns besides the app, and what it does for it: engine
//! events to the session writer and the recorder, the app's commands carried out,
//! devices switched and lost ones looked for again.

use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use emotty::audio::capture;
use emotty::consumers::Consumers;
use emotty::engine::{AnalysisConfig, AudioChunk, EndReason, Engine, Event, SourceKind};
use emotty::model::Model;
use emotty::recording::{Recorder, RecorderConfig};
use emotty::session::{ModelRecord, SessionWriter};
use emotty::ui::app::{DeviceEntry, LogKind, SourceState};
use emotty::ui::{App, Command};

use super::super::output::heard;
use super::latency::{LatencyLog, Pending};
use super::{RETRY_LOST, RETRY_NONE, start_engine};

/// The live source: the engine and where it reads from.
pub(super) struct Live {
    pub(super) engine: Engine,
    /// What to reopen after a loss (`None`: the default device).
    pub(super) wanted: Option<String>,
    pub(super) kind: SourceKind,
}

/// Everything the loop owns besides the app.
pub(super) struct Edge {
    pub(super) model: Arc<Model>,
    pub(super) config: AnalysisConfig,
    pub(super) live: Option<Live>,
    pub(super) tap_tx: Sender<AudioChunk>,
    /// The session writer, the recorder and the tap's audio.
    pub(super) consumers: Consumers,
    pub(super) recorder_config: Option<RecorderConfig>,
    /// A microphone to look for again, and when.
    pub(super) retry: Option<(Option<String>, Instant)>,
    pub(super) input_ended: bool,
    /// Why the analysis of the current source failed, if it did: recorded as the
    /// session's end and the exit status, as `listen` does.
    pub(super) failed: Option<String>,
    pub(super) latency: Option<LatencyLog>,
}

impl Edge {
    pub(super) fn drain_tap(&mut self, app: &mut App) {
        let result = self.consumers.drain_tap();
        told(app, result);
    }

    pub(super) fn on_event(&mut self, app: &mut App, e: &Event, pending: &mut Vec<Pending>) {
        let result = self.consumers.on_event(e);
        told(app, result);
        app.on_event(e);
        match e {
            Event::Started(s) => {
                if let Some(log) = &mut self.latency {
                    log.started = Some(s.started_at);
                }
            }
            Event::Window(w) if !app.paused => {
                if let Some(log) = &self.latency
                    && let Some(t0) = log.started
                {
                    pending.push(Pending {
                        index: w.index,
                        end_s: w.end_s,
                        audio_end: t0 + Duration::from_secs_f64(w.end_s.max(0.0)),
                        emitted: w.emitted_at,
                    });
                }
            }
            Event::Ended(reason) => {
                // A clip in progress keeps what it has.
                self.stop_recording(app);
                let live = self.live.take();
                match reason {
                    EndReason::EndOfInput => self.input_ended = true,
                    EndReason::Failed(m) => self.failed = Some(m.clone()),
                    EndReason::DeviceLost(m) => {
                        // The session keeps the loss as an event, not only as the end
                        // reason: the monitor goes on, and the device may come back.
                        let warning = Event::Warning {
                            message: format!("device lost: {m}"),
                        };
                        let result = self.consumers.with_session(|w| w.on_event(&warning));
                        told(app, result);
                        if let Some(l) = &live
                            && l.kind == SourceKind::Microphone
                        {
                            self.retry = Some((l.wanted.clone(), Instant::now() + RETRY_LOST));
                        }
                    }
                    _ => {}
                }
                drop(live);
            }
            _ => {}
        }
    }

    pub(super) fn execute(&mut self, app: &mut App, cmd: Command) {
        match cmd {
            Command::Quit => {}
            Command::Marker(label) => {
                let saved = self.with_session(app, |w| w.marker(&label));
                app.marker_logged(&label, saved);
            }
            Command::Note(text) => {
                let saved = self.with_session(app, |w| w.note(&text));
                app.note_logged(&text, saved);
            }
            Command::Pause => {
                self.with_session(app, |w| w.pause());
            }
            Command::ResetAdaptation => {
                if let Some(l) = &self.live {
                    l.engine.reset_adaptation();
                }
            }
            Command::Resume => {
                self.with_session(app, |w| w.resume());
            }
            Command::StartRecording(label) => {
                if self.live.is_none() {
                    app.log(LogKind::Error, "nothing to record: no audio source");
                    return;
                }
                let Some(r) = self.consumers.recorder_mut() else {
                    app.log(LogKind::Error, "recordings are not available");
                    return;
                };
                match r
                    .check_writable()
                    .and_then(|()| r.start(&label, None, None))
                {
                    Ok(()) => app.recording_started(&label),
                    Err(e) => app.log(LogKind::Error, format!("cannot record: {e}")),
                }
            }
            Command::StopRecording => self.stop_recording(app),
            Command::DiscardRecording => {
                if let Some(r) = self.consumers.recorder_mut()
                    && r.is_recording()
                {
                    r.cancel();
                    app.recording_ended(LogKind::Info, "recording discarded");
                }
            }
            Command::ListDevices => {
                let list = match capture::list_input_devices() {
                    Ok(devices) => capture::usable(&devices)
                        .map(|d| DeviceEntry {
                            name: d.name.clone(),
                            id: d.id.clone(),
                            detail: format!(
                                "{} ch, {} Hz",
                                d.channels.unwrap_or(0),
                                d.sample_rate.unwrap_or(0)
                            ),
                            is_default: d.is_default,
                        })
                        .collect(),
                    Err(e) => {
                        app.log(LogKind::Error, e.to_string());
                        Vec::new()
                    }
                };
                app.show_devices(list);
            }
            Command::SwitchDevice { id, name } => self.switch_device(app, &id, &name),
        }
    }

    /// Runs `f` on the session; false when there is none or it failed.
    fn with_session(
        &mut self,
        app: &mut App,
        f: impl FnOnce(&mut SessionWriter) -> Result<(), emotty::session::SessionError>,
    ) -> bool {
        let result = self.consumers.with_session(f);
        told(app, result).unwrap_or(false)
    }

    pub(super) fn stop_recording(&mut self, app: &mut App) {
        let Some((saved, logged)) = self.consumers.stop_recording() else {
            return;
        };
        told(app, logged);
        match saved {
            Ok(saved) => {
                let e = &saved.entry;
                let heard = heard(e.prediction.as_ref());
                let text = format!("saved {} ({:.1} s, {heard})", e.file, e.duration);
                app.recording_ended(LogKind::Recording, text);
            }
            Err(e) => app.recording_ended(LogKind::Error, format!("recording not saved: {e}")),
        }
    }

    /// A fresh recorder for a new engine: its frame numbers and times start at 0.
    pub(super) fn new_recorder(&mut self, app: &mut App) {
        let recorder = match &self.recorder_config {
            Some(cfg) => {
                match Recorder::new(cfg.clone(), Some(ModelRecord::from_info(self.model.info()))) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        app.recording_unavailable = Some(e.to_string());
                        None
                    }
                }
            }
            None => None,
        };
        self.consumers.set_recorder(recorder);
    }

    fn switch_device(&mut self, app: &mut App, id: &str, name: &str) {
        if app.source.as_ref().is_some_and(|s| s.name == name) && self.live.is_some() {
            app.log(LogKind::Info, format!("already on {name}"));
            return;
        }
        self.stop_recording(app);
        // The old stream goes first: many ALSA devices take one reader at a time.
        let previous = self.live.take().map(|l| (l.wanted, l.kind));
        self.drain_tap(app);
        let wanted = if id.is_empty() { name } else { id };
        match self.open_microphone(app, Some(wanted.to_string())) {
            Ok(()) => {}
            Err(Unopened::Start(e)) => app.log(LogKind::Error, format!("cannot use {name}: {e:#}")),
            Err(Unopened::Open(e)) => {
                app.log(LogKind::Error, format!("cannot open {name}: {e}"));
                // Back to the microphone we had, if it was one.
                if let Some((w, SourceKind::Microphone)) = previous {
                    self.retry = Some((w, Instant::now()));
                } else if app.source.is_none() {
                    app.no_device(e);
                }
            }
        }
    }

    /// Opens a microphone (`wanted`, or the default) and starts a new engine on it, with
    /// a new recorder; the session goes on.
    fn open_microphone(&mut self, app: &mut App, wanted: Option<String>) -> Result<(), Unopened> {
        let (feed, guard) =
            capture::open(wanted.as_deref()).map_err(|e| Unopened::Open(e.to_string()))?;
        let live = start_engine(feed, guard, &self.model, &self.config, &self.tap_tx, wanted)
            .map_err(Unopened::Start)?;
        self.live = Some(live);
        self.retry = None;
        self.input_ended = false;
        self.failed = None;
        self.new_recorder(app);
        Ok(())
    }

    pub(super) fn tick(&mut self, app: &mut App) {
        let result = self.consumers.with_session(SessionWriter::tick);
        told(app, result);
        if self.consumers.recorder().is_some_and(Recorder::is_full) {
            self.stop_recording(app);
        }
        if self.live.is_none()
            && let Some((wanted, at)) = &self.retry
            && Instant::now() >= *at
        {
            let wanted = wanted.clone();
            match self.open_microphone(app, wanted.clone()) {
                Ok(()) => {}
                Err(Unopened::Start(e)) => {
                    app.log(LogKind::Error, format!("{e:#}"));
                    self.retry = None;
                }
                Err(Unopened::Open(_)) => {
                    let every = if matches!(app.source_state, SourceState::Lost(_)) {
                        RETRY_LOST
                    } else {
                        RETRY_NONE
                    };
                    self.retry = Some((wanted, Instant::now() + every));
                }
            }
        }
    }
}

/// Why a microphone did not become the source: it could not be opened (say, gone), or
/// the engine could not start on it (a rate it cannot take).
enum Unopened {
    Open(String),
    Start(anyhow::Error),
}

/// Tells the app when the session's storage has just failed; the value otherwise.
fn told<T>(app: &mut App, result: Result<T, emotty::session::SessionError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            app.session_failed(&e.to_string());
            None
        }
    }
}
