//! One struct per panel. Each borrows the [`App`](super::app::App) and the
//! [`super::theme::Theme`] and implements ratatui's `Widget`: state lives in
//! the app, drawing lives here, and a widget can be rendered alone into a test buffer.

pub mod font;
pub mod footer;
pub mod log;
pub mod overlay;
pub mod probabilities;
pub mod spectrogram;
pub mod status;
pub mod timeline;

use ratatui::symbols::border;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::Theme;

/// A panel frame: rounded corners on a UTF-8 terminal, `+-|` otherwise.
pub fn panel<'a>(theme: &Theme, title: impl Into<Line<'a>>) -> Block<'a> {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(ratatui::style::Style::default().fg(theme.dim()))
        .title(
            title
                .into()
                .style(ratatui::style::Style::default().fg(theme.accent())),
        );
    if theme.unicode {
        block.border_type(BorderType::Rounded)
    } else {
        block.border_set(ASCII_BORDER)
    }
}

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub use crate::emotion::{ascii_face, emoji};

/// Cuts `s` to at most `max` columns, ending in an ellipsis when cut.
pub fn fit(s: &str, max: usize, unicode: bool) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= max {
        return s.to_string();
    }
    let ell = if unicode { "…" } else { "~" };
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    if max > 0 {
        out.push_str(ell);
    }
    out
}
