//! What a session amounts to: speech time per emotion, and when the emotion changed.
//!
//! The same code runs when the writer closes a session and when a reader looks at an
//! interrupted one, so `sessions show` gives the same figures either way.
//!
//! Each timeline row stands for the audio since the previous row (one hop), not for its
//! whole window: windows overlap, and counting each one's full length would count every
//! second several times. Its speech time is that stretch times the window's speech
//! ratio, and that speech time goes to the row's top emotion.

use super::format::{EventKind, EventRecord, Summary, TimelineRow};
use crate::emotion::{Change, ChangeTracker};

/// Builds a [`Summary`] from rows and events as they come.
#[derive(Debug, Clone, Default)]
pub struct SummaryBuilder {
    hop_s: Option<f64>,
    prev_end: Option<f64>,
    started: bool,
    pause_at: Option<f64>,
    last_t: f64,
    s: Summary,
}

impl SummaryBuilder {
    /// `hop_s` caps the stretch one row stands for (after a pause or a gap, the time
    /// since the previous row is not the row's).
    pub fn new(hop_s: Option<f64>) -> SummaryBuilder {
        SummaryBuilder {
            hop_s,
            ..SummaryBuilder::default()
        }
    }

    /// Sets the hop once it is known (the engine announces it after the writer starts).
    pub fn set_hop(&mut self, hop_s: Option<f64>) {
        self.hop_s = hop_s;
    }

    pub fn row(&mut self, row: &TimelineRow) {
        let stretch = match self.prev_end {
            Some(prev) => (row.end_s - prev).max(0.0),
            None if !self.started => (row.end_s - row.start_s).max(0.0),
            // The first row after a pause.
            None => self.hop_s.unwrap_or(row.end_s - row.start_s).max(0.0),
        };
        let stretch = match (self.started, self.hop_s) {
            (true, Some(hop)) => stretch.min(hop),
            _ => stretch,
        };
        self.started = true;
        self.prev_end = Some(row.end_s);
        self.last_t = self.last_t.max(row.end_s);
        self.s.windows += 1;
        let speech = stretch * f64::from(row.speech_ratio.clamp(0.0, 1.0));
        self.s.speech_s += speech;
        if let Some(e) = &row.emotion {
            *self.s.emotion_s.entry(e.clone()).or_insert(0.0) += speech;
        }
    }

    pub fn event(&mut self, e: &EventRecord) {
        self.last_t = self.last_t.max(e.t);
        match &e.kind {
            EventKind::Marker { .. } => self.s.markers += 1,
            EventKind::Note { .. } => self.s.notes += 1,
            EventKind::Recording { .. } => self.s.recordings += 1,
            EventKind::Pause if self.pause_at.is_none() => self.pause_at = Some(e.t),
            EventKind::Resume => {
                if let Some(at) = self.pause_at.take() {
                    self.s.paused_s += (e.t - at).max(0.0);
                }
                self.prev_end = None;
            }
            _ => {}
        }
    }

    /// The summary of a session that covered `duration_s` of audio (at least as far
    /// as the last row or event).
    pub fn finish(&self, duration_s: Option<f64>) -> Summary {
        let mut s = self.s.clone();
        s.duration_s = duration_s.unwrap_or(0.0).max(self.last_t);
        if let Some(at) = self.pause_at {
            s.paused_s += (s.duration_s - at).max(0.0);
        }
        s.dominant = s
            .emotion_s
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k.clone());
        s
    }
}

/// Builds the summary of whole files.
pub fn summarize(
    rows: &[TimelineRow],
    events: &[EventRecord],
    hop_s: Option<f64>,
    duration_s: Option<f64>,
) -> Summary {
    // Rows and events interleave in time; pauses change how rows count.
    let mut b = SummaryBuilder::new(hop_s);
    let mut ev = events.iter().peekable();
    for row in rows {
        while let Some(e) = ev.next_if(|e| e.t <= row.end_s) {
            b.event(e);
        }
        b.row(row);
    }
    for e in ev {
        b.event(e);
    }
    b.finish(duration_s)
}

