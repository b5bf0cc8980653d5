//! The emotion panel's state: the latest window's verdict, and the tracker that tells a
//! change of the prevailing emotion from a flicker (each change becomes a log line).

use super::{Latest, LogEntry, LogKind};
use crate::emotion::{CHANGE_HOLD_S, ChangeTracker, hold_windows};
use crate::engine::{DEFAULT_HOP_S, Outcome, WindowResult};

#[derive(Debug, Clone)]
pub struct EmotionState {
    latest: Latest,
    /// The engine's hop, which sets how many windows make a change.
    hop_s: f64,
    changes: ChangeTracker,
    /// Index of the latest window, for latency logging.
    latest_window: Option<u64>,
}

impl Default for EmotionState {
    fn default() -> Self {
        EmotionState {
            latest: Latest::Waiting,
            hop_s: DEFAULT_HOP_S,
            changes: ChangeTracker::new(hold_windows(CHANGE_HOLD_S, DEFAULT_HOP_S)),
            latest_window: None,
        }
    }
}

impl EmotionState {
    /// An engine started (`first`: the monitor's first). Nothing is heard yet; the
    /// prevailing emotion carries over a restart, so a device switch is not a change,
    /// and the tracker follows a new hop.
    pub fn started(&mut self, hop_s: f64, first: bool) {
        if first || (hop_s - self.hop_s).abs() > 1e-9 {
            self.hop_s = hop_s;
            let current = self.changes.current().map(str::to_string);
            self.changes = ChangeTracker::new(hold_windows(CHANGE_HOLD_S, hop_s));
            if let Some(c) = current {
                self.changes.push(0.0, Some(&c));
            }
        }
        self.latest = Latest::Waiting;
    }

    /// A window's verdict, ending at `end_s` of session time, with `top` its label's
    /// name; returns the log line of a change of emotion it completes.
    pub fn window(&mut self, w: &WindowResult, end_s: f64, top: Option<&str>) -> Option<LogEntry> {
        self.latest = match &w.outcome {
            Outcome::NoSpeech => Latest::NoSpeech {
                speech_ratio: w.speech_ratio,
            },
            Outcome::Emotion { probs, top, affect } => Latest::Emotion {
                probs: probs.clone(),
                top: *top,
                affect: *affect,
            },
        };
        self.latest_window = Some(w.index);
        let change = self.changes.push(end_s, top)?;
        let pct = w.probs().and_then(|p| w.top().map(|t| p[t])).unwrap_or(0.0);
        let text = match &change.from {
            Some(from) => format!("{from} → {} ({:.0}%)", change.to, pct * 100.0),
            None => format!("{} ({:.0}%)", change.to, pct * 100.0),
        };
        Some(LogEntry {
            t: change.t,
            kind: LogKind::Emotion,
            text,
        })
    }

    /// What the model said about the latest window.
    pub fn latest(&self) -> &Latest {
        &self.latest
    }

    /// The latest window's speech verdict (`None` before the first).
    pub fn speech(&self) -> Option<bool> {
        match self.latest {
            Latest::Waiting => None,
            Latest::NoSpeech { .. } => Some(false),
            Latest::Emotion { .. } => Some(true),
        }
    }

    /// Index of the latest window shown.
    pub fn latest_window(&self) -> Option<u64> {
        self.latest_window
    }
}
