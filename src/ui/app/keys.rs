//! The keys: the binding table the help overlay is drawn from, and what each key
//! does to the app's state (the main screen's actions and each overlay's own keys).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Command, LogKind, Overlay};

/// What a key does. The key table [`BINDINGS`] maps keys to these; the help overlay
/// is drawn from the same table, so it lists exactly the bindings in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Help,
    Quit,
    Pause,
    Marker,
    Note,
    Record,
    Devices,
    Adapt,
    Emoji,
    ZoomIn,
    ZoomOut,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    LogEnd,
}

/// One line of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    pub action: Action,
}

/// Every binding of the main screen, in the order the help shows them.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "? F1",
        what: "this help",
        action: Action::Help,
    },
    Binding {
        keys: "q Ctrl-C",
        what: "quit (asks first while recording)",
        action: Action::Quit,
    },
    Binding {
        keys: "Space",
        what: "pause / resume the display and the session",
        action: Action::Pause,
    },
    Binding {
        keys: "m",
        what: "drop a marker",
        action: Action::Marker,
    },
    Binding {
        keys: "n",
        what: "type a note into the log",
        action: Action::Note,
    },
    Binding {
        keys: "r",
        what: "start a labeled recording (then 1-8), or stop it",
        action: Action::Record,
    },
    Binding {
        keys: "d",
        what: "choose the input device",
        action: Action::Devices,
    },
    Binding {
        keys: "a",
        what: "a new voice: start adapting afresh",
        action: Action::Adapt,
    },
    Binding {
        keys: "e",
        what: "emoji on / off",
        action: Action::Emoji,
    },
    Binding {
        keys: "+ -",
        what: "zoom the timeline in / out",
        action: Action::ZoomIn,
    },
    Binding {
        keys: "Up Down",
        what: "scroll the log a line",
        action: Action::ScrollUp,
    },
    Binding {
        keys: "PgUp PgDn",
        what: "scroll the log a page",
        action: Action::PageUp,
    },
    Binding {
        keys: "End",
        what: "back to the newest log line",
        action: Action::LogEnd,
    },
];

/// The action of a key on the main screen.
pub fn action_of(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        _ if ctrl => return None,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char(' ') => Action::Pause,
        KeyCode::Char('m') => Action::Marker,
        KeyCode::Char('n') => Action::Note,
        KeyCode::Char('r') => Action::Record,
        KeyCode::Char('d') => Action::Devices,
        KeyCode::Char('a') => Action::Adapt,
        KeyCode::Char('e') => Action::Emoji,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::ZoomIn,
        KeyCode::Char('-') | KeyCode::Char('_') => Action::ZoomOut,
        KeyCode::Up => Action::ScrollUp,
        KeyCode::Down => Action::ScrollDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::End => Action::LogEnd,
        _ => return None,
    })
}

impl App {
    /// Handles a key press; returns what the edge must do.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        self.dirty = true;
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => {}
            Overlay::Help => {
                // Any key closes the help; the quit keys also quit.
                return match action_of(&key) {
                    Some(Action::Quit) => self.quit(),
                    _ => Vec::new(),
                };
            }
            Overlay::Note(mut text) => {
                match key.code {
                    _ if ctrl_c => {}
                    KeyCode::Esc => {}
                    KeyCode::Enter => {
                        let text = text.trim().to_string();
                        if !text.is_empty() {
                            return vec![Command::Note(text)];
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                        self.overlay = Overlay::Note(text);
                    }
                    KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        self.overlay = Overlay::Note(String::new());
                    }
                    KeyCode::Char(c) if !c.is_control() => {
                        if text.len() < 500 {
                            text.push(c);
                        }
                        self.overlay = Overlay::Note(text);
                    }
                    _ => self.overlay = Overlay::Note(text),
                }
                return Vec::new();
            }
            Overlay::ChooseLabel => {
                if let KeyCode::Char(c) = key.code
                    && let Some(d) = c.to_digit(10)
                    && (1..=8).contains(&d)
                    && !ctrl_c
                {
                    let label = crate::emotion::EMOTIONS[d as usize - 1];
                    return vec![Command::StartRecording(label.to_string())];
                }
                // Esc, r or anything else: no recording.
                return Vec::new();
            }
            Overlay::Devices { list, mut selected } => {
                let n = list.as_ref().map_or(0, Vec::len);
                match key.code {
                    _ if ctrl_c => return Vec::new(),
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('d') => return Vec::new(),
                    KeyCode::Up | KeyCode::Char('k') => selected = selected.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => {
                        selected = (selected + 1).min(n.saturating_sub(1))
                    }
                    KeyCode::Enter => {
                        if let Some(d) = list.as_ref().and_then(|l| l.get(selected)) {
                            return vec![Command::SwitchDevice {
                                id: d.id.clone(),
                                name: d.name.clone(),
                            }];
                        }
                        return Vec::new();
                    }
                    _ => {}
                }
                self.overlay = Overlay::Devices { list, selected };
                return Vec::new();
            }
            Overlay::ConfirmQuit => {
                return match key.code {
                    KeyCode::Char('y') | KeyCode::Char('s') => {
                        vec![Command::StopRecording, Command::Quit]
                    }
                    KeyCode::Char('d') => vec![Command::DiscardRecording, Command::Quit],
                    _ => Vec::new(),
                };
            }
        }
        let Some(action) = action_of(&key) else {
            return Vec::new();
        };
        match action {
            Action::Help => self.overlay = Overlay::Help,
            Action::Quit => return self.quit(),
            Action::Pause => {
                self.paused = !self.paused;
                if self.paused {
                    let now = self.time_s();
                    self.timeline.paused_at(now);
                    self.log(LogKind::Info, "paused");
                    return vec![Command::Pause];
                }
                let now = self.time_s();
                self.timeline.resumed_at(now);
                self.log(LogKind::Info, "resumed");
                return vec![Command::Resume];
            }
            Action::Marker => {
                self.markers += 1;
                return vec![Command::Marker(format!("marker {}", self.markers))];
            }
            Action::Note => self.overlay = Overlay::Note(String::new()),
            Action::Record => {
                if self.recording.is_some() {
                    return vec![Command::StopRecording];
                }
                match &self.recording_unavailable {
                    Some(why) => {
                        let why = why.clone();
                        self.log(LogKind::Error, format!("cannot record: {why}"));
                    }
                    None => self.overlay = Overlay::ChooseLabel,
                }
            }
            Action::Devices => {
                self.overlay = Overlay::Devices {
                    list: None,
                    selected: 0,
                };
                return vec![Command::ListDevices];
            }
            Action::Adapt => {
                if self.adapting {
                    self.log(
                        LogKind::Info,
                        "adapting afresh to the voice heard from now on",
                    );
                    return vec![Command::ResetAdaptation];
                }
                self.log(
                    LogKind::Info,
                    "this model does not adapt to the voice (or --adapt off)",
                );
            }
            Action::Emoji => self.emoji = !self.emoji,
            Action::ZoomIn => self.timeline.zoom_in(),
            Action::ZoomOut => self.timeline.zoom_out(),
            Action::ScrollUp => self.log.scroll_by(1),
            Action::ScrollDown => self.log.scroll_by(-1),
            Action::PageUp => self.log.page_up(),
            Action::PageDown => self.log.page_down(),
            Action::LogEnd => self.log.to_newest(),
        }
        Vec::new()
    }

    fn quit(&mut self) -> Vec<Command> {
        if self.recording.is_some() {
            self.overlay = Overlay::ConfirmQuit;
            Vec::new()
        } else {
            vec![Command::Quit]
        }
    }
}