/// Share of speech time per emotion, largest first, as fractions summing to 1.
pub fn shares(summary: &Summary) -> Vec<(String, f64)> {
    let total: f64 = summary.emotion_s.values().sum();
    let mut v: Vec<(String, f64)> = summary
        .emotion_s
        .iter()
        .filter(|(_, s)| **s > 0.0)
        .map(|(k, s)| (k.clone(), s / total))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The debounced emotion changes of a session's rows. No-speech windows neither confirm nor break a run.
pub fn emotion_changes(rows: &[TimelineRow], hold: usize) -> Vec<Change> {
    let mut tracker = ChangeTracker::new(hold);
    rows.iter()
        .filter_map(|row| tracker.push(row.end_s, row.emotion.as_deref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emotion::hold_windows;
    use chrono::Utc;

    fn row(i: u64, end: f64, emotion: Option<&str>, speech: f32) -> TimelineRow {
        TimelineRow {
            index: i,
            start_s: (end - 3.0).max(0.0),
            end_s: end,
            wall: Utc::now(),
            emotion: emotion.map(str::to_string),
            no_speech: emotion.is_none(),
            speech_ratio: speech,
            rms_dbfs: -20.0,
            probs: None,
            arousal: None,
            valence: None,
        }
    }

    fn ev(t: f64, kind: EventKind) -> EventRecord {
        EventRecord {
            t,
            wall: Utc::now(),
            kind,
        }
    }

    #[test]
    fn each_row_counts_its_hop_not_its_window() {
        // Windows ending at 1.0 (the first, partial), 1.5, 2.0, 2.5.
        let rows = [
            row(0, 1.0, Some("happy"), 1.0),
            row(1, 1.5, Some("happy"), 1.0),
            row(2, 2.0, None, 0.2),
            row(3, 2.5, Some("sad"), 0.5),
        ];
        let s = summarize(&rows, &[], Some(0.5), None);
        assert_eq!(s.windows, 4);
        assert!((s.duration_s - 2.5).abs() < 1e-9);
        // 1.0 + 0.5 happy, 0.1 unattributed, 0.25 sad.
        assert!((s.speech_s - 1.85).abs() < 1e-6, "{}", s.speech_s);
        assert!((s.emotion_s["happy"] - 1.5).abs() < 1e-9);
        assert!((s.emotion_s["sad"] - 0.25).abs() < 1e-6);
        assert_eq!(s.dominant.as_deref(), Some("happy"));
        let sh = shares(&s);
        assert_eq!(sh[0].0, "happy");
        assert!((sh[0].1 + sh[1].1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn paused_time_is_neither_speech_nor_counted_twice() {
        let rows = [
            row(0, 1.0, Some("calm"), 1.0),
            row(1, 11.0, Some("calm"), 1.0),
        ];
        let events = [
            ev(1.2, EventKind::Pause),
            ev(10.6, EventKind::Resume),
            ev(10.8, EventKind::Marker { label: "x".into() }),
        ];
        let s = summarize(&rows, &events, Some(0.5), Some(12.0));
        assert!((s.speech_s - 1.5).abs() < 1e-9, "{}", s.speech_s);
        assert!((s.paused_s - 9.4).abs() < 1e-9);
        assert_eq!((s.markers, s.duration_s), (1, 12.0));
    }

    #[test]
    fn changes_are_debounced() {
        let e = |v: &[Option<&str>]| -> Vec<TimelineRow> {
            v.iter()
                .enumerate()
                .map(|(i, e)| row(i as u64, 1.0 + i as f64 * 0.5, *e, 1.0))
                .collect()
        };
        let (h, s, n) = (Some("happy"), Some("sad"), None);
        // A single sad blip inside happy is not a change; a no-speech gap does not
        // break the sad run that follows.
        let rows = e(&[h, h, h, s, h, h, s, n, s, s, h]);
        let changes = emotion_changes(&rows, hold_windows(1.5, 0.5));
        assert_eq!(hold_windows(1.5, 0.5), 3);
        let got: Vec<(f64, Option<&str>, &str)> = changes
            .iter()
            .map(|c| (c.t, c.from.as_deref(), c.to.as_str()))
            .collect();
        assert_eq!(got, [(1.0, None, "happy"), (4.0, Some("happy"), "sad")]);
        assert!(emotion_changes(&e(&[n, n]), 2).is_empty());
    }
}
