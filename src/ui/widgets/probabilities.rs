//! The model's view of the latest window: the top emotion large, a bar per emotion,
//! and, from models that rate them and where the panel has two rows to spare, arousal
//! and valence as two bars signed around a centre line.
//!
//! A window without enough speech is shown as "no speech" with empty bars. Showing
//! the last speech window's bars instead would look like the model still hears that
//! emotion in the silence.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use super::{ascii_face, emoji, font, panel};
use crate::ui::app::{App, Latest, SourceState};
use crate::ui::theme::Theme;

pub struct Probabilities<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for Probabilities<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let block = panel(t, " emotion ");
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.width < 12 || inner.height == 0 {
            return;
        }
        let n = app.labels.len();
        let (headline, face, colour, pct) = match app.emotion.latest() {
            Latest::Emotion { probs, top, .. } => {
                let label = app.label(*top);
                (
                    label.to_uppercase(),
                    Some(label.to_string()),
                    t.emotion(label),
                    probs.get(*top).map(|p| format!("{:.0}%", p * 100.0)),
                )
            }
            Latest::NoSpeech { .. } => ("NO SPEECH".to_string(), None, t.dim(), None),
            Latest::Waiting => {
                let text = match &app.source_state {
                    SourceState::NoDevice(_) => "NO INPUT",
                    _ => "LISTENING",
                };
                (text.to_string(), None, t.dim(), None)
            }
        };
        let symbol = face
            .as_deref()
            .map(|l| if app.emoji { emoji(l) } else { ascii_face(l) });
        let style = Style::default().fg(colour).add_modifier(Modifier::BOLD);
        let sym_w = symbol.map_or(0, |s| s.width() + 1);
        let pct_w = pct.as_ref().map_or(0, |p| p.len() + 1);
        // The headline in the large font when it fits beside the symbol and the eight
        // bars still fit below it; else one line of spaced capitals.
        let big = t.unicode
            && inner.height as usize >= n + 3
            && sym_w + font::width(&headline) <= inner.width as usize;
        let head_rows: u16 = if big { 3 } else { 1 };
        if big {
            let rows = font::render(&headline);
            let x0 = inner.x + sym_w as u16;
            for (i, r) in rows.iter().enumerate() {
                buf.set_string(x0, inner.y + i as u16, r, style);
            }
            if let Some(s) = symbol {
                buf.set_string(inner.x, inner.y + 1, s, style);
            }
            if let Some(p) = &pct
                && sym_w + font::width(&headline) + pct_w <= inner.width as usize
            {
                let x = x0 + font::width(&headline) as u16 + 1;
                buf.set_string(x, inner.y + 2, p, Style::default().fg(colour));
            }
        } else {
            let mut x = inner.x;
            if let Some(s) = symbol {
                buf.set_string(x, inner.y, s, style);
                x += sym_w as u16;
            }
            let spaced: String = headline
                .chars()
                .flat_map(|c| [c, ' '])
                .collect::<String>()
                .trim_end()
                .to_string();
            let text = if sym_w + spaced.width() + pct_w <= inner.width as usize {
                spaced
            } else {
                headline.clone()
            };
            buf.set_string(x, inner.y, &text, style);
            if let Some(p) = &pct {
                buf.set_string(
                    x + text.width() as u16 + 1,
                    inner.y,
                    p,
                    Style::default().fg(colour),
                );
            }
        }
        // Bars, in the model's label order so each emotion keeps its row.
        let first = inner.y + head_rows + u16::from(inner.height as usize > n + head_rows as usize);
        // Tall panels (200×60) space the bars out instead of leaving the bottom empty.
        let step: u16 = if inner.height as usize >= head_rows as usize + 2 + 2 * n {
            2
        } else {
            1
        };
        let probs = match app.emotion.latest() {
            Latest::Emotion { probs, .. } => Some(probs),
            _ => None,
        };
        let top = match app.emotion.latest() {
            Latest::Emotion { top, .. } => Some(*top),
            _ => None,
        };
        let label_w = app.labels.iter().map(|l| l.width()).max().unwrap_or(7) as u16;
        let bar_x = inner.x + label_w + 1;
        let bar_w = inner.width.saturating_sub(label_w + 1 + 5) as usize;
        for (i, label) in app.labels.iter().enumerate() {
            let y = first + i as u16 * step;
            if y >= inner.y + inner.height {
                break;
            }
            let is_top = top == Some(i);
            let lstyle = if is_top {
                Style::default()
                    .fg(t.emotion(label))
                    .add_modifier(Modifier::BOLD)
            } else if probs.is_some() {
                Style::default()
            } else {
                Style::default().fg(t.dim())
            };
            buf.set_string(
                inner.x,
                y,
                format!("{label:<w$}", w = label_w as usize),
                lstyle,
            );
            match probs.and_then(|p| p.get(i)) {
                Some(&p) => {
                    let eighths = (p.clamp(0.0, 1.0) * (bar_w * 8) as f32).round() as usize;
                    let bar = bar_string(eighths, bar_w, t.unicode);
                    buf.set_string(bar_x, y, bar, Style::default().fg(t.emotion(label)));
                    buf.set_string(
                        bar_x + bar_w as u16,
                        y,
                        format!("{:>4.0}%", p * 100.0),
                        lstyle,
                    );
                }
                None => {
                    let dots = if t.unicode { "·" } else { "." }.repeat(bar_w);
                    buf.set_string(bar_x, y, dots, Style::default().fg(t.dim()));
                    buf.set_string(
                        bar_x + bar_w as u16,
                        y,
                        "    -",
                        Style::default().fg(t.dim()),
                    );
                }
            }
        }
        let below = first + n as u16 * step;
        if let Latest::NoSpeech { speech_ratio } = app.emotion.latest()
            && below < inner.y + inner.height
        {
            buf.set_string(
                inner.x,
                below,
                format!("speech in {:.0}% of the window", speech_ratio * 100.0),
                Style::default().fg(t.dim()),
            );
        }
        // Arousal and valence under the bars, one row apart from them.
        let affect = match app.emotion.latest() {
            Latest::Emotion { affect, .. } => *affect,
            _ => None,
        };
        let y = below + 1;
        if app.affect && y + 2 <= inner.y + inner.height {
            let values = [
                ("arousal", affect.map(|a| a.arousal)),
                ("valence", affect.map(|a| a.valence)),
            ];
            for (row, (name, value)) in values.into_iter().enumerate() {
                let y = y + row as u16;
                let style = if value.is_some() {
                    Style::default()
                } else {
                    Style::default().fg(t.dim())
                };
                buf.set_string(
                    inner.x,
                    y,
                    format!("{name:<w$}", w = label_w as usize),
                    style,
                );
                buf.set_string(
                    bar_x,
                    y,
                    signed_bar(value, bar_w, t.unicode),
                    Style::default().fg(t.accent()),
                );
                let text = value.map_or_else(|| "    -".to_string(), |v| format!("{v:>+5.2}"));
                buf.set_string(bar_x + bar_w as u16, y, text, style);
            }
        }
    }
}

