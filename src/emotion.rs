//! The emotion vocabulary, declared once: the eight labels in the model's order, how
//! they are typed, drawn and coloured, how a clip's verdict is pooled from its windows,
//! and how a change of the prevailing emotion is told from a flicker.
//!
//! Everything that names an emotion reads it from here: the corpus layouts, the
//! recorder's labels, the monitor's keys and colours, the session exports and the
//! training archive (whose labels the training code checks against the model's
//! metadata, which is written from this list through `emotty features`).

use serde::Serialize;

use crate::engine::WindowResult;
use crate::engine::analyzer::argmax;
use crate::model::Affect;

/// The eight classes, in the order the model reports them (RAVDESS's own order).
pub const EMOTIONS: [&str; 8] = [
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
];

/// Index of a label in [`EMOTIONS`].
pub fn index(label: &str) -> Option<usize> {
    EMOTIONS.iter().position(|e| *e == label)
}

/// An emotion typed by a person: its name in any case, or its number 1–8 as on the
/// monitor's keys.
pub fn parse(s: &str) -> Option<&'static str> {
    let lower = s.trim().to_ascii_lowercase();
    if let Ok(n) = lower.parse::<usize>()
        && (1..=EMOTIONS.len()).contains(&n)
    {
        return Some(EMOTIONS[n - 1]);
    }
    EMOTIONS.iter().find(|e| **e == lower).copied()
}

/// How an emotion is shown.
struct Look {
    emoji: &'static str,
    /// A pure-ASCII face for terminals without emoji.
    face: &'static str,
    colour: Rgb,
    /// The nearest of the 16 basic terminal colours (ANSI 0–15), for terminals that
    /// have no more.
    ansi16: u8,
}

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// How each of [`EMOTIONS`] is shown, in the same order. The colours are distinct hues,
/// low-arousal emotions cool and high-arousal ones warm.
const LOOKS: [Look; 8] = [
    // neutral; 16 colours: grey
    Look {
        emoji: "😐",
        face: ":|",
        colour: (170, 170, 170),
        ansi16: 7,
    },
    // calm; 16 colours: cyan
    Look {
        emoji: "😌",
        face: ":-)",
        colour: (80, 170, 220),
        ansi16: 6,
    },
    // happy; 16 colours: yellow
    Look {
        emoji: "😄",
        face: ":D",
        colour: (250, 200, 40),
        ansi16: 3,
    },
    // sad; 16 colours: blue
    Look {
        emoji: "😢",
        face: ":(",
        colour: (70, 100, 220),
        ansi16: 4,
    },
    // angry; 16 colours: red
    Look {
        emoji: "😠",
        face: ">:(",
        colour: (230, 50, 40),
        ansi16: 1,
    },
    // fearful; 16 colours: magenta
    Look {
        emoji: "😨",
        face: "D:",
        colour: (160, 80, 200),
        ansi16: 5,
    },
    // disgust; 16 colours: green
    Look {
        emoji: "🤢",
        face: ":S",
        colour: (90, 180, 60),
        ansi16: 2,
    },
    // surprised; 16 colours: light red
    Look {
        emoji: "😲",
        face: ":O",
        colour: (255, 130, 40),
        ansi16: 9,
    },
];

fn look(label: &str) -> Option<&'static Look> {
    index(label).map(|i| &LOOKS[i])
}

/// The emoji of an emotion label.
pub fn emoji(label: &str) -> &'static str {
    look(label).map_or("🙂", |l| l.emoji)
}

/// A pure-ASCII face for terminals without emoji.
pub fn ascii_face(label: &str) -> &'static str {
    look(label).map_or(":?", |l| l.face)
}

/// Colours for the labels of a model with classes of its own, taken in turn.
const OTHERS: [Rgb; 6] = [
    (200, 120, 180),
    (110, 200, 230),
    (230, 230, 120),
    (130, 130, 240),
    (140, 220, 140),
    (220, 220, 220),
];

/// The colour of one of the eight emotions, `None` for any other label.
pub fn colour(label: &str) -> Option<Rgb> {
    look(label).map(|l| l.colour)
}

/// The 16-colour stand-in (ANSI 0–15) for one of the eight emotions' colours.
pub fn ansi16(label: &str) -> Option<u8> {
    look(label).map(|l| l.ansi16)
}

