//! The monitor's state: everything the screen shows, fed by engine events and keys.
//!
//! Pure on purpose: no terminal, no files, no clocks of its own. The edge
//! (`emotty`'s `monitor` command) feeds it [`Event`]s, key presses and the outcome of
//! what it asked for ([`Command`]s: save a marker, start a recording, switch the
//! device), and draws it when [`App::redraw`] says something changed. That keeps
//! every behaviour of the monitor testable without a terminal, and keeps the UI from
//! ever reaching into the engine.

mod emotion;
mod keys;
mod log;
mod spectrogram;
mod status;
mod timeline;

pub use emotion::EmotionState;
pub use keys::{Action, BINDINGS, Binding, action_of};
pub use log::LogState;
pub use spectrogram::{FRAMES_PER_COLUMN, SpectrogramState};
pub use status::StatusState;
pub use timeline::{TimelineState, ZOOM_STEPS};

use crate::engine::{EndReason, Event, SessionClock, SourceInfo};

/// What the app asks the edge to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// Log a marker in the session.
    Marker(String),
    /// Log a note in the session.
    Note(String),
    /// Pause or resume the session's timeline.
    Pause,
    Resume,
    /// Start a labeled recording (one of the eight labels).
    StartRecording(String),
    /// Stop and save the recording.
    StopRecording,
    /// Stop the recording without saving it.
    DiscardRecording,
    /// Fetch the device list (answer with [`App::show_devices`]).
    ListDevices,
    /// Capture from this device instead (its cpal id, or its name).
    SwitchDevice {
        id: String,
        name: String,
    },
    /// Forget the voice the stream has adapted to.
    ResetAdaptation,
}

/// An input device as the picker shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEntry {
    pub name: String,
    pub id: String,
    pub detail: String,
    pub is_default: bool,
}

/// A window on top of the main screen, which takes the keys while open.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help,
    /// Typing a note.
    Note(String),
    /// `r` was pressed: waiting for the label key.
    ChooseLabel,
    /// The device list (`None` until the edge has listed the devices).
    Devices {
        list: Option<Vec<DeviceEntry>>,
        selected: usize,
    },
    /// Quit asked while recording.
    ConfirmQuit,
}

/// The state of the audio source, for the status line and the no-device screen.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceState {
    /// Opening; nothing heard yet.
    Starting,
    Running,
    /// No device could be opened; the message says why and what to do.
    NoDevice(String),
    /// The device went away; the edge retries.
    Lost(String),
    /// A file or pipe ended.
    Ended,
    /// The engine failed.
    Failed(String),
}

/// What the model said about the latest window.
#[derive(Debug, Clone, PartialEq)]
pub enum Latest {
    /// No window yet.
    Waiting,
    NoSpeech {
        speech_ratio: f32,
    },
    Emotion {
        probs: Vec<f32>,
        top: usize,
        /// Arousal and valence, from models that rate them.
        affect: Option<crate::model::Affect>,
    },
}

/// How soon the screen needs redrawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Redraw {
    None,
    /// Only the spectrogram or the level moved: a slower frame rate will do.
    Moving,
    /// A key, a log line: within a frame.
    Urgent,
    /// A new window's verdict: at once, so the bars follow the audio closely. Windows
    /// come a hop apart (0.5 s), so this adds two frames a second at most.
    Now,
}

/// One timeline point: a window's end (session time) and its top label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub end_s: f64,
    /// `None`: no speech.
    pub top: Option<u8>,
}

/// What a log line is about (its symbol and colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Info,
    Emotion,
    Marker,
    Note,
    Recording,
    Device,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Session time (seconds of audio) when it happened.
    pub t: f64,
    pub kind: LogKind,
    pub text: String,
}

/// A recording in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub label: String,
    /// Session time at the start.
    pub since_s: f64,
}

/// Fixed facts about the run.
#[derive(Debug, Clone)]
pub struct AppSetup {
    /// Labels, until the engine says (the model's).
    pub labels: Vec<String>,
    pub model_name: String,
    pub emoji: bool,
    /// Why recordings cannot be made, if they cannot.
    pub recording_unavailable: Option<String>,
    /// The session's id, or `None` with `--no-session`.
    pub session: Option<String>,
}