/// A bar `width` cells wide for a value in [-1, 1]: filled from the centre towards the
/// value's side, with the centre marked; all dots when there is no value.
pub fn signed_bar(value: Option<f32>, width: usize, unicode: bool) -> String {
    let (fill, empty, centre) = if unicode {
        ('█', '·', '│')
    } else {
        ('#', '.', '|')
    };
    let Some(v) = value else {
        return empty.to_string().repeat(width);
    };
    let mid = width / 2;
    let reach = ((v.clamp(-1.0, 1.0).abs() * mid as f32).round() as usize).min(mid);
    (0..width)
        .map(|i| {
            let filled = if v >= 0.0 {
                i > mid && i <= mid + reach
            } else {
                i < mid && i + reach >= mid
            };
            if i == mid {
                centre
            } else if filled {
                fill
            } else {
                empty
            }
        })
        .collect()
}

/// A bar of `eighths`/8 cells, `width` cells wide.
pub fn bar_string(eighths: usize, width: usize, unicode: bool) -> String {
    let eighths = eighths.min(width * 8);
    let mut s = String::new();
    if unicode {
        s.push_str(&"█".repeat(eighths / 8));
        if !eighths.is_multiple_of(8) {
            s.push([' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8]);
        }
    } else {
        s.push_str(&"#".repeat((eighths + 4) / 8));
    }
    let w = s.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(w)));
    s
}
