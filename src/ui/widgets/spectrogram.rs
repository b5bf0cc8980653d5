//! The live spectrogram: newest audio on the right, scrolling left, mel frequency up.
//!
//! Each cell holds two pixels stacked (the upper half block `▀` in the upper pixel's
//! colour over the lower pixel's background), doubling the vertical resolution. The
//! rows are evenly spaced in mel bands, so the axis is the mel scale, labeled in Hz.
//! The colour range follows the loudest visible column, so a quiet USB microphone and
//! a hot line input both fill the map.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::panel;
use crate::ui::app::App;
use crate::ui::theme::Theme;

/// Dynamic range shown, dB below the loudest visible value.
const RANGE_DB: f32 = 65.0;
/// The top of the range never drops below this, so silence stays dark.
const MIN_TOP_DB: f32 = -45.0;
/// Width of the frequency labels.
const AXIS: u16 = 5;

pub struct Spectrogram<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for Spectrogram<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let title = if app.paused {
            " spectrogram (paused) "
        } else {
            " spectrogram "
        };
        let block = panel(t, title);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.width <= AXIS + 1 || inner.height == 0 {
            return;
        }
        let plot = Rect {
            x: inner.x + AXIS,
            width: inner.width - AXIS,
            ..inner
        };
        let cols = plot.width as usize;
        let pixels = inner.height as usize * 2;
        let visible: Vec<&Vec<f32>> = app.spectrogram.columns().iter().rev().take(cols).collect();
        let top = visible
            .iter()
            .flat_map(|c| c.iter())
            .fold(f32::NEG_INFINITY, |a, &b| a.max(b))
            .max(MIN_TOP_DB);
        let lo = top - RANGE_DB;
        let bands = app
            .spectrogram
            .columns()
            .back()
            .map_or(app.mel_frequencies.len(), Vec::len);
        // Pixel p (0 = bottom) shows bands [b0, b1).
        let band_range = |p: usize| {
            let b0 = p * bands / pixels;
            let b1 = ((p + 1) * bands / pixels).max(b0 + 1).min(bands);
            (b0.min(bands.saturating_sub(1)), b1)
        };
        let value = |col: &Vec<f32>, p: usize| {
            let (b0, b1) = band_range(p);
            let v = col[b0..b1.max(b0 + 1).min(col.len())]
                .iter()
                .fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            ((v - lo) / RANGE_DB).clamp(0.0, 1.0)
        };
        if bands > 0 {
            for (k, col) in visible.iter().enumerate() {
                if col.len() != bands {
                    continue;
                }
                let x = plot.x + (cols - 1 - k) as u16;
                for row in 0..inner.height as usize {
                    let upper = pixels - 1 - 2 * row;
                    let lower = upper - 1;
                    let (cu, cl) = (t.heat(value(col, upper)), t.heat(value(col, lower)));
                    let y = inner.y + row as u16;
                    if let Some(cell) = buf.cell_mut((x, y)) {
                        if t.unicode {
                            cell.set_char('▀').set_style(Style::default().fg(cu).bg(cl));
                        } else {
                            cell.set_char(' ').set_style(Style::default().bg(cu));
                        }
                    }
                }
            }
        }
        // Frequency labels on the rows whose pixels hold them.
        let freqs = &app.mel_frequencies;
        if freqs.len() == bands && bands > 0 {
            let mut used = vec![false; inner.height as usize];
            for (hz, text) in [
                (8000.0, "8k"),
                (4000.0, "4k"),
                (2000.0, "2k"),
                (1000.0, "1k"),
                (500.0, "500"),
                (250.0, "250"),
            ] {
                let Some(band) = nearest(freqs, hz) else {
                    continue;
                };
                if (freqs[band] - hz).abs() > hz * 0.25 {
                    continue;
                }
                // The pixel showing that band, then its text row.
                let p = (0..pixels).find(|&p| band_range(p).1 > band).unwrap_or(0);
                let row = (pixels - 1 - p) / 2;
                if used[row]
                    || row.checked_sub(1).is_some_and(|r| used[r])
                    || used.get(row + 1) == Some(&true)
                {
                    continue;
                }
                used[row] = true;
                buf.set_string(
                    inner.x,
                    inner.y + row as u16,
                    format!("{text:>4}"),
                    Style::default().fg(t.dim()),
                );
            }
        }
        if app.spectrogram.columns().is_empty() {
            let msg = "waiting for audio";
            let y = inner.y + inner.height / 2;
            let x = plot.x + plot.width.saturating_sub(msg.len() as u16) / 2;
            buf.set_string(x, y, msg, Style::default().fg(t.dim()));
        }
    }
}

fn nearest(freqs: &[f32], hz: f32) -> Option<usize> {
    freqs
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - hz).abs().total_cmp(&(b.1 - hz).abs()))
        .map(|(i, _)| i)
}
