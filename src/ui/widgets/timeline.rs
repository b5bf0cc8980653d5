//! The emotion timeline: the last minutes as a coloured strip, now on the right.
//!
//! Each cell stands for `seconds_per_cell` seconds (the zoom) and takes the colour of
//! the emotion that topped most of the windows ending in it. A cell with only
//! no-speech windows shows a faint dot; one with no windows at all (before the start,
//! while paused) stays empty, so gaps in the record are visible as gaps.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::panel;
use crate::ui::app::App;
use crate::ui::theme::Theme;

pub struct Timeline<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

/// What one cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Empty,
    NoSpeech,
    Emotion(u8),
}

/// The cells, newest last, for `n` cells of `spc` seconds ending at `now`.
pub fn cells(app: &App, n: usize, spc: f64) -> Vec<Cell> {
    let now = app.time_s();
    let mut out = vec![Cell::Empty; n];
    let mut counts = vec![0u32; app.labels.len().max(1)];
    let mut current: Option<usize> = None;
    let mut no_speech = false;
    let flush = |out: &mut Vec<Cell>, k: usize, counts: &mut Vec<u32>, no_speech: bool| {
        let best = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .max_by_key(|(i, c)| (**c, usize::MAX - i))
            .map(|(i, _)| i);
        out[n - 1 - k] = match best {
            Some(i) => Cell::Emotion(i as u8),
            None if no_speech => Cell::NoSpeech,
            None => Cell::Empty,
        };
        counts.iter_mut().for_each(|c| *c = 0);
    };
    for p in app.timeline.points().iter().rev() {
        let age = now - p.end_s;
        // Cell k holds ages in [k*spc, (k+1)*spc).
        let k = if age <= 0.0 {
            0
        } else {
            (age / spc).floor() as usize
        };
        if k >= n {
            break;
        }
        if current != Some(k) {
            if let Some(c) = current {
                flush(&mut out, c, &mut counts, no_speech);
            }
            current = Some(k);
            no_speech = false;
        }
        match p.top {
            Some(i) if (i as usize) < counts.len() => counts[i as usize] += 1,
            _ => no_speech = true,
        }
    }
    if let Some(c) = current {
        flush(&mut out, c, &mut counts, no_speech);
    }
    out
}

/// A relative time label: "-30s", "-2m", "-1h".
fn ago(s: f64) -> String {
    let s = s.round() as u64;
    if s == 0 {
        "now".into()
    } else if s < 120 {
        format!("-{s}s")
    } else if s < 7200 && s.is_multiple_of(60) {
        format!("-{}m", s / 60)
    } else if s < 7200 {
        format!("-{}m{:02}", s / 60, s % 60)
    } else {
        format!("-{}h", s / 3600)
    }
}

impl Widget for Timeline<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let spc = app.seconds_per_cell();
        let dot = if t.unicode { "·" } else { "-" };
        let title = format!(" timeline {dot} {} per cell {dot} +/- zoom ", fmt_span(spc));
        let block = panel(t, title);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 || inner.width < 10 {
            return;
        }
        let n = inner.width as usize;
        let strip_rows = inner.height.saturating_sub(1).max(1);
        let legend = inner.height >= 4;
        let strip_rows = if legend { strip_rows - 1 } else { strip_rows };
        let cells = cells(app, n, spc);
        for (i, c) in cells.iter().enumerate() {
            let x = inner.x + i as u16;
            let (ch, style) = match c {
                Cell::Empty => (' ', Style::default()),
                Cell::NoSpeech => (
                    if t.unicode { '·' } else { '.' },
                    Style::default().fg(t.dim()),
                ),
                Cell::Emotion(e) => (
                    if t.unicode { '█' } else { '#' },
                    Style::default().fg(t.emotion(app.label(*e as usize))),
                ),
            };
            for r in 0..strip_rows {
                if let Some(cell) = buf.cell_mut((x, inner.y + r)) {
                    cell.set_char(ch).set_style(style);
                }
            }
        }
        // Time axis: ticks at a round interval at least 12 cells apart.
        let y = inner.y + strip_rows;
        if y < inner.y + inner.height {
            let steps = [
                5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
            ];
            let every = steps
                .iter()
                .copied()
                .find(|s| s / spc >= 12.0)
                .unwrap_or(7200.0);
            let axis = Style::default().fg(t.dim());
            buf.set_string(inner.x + inner.width - 3, y, "now", axis);
            let mut k = 1;
            loop {
                let age = every * k as f64;
                let cells_back = (age / spc).round() as usize;
                if cells_back + 1 >= n {
                    break;
                }
                let label = ago(age);
                let x = (inner.x + inner.width - 1).saturating_sub(cells_back as u16);
                let lx = x.saturating_sub(label.len() as u16 / 2).max(inner.x);
                if lx + label.len() as u16 + 1 < inner.x + inner.width - 3 {
                    buf.set_string(lx, y, &label, axis);
                }
                k += 1;
            }
        }
        if legend {
            let mut spans = Vec::new();
            for l in &app.labels {
                spans.push(Span::styled(
                    if t.unicode { "█ " } else { "# " },
                    Style::default().fg(t.emotion(l)),
                ));
                spans.push(Span::styled(format!("{l}  "), Style::default().fg(t.dim())));
            }
            spans.push(Span::styled(
                if t.unicode {
                    "· no speech"
                } else {
                    ". no speech"
                },
                Style::default().fg(t.dim()),
            ));
            Line::from(spans).render(
                Rect {
                    y: inner.y + inner.height - 1,
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
    }
}

fn fmt_span(s: f64) -> String {
    if s < 60.0 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60.0)
    }
}