/// The colour of the `index`-th label of a model: its emotion colour, or one of a
/// few distinct others for labels that are not among the eight.
pub fn label_colour(label: &str, index: usize) -> Rgb {
    colour(label).unwrap_or(OTHERS[index % OTHERS.len()])
}

/// How long a new emotion must prevail before the monitor's log and a session's
/// changes report it, in seconds.
pub const CHANGE_HOLD_S: f64 = 1.5;

/// A change of the prevailing emotion.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// End of the first window of the new emotion, in seconds.
    pub t: f64,
    pub from: Option<String>,
    pub to: String,
}

/// Consecutive speech windows a new emotion must top before it counts as a change, at
/// the given hop: about `hold_s` seconds, and never fewer than two windows. One window
/// flickering to another emotion is noise, not a change a therapist needs to see.
pub fn hold_windows(hold_s: f64, hop_s: f64) -> usize {
    if hop_s <= 0.0 {
        return 2;
    }
    ((hold_s / hop_s).round() as usize).max(2)
}

/// Debounces the top emotion one window at a time: the monitor's log and `sessions
/// show` ([`crate::session::summary::emotion_changes`]) report the same changes at the
/// same times.
#[derive(Debug, Clone)]
pub struct ChangeTracker {
    hold: usize,
    current: Option<String>,
    /// A new emotion being confirmed: its name, the end of its first window, how many
    /// windows in a row it has topped.
    candidate: Option<(String, f64, usize)>,
}

impl ChangeTracker {
    /// `hold` windows in a row confirm a change (see [`hold_windows`]).
    pub fn new(hold: usize) -> ChangeTracker {
        ChangeTracker {
            hold: hold.max(1),
            current: None,
            candidate: None,
        }
    }

    /// The prevailing emotion, once one is confirmed.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Feeds a window ending at `end_s` with its top emotion (`None`: no speech);
    /// returns the change it confirms, if any.
    pub fn push(&mut self, end_s: f64, emotion: Option<&str>) -> Option<Change> {
        let e = emotion?;
        if Some(e) == self.current.as_deref() {
            self.candidate = None;
            return None;
        }
        let (since, count) = match &self.candidate {
            Some((c, since, n)) if c == e => (*since, n + 1),
            _ => (end_s, 1),
        };
        if count >= self.hold {
            let change = Change {
                t: since,
                from: self.current.take(),
                to: e.to_string(),
            };
            self.current = Some(e.to_string());
            self.candidate = None;
            Some(change)
        } else {
            self.candidate = Some((e.to_string(), since, count));
            None
        }
    }
}

/// The clip-level emotion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub probs: Vec<f32>,
    pub top: usize,
    /// Arousal and valence, weighted like the probabilities, from models that rate them.
    pub affect: Option<Affect>,
}

/// A stretch of audio's verdict from its windows: the mean of the speech windows'
/// probabilities (and arousal and valence), each window weighted by its speech ratio,
/// so windows with more speech say more and no-speech windows say nothing; the top
/// label the first on ties. `None` if no window had speech. `classify`'s clips and the
/// recorder's "what the model heard" both use it. A session's dominant emotion is a
/// different question, speech time per top label (`session::summary`), and says so.
pub fn verdict<'a>(windows: impl IntoIterator<Item = &'a WindowResult>) -> Option<Verdict> {
    let mut sum: Vec<f64> = Vec::new();
    let mut affect_sum = [0.0f64; 2];
    let mut weight = 0.0f64;
    let mut affect_weight = 0.0f64;
    for w in windows {
        if let Some(probs) = w.probs() {
            if sum.is_empty() {
                sum = vec![0.0; probs.len()];
            }
            let wt = f64::from(w.speech_ratio.max(1e-3));
            for (s, p) in sum.iter_mut().zip(probs) {
                *s += wt * f64::from(*p);
            }
            weight += wt;
            if let Some(a) = w.affect() {
                affect_sum[0] += wt * f64::from(a.arousal);
                affect_sum[1] += wt * f64::from(a.valence);
                affect_weight += wt;
            }
        }
    }
    if weight == 0.0 {
        return None;
    }
    let probs: Vec<f32> = sum.iter().map(|s| (s / weight) as f32).collect();
    let top = argmax(&probs);
    let affect = (affect_weight > 0.0).then(|| Affect {
        arousal: (affect_sum[0] / affect_weight) as f32,
        valence: (affect_sum[1] / affect_weight) as f32,
    });
    Some(Verdict { probs, top, affect })
}

#[cfg(test)]
mod tests;