/// The whole state of the monitor. See the module docs.
#[derive(Debug, Clone)]
pub struct App {
    pub labels: Vec<String>,
    /// Whether the model rates arousal and valence (the emotion panel shows them).
    pub affect: bool,
    /// Whether the stream adapts to the voice (the `a` key starts it afresh).
    pub adapting: bool,
    pub model_name: String,
    pub source: Option<SourceInfo>,
    pub source_state: SourceState,
    pub mel_frequencies: Vec<f32>,
    /// Session time across engines (a device switch starts a new one from 0).
    clock: SessionClock,
    /// Wall-clock seconds since the monitor started, for the session clock.
    pub clock_s: u64,
    /// Each panel's own state: the emotion's verdict and changes, the status line's
    /// level, speech and drops, the spectrogram's columns, the timeline's points,
    /// pauses and zoom, the log's lines and scroll.
    pub emotion: EmotionState,
    pub status: StatusState,
    pub spectrogram: SpectrogramState,
    pub timeline: TimelineState,
    pub log: LogState,
    pub paused: bool,
    pub emoji: bool,
    pub overlay: Overlay,
    pub recording: Option<Recording>,
    pub recording_unavailable: Option<String>,
    pub session: Option<String>,
    markers: usize,
    /// Why the session stopped being written, if it did.
    pub session_error: Option<String>,
    /// A new window's verdict is not on screen yet.
    verdict: bool,
    /// Something changed that should be on screen soon (a key, a log line).
    dirty: bool,
    /// Only the moving parts changed (spectrogram, level): may wait a frame or two.
    moved: bool,
}

impl App {
    pub fn new(setup: AppSetup) -> App {
        App {
            labels: setup.labels,
            affect: false,
            adapting: false,
            model_name: setup.model_name,
            source: None,
            source_state: SourceState::Starting,
            mel_frequencies: Vec::new(),
            clock: SessionClock::default(),
            clock_s: 0,
            emotion: EmotionState::default(),
            status: StatusState::default(),
            spectrogram: SpectrogramState::default(),
            timeline: TimelineState::default(),
            log: LogState::with_page(5),
            paused: false,
            emoji: setup.emoji,
            overlay: Overlay::None,
            recording: None,
            recording_unavailable: setup.recording_unavailable,
            session: setup.session,
            markers: 0,
            session_error: None,
            verdict: false,
            dirty: true,
            moved: false,
        }
    }

    /// How soon what changed since the last [`App::drawn`] must be on screen.
    pub fn redraw(&self) -> Redraw {
        if self.verdict {
            Redraw::Now
        } else if self.dirty {
            Redraw::Urgent
        } else if self.moved {
            Redraw::Moving
        } else {
            Redraw::None
        }
    }

    /// The screen now shows the state.
    pub fn drawn(&mut self) {
        self.verdict = false;
        self.dirty = false;
        self.moved = false;
    }

    /// Text pasted into the terminal: goes into a note being typed.
    pub fn on_paste(&mut self, text: &str) {
        if let Overlay::Note(note) = &mut self.overlay {
            for c in text.chars().filter(|c| !c.is_control()) {
                if note.len() >= 500 {
                    break;
                }
                note.push(c);
            }
            self.dirty = true;
        }
    }

    /// The session could not be written any more.
    pub fn session_failed(&mut self, message: &str) {
        if self.session_error.is_none() {
            self.session_error = Some(message.to_string());
            self.log(
                LogKind::Error,
                format!("session no longer saved: {message}"),
            );
        }
    }

    /// Forces a redraw (after a resize).
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// The label names the timeline points refer to.
    pub fn label(&self, i: usize) -> &str {
        self.labels.get(i).map_or("?", String::as_str)
    }

    /// Seconds per timeline cell.
    pub fn seconds_per_cell(&self) -> f64 {
        self.timeline.seconds_per_cell()
    }

    /// Sets the wall-clock seconds since start; redraws only when the second changes.
    pub fn set_clock(&mut self, seconds: u64) {
        if seconds != self.clock_s {
            self.clock_s = seconds;
            self.dirty = true;
        }
    }

    /// Adds a line to the log. A log scrolled up stays on the lines it shows.
    pub fn log(&mut self, kind: LogKind, text: impl Into<String>) {
        // Device names, file names and error messages are data: shown escaped.
        let text: String = text.into();
        self.log.push(LogEntry {
            t: self.time_s(),
            kind,
            text: crate::text::visible(&text).into_owned(),
        });
        self.dirty = true;
    }

