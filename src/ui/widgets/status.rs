//! The status line: what is recording, what is heard, from where, for how long.
//!
//! One row at every width. Its parts have priorities; when the row is too narrow the
//! least important parts go first (the model name, then the rate), and the source
//! name is shortened, so the recording and pause marks and the level never vanish.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::fit;
use crate::engine::SourceKind;
use crate::ui::app::{App, SourceState, clock_hms};
use crate::ui::theme::Theme;

/// Width of the level meter's bar, in cells.
const METER: usize = 10;
/// The meter's range, dBFS.
const METER_FLOOR_DB: f32 = -60.0;

pub struct StatusLine<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
    /// Columns available (set by `render`).
    width: usize,
}

impl<'a> StatusLine<'a> {
    pub fn new(app: &'a App, theme: &'a Theme) -> StatusLine<'a> {
        StatusLine {
            app,
            theme,
            width: 80,
        }
    }
}

impl StatusLine<'_> {
    /// The parts, each with a priority (higher stays longer).
    fn parts(&self) -> Vec<(u8, Vec<Span<'static>>)> {
        let (app, t) = (self.app, self.theme);
        let mut parts: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
        if let (Some(r), Some(secs)) = (&app.recording, app.recording_elapsed()) {
            let dot = if t.unicode { "●" } else { "*" };
            parts.push((
                10,
                vec![Span::styled(
                    format!("{dot} REC {} {secs:.1}s", r.label),
                    Style::default().fg(t.alert()).add_modifier(Modifier::BOLD),
                )],
            ));
        }
        if app.paused {
            parts.push((
                10,
                vec![Span::styled(
                    "PAUSED",
                    Style::default().fg(t.warn()).add_modifier(Modifier::BOLD),
                )],
            ));
        }
        // Source.
        let (kind, name) = match (&app.source_state, &app.source) {
            (SourceState::NoDevice(_), _) => ("", "no input device".to_string()),
            (_, Some(s)) => (
                match s.kind {
                    SourceKind::Microphone => "mic ",
                    SourceKind::File => "file ",
                    SourceKind::Pipe => "pipe ",
                },
                crate::text::visible(&s.name).into_owned(),
            ),
            (_, None) => ("", "opening...".to_string()),
        };
        let style = match app.source_state {
            SourceState::NoDevice(_) | SourceState::Lost(_) | SourceState::Failed(_) => {
                Style::default().fg(t.alert())
            }
            _ => Style::default(),
        };
        // A long file path must not push the clock and the level off the line.
        let name = fit(&name, (self.width / 3).max(16), t.unicode);
        let mut src = vec![
            Span::styled(kind, Style::default().fg(t.dim())),
            Span::styled(name, style.add_modifier(Modifier::BOLD)),
        ];
        match &app.source_state {
            SourceState::Lost(_) => src.push(Span::styled(" lost, retrying", style)),
            SourceState::Ended => src.push(Span::styled(" (ended)", Style::default().fg(t.dim()))),
            SourceState::Failed(_) => src.push(Span::styled(" (stopped)", style)),
            _ => {}
        }
        parts.push((8, src));
        if let Some(s) = &app.source {
            parts.push((
                3,
                vec![Span::styled(
                    format!("{} kHz", fmt_khz(s.sample_rate)),
                    Style::default().fg(t.dim()),
                )],
            ));
        }
        // Level meter.
        if let Some((rms, peak)) = app.status.current_level() {
            let filled = level_cells(rms);
            let peak_cell = level_cells(peak).checked_sub(1).map(|e| e / 8);
            let mut bar = String::new();
            for i in 0..METER {
                let lo = i * 8;
                let c = if filled >= lo + 8 {
                    if t.unicode { '█' } else { '#' }
                } else if filled > lo && t.unicode {
                    [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][filled - lo]
                } else if filled > lo {
                    '#'
                } else if Some(i) == peak_cell {
                    '|'
                } else if t.unicode {
                    '·'
                } else {
                    '.'
                };
                bar.push(c);
            }
            let colour = if rms > -6.0 { t.warn() } else { t.ok() };
            let mut spans = vec![
                Span::styled(bar, Style::default().fg(colour)),
                Span::raw(format!(" {:>4.0} dBFS", rms.max(-99.0))),
            ];
            if app.clipping() {
                spans.push(Span::styled(
                    " CLIP",
                    Style::default().fg(t.alert()).add_modifier(Modifier::BOLD),
                ));
            }
            parts.push((9, spans));
        }
        // Speech.
        match app.emotion.speech() {
            Some(true) => {
                parts.push((7, vec![Span::styled("speech", Style::default().fg(t.ok()))]))
            }
            Some(false) => parts.push((
                5,
                vec![Span::styled("no speech", Style::default().fg(t.dim()))],
            )),
            None => {}
        }
        if app.status.dropped_samples() > 0 {
            let sign = if t.unicode { "⚠" } else { "!" };
            parts.push((
                9,
                vec![Span::styled(
                    format!("{sign} {} dropped", app.status.dropped_samples()),
                    Style::default().fg(t.warn()).add_modifier(Modifier::BOLD),
                )],
            ));
        }
        parts.push((
            2,
            vec![
                Span::styled("model ", Style::default().fg(t.dim())),
                Span::raw(app.model_name.clone()),
            ],
        ));
        parts.push((
            7,
            vec![Span::styled(
                clock_hms(app.clock_s),
                Style::default().add_modifier(Modifier::BOLD),
            )],
        ));
        parts
    }
}

fn fmt_khz(rate: u32) -> String {
    if rate.is_multiple_of(1000) {
        format!("{}", rate / 1000)
    } else {
        format!("{:.1}", f64::from(rate) / 1000.0)
    }
}

/// Eighths of the meter that `db` fills.
fn level_cells(db: f32) -> usize {
    if !db.is_finite() {
        return 0;
    }
    let x = ((db - METER_FLOOR_DB) / -METER_FLOOR_DB).clamp(0.0, 1.0);
    (x * (METER * 8) as f32).round() as usize
}

fn width(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.content.width()).sum()
}

impl Widget for StatusLine<'_> {
    fn render(mut self, area: Rect, buf: &mut Buffer) {
        self.width = area.width as usize;
        let sep = if self.theme.unicode { " │ " } else { " | " };
        let mut parts = self.parts();
        let max = area.width as usize;
        let total = |p: &[(u8, Vec<Span>)]| {
            p.iter().map(|(_, s)| width(s)).sum::<usize>()
                + sep.width() * p.len().saturating_sub(1)
                + 1
        };
        // Drop the least important parts until the rest fits, then shorten the source.
        while total(&parts) > max && parts.len() > 1 {
            let (i, _) = parts
                .iter()
                .enumerate()
                .filter(|(_, (p, _))| *p != 8)
                .min_by_key(|(i, (p, _))| (*p, usize::MAX - i))
                .unwrap_or((0, &parts[0]));
            if parts[i].0 >= 8 {
                break;
            }
            parts.remove(i);
        }
        let over = total(&parts).saturating_sub(max);
        if over > 0
            && let Some((_, src)) = parts.iter_mut().find(|(p, _)| *p == 8)
            && src.len() >= 2
        {
            let name = src[1].content.to_string();
            let keep = name.width().saturating_sub(over).max(4);
            src[1].content = fit(&name, keep, self.theme.unicode).into();
        }
        let mut spans = vec![Span::raw(" ")];
        for (i, (_, p)) in parts.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(sep, Style::default().fg(self.theme.dim())));
            }
            spans.extend(p);
        }
        Line::from(spans).render(area, buf);
    }
}