    /// Feeds one engine event.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Started(s) => {
                let restarted = self.clock.engine_started();
                if restarted {
                    self.log(
                        LogKind::Device,
                        format!(
                            "source: {} ({} Hz, {} ch)",
                            s.source.name, s.source.sample_rate, s.source.channels
                        ),
                    );
                }
                self.labels = s.labels.clone();
                self.affect = s.affect;
                self.adapting = s.adapting;
                self.model_name = s.model_name.clone();
                self.mel_frequencies = s.mel_frequencies.clone();
                self.emotion.started(s.hop_s, !restarted);
                self.status.started();
                if matches!(self.source_state, SourceState::Lost(_)) {
                    self.log(LogKind::Device, format!("audio is back: {}", s.source.name));
                }
                self.source = Some(s.source.clone());
                self.source_state = SourceState::Running;
                self.spectrogram.restart();
                self.dirty = true;
            }
            Event::Level(l) => {
                self.advance(l.time_s);
                let shown = !self.paused;
                self.status.level(l, self.time_s(), shown);
                self.moved |= shown;
            }
            Event::Spectrogram(c) => {
                self.advance(c.time_s);
                if self.paused {
                    return;
                }
                if self.spectrogram.push(&c.mel_db) {
                    self.moved = true;
                }
            }
            Event::Window(w) => {
                self.advance(w.end_s);
                if self.paused {
                    return;
                }
                let end_s = self.clock.session_s(w.end_s);
                self.timeline.push(Point {
                    end_s,
                    top: w.top().and_then(|t| u8::try_from(t).ok()),
                });
                let top = w.top().map(|t| self.label(t).to_string());
                if let Some(change) = self.emotion.window(w, end_s, top.as_deref()) {
                    self.log.push(change);
                }
                self.verdict = true;
            }
            Event::Stats(s) => {
                self.advance(s.time_s);
                let channels = self
                    .source
                    .as_ref()
                    .map_or(1, |s| u64::from(s.channels.max(1)));
                if let Some(frames) = self.status.dropped(s.dropped_samples, channels) {
                    self.log(
                        LogKind::Warning,
                        format!("{frames} frames of audio dropped (the analysis fell behind)"),
                    );
                }
            }
            Event::Warning { message } => self.log(LogKind::Warning, message.clone()),
            Event::Ended(reason) => {
                match reason {
                    EndReason::EndOfInput => {
                        self.source_state = SourceState::Ended;
                        self.log(LogKind::Info, "end of input");
                    }
                    EndReason::Stopped => {}
                    EndReason::DeviceLost(m) => {
                        self.source_state = SourceState::Lost(m.clone());
                        self.log(LogKind::Error, format!("device lost: {m}"));
                    }
                    EndReason::Failed(m) => {
                        self.source_state = SourceState::Failed(m.clone());
                        self.log(LogKind::Error, format!("analysis stopped: {m}"));
                    }
                }
                self.status.ended();
                self.dirty = true;
            }
        }
    }

    fn advance(&mut self, engine_time_s: f64) {
        self.clock.advance(engine_time_s);
    }

    /// Session time of the latest audio.
    pub fn time_s(&self) -> f64 {
        self.clock.now_s()
    }

    /// No source could be opened at start (or after a switch); `message` says why.
    pub fn no_device(&mut self, message: impl Into<String>) {
        let message = message.into();
        self.log(LogKind::Error, message.clone());
        self.source_state = SourceState::NoDevice(message);
        self.dirty = true;
    }

    /// The clipping mark is lit.
    pub fn clipping(&self) -> bool {
        self.status.clipping(self.time_s())
    }

    /// The edge started the recording.
    pub fn recording_started(&mut self, label: &str) {
        self.recording = Some(Recording {
            label: label.to_string(),
            since_s: self.time_s(),
        });
        self.log(LogKind::Recording, format!("recording {label}…"));
    }

    /// The recording ended (saved, discarded or failed); `text` says how.
    pub fn recording_ended(&mut self, kind: LogKind, text: impl Into<String>) {
        self.recording = None;
        self.log(kind, text);
    }

    /// Seconds recorded so far.
    pub fn recording_elapsed(&self) -> Option<f64> {
        self.recording
            .as_ref()
            .map(|r| (self.time_s() - r.since_s).max(0.0))
    }

    /// The device list for the picker.
    pub fn show_devices(&mut self, list: Vec<DeviceEntry>) {
        if let Overlay::Devices { list: l, selected } = &mut self.overlay {
            let current = self.source.as_ref().map(|s| s.name.clone());
            *selected = list
                .iter()
                .position(|d| Some(&d.name) == current.as_ref())
                .or_else(|| list.iter().position(|d| d.is_default))
                .unwrap_or(0);
            *l = Some(list);
            self.dirty = true;
        }
    }

    /// A marker the edge has logged in the session (or not: `saved` false).
    pub fn marker_logged(&mut self, label: &str, saved: bool) {
        let text = if saved {
            label.to_string()
        } else {
            format!("{label} (not saved: no session)")
        };
        self.log(LogKind::Marker, text);
    }

    pub fn note_logged(&mut self, text: &str, saved: bool) {
        let text = if saved {
            text.to_string()
        } else {
            format!("{text} (not saved: no session)")
        };
        self.log(LogKind::Note, text);
    }
}

/// "12:34.5" or "1:02:03.4" for a session time.
pub fn clock_tenths(t: f64) -> String {
    let t = t.max(0.0);
    let tenths = (t * 10.0).floor() as u64;
    let (h, m, s, d) = (
        tenths / 36000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10,
    );
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{d}")
    } else {
        format!("{m:02}:{s:02}.{d}")
    }
}

/// "00:12:34" for the session clock.
pub fn clock_hms(s: u64) -> String {
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests;
