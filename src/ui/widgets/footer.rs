//! Key hints for what the keys do right now.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use crate::ui::app::{App, Overlay};
use crate::ui::theme::Theme;

pub struct Footer<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Footer<'_> {
    /// (key, what) pairs, most useful first.
    pub fn hints(&self) -> Vec<(&'static str, &'static str)> {
        let app = self.app;
        match &app.overlay {
            Overlay::Help => vec![("any key", "closes the help")],
            Overlay::Note(_) => vec![
                ("Enter", "save note"),
                ("Esc", "cancel"),
                ("Ctrl-U", "clear"),
            ],
            Overlay::ChooseLabel => vec![("1-8", "label"), ("Esc", "cancel")],
            Overlay::Devices { .. } => {
                vec![("Up/Down", "choose"), ("Enter", "switch"), ("Esc", "close")]
            }
            Overlay::ConfirmQuit => vec![
                ("y", "save & quit"),
                ("d", "discard & quit"),
                ("Esc", "back"),
            ],
            Overlay::None => {
                let mut h = vec![("?", "help"), ("q", "quit")];
                h.push(("space", if app.paused { "resume" } else { "pause" }));
                h.push(("m", "marker"));
                h.push(("n", "note"));
                h.push((
                    "r",
                    if app.recording.is_some() {
                        "stop rec"
                    } else {
                        "record"
                    },
                ));
                h.push(("d", "device"));
                h.push(("e", "emoji"));
                h.push(("+/-", "zoom"));
                h.push((
                    if self.theme.unicode {
                        "↑↓"
                    } else {
                        "up/dn"
                    },
                    "log",
                ));
                h
            }
        }
    }
}

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1;
        for (key, what) in self.hints() {
            let w = key.width() + what.width() + 3;
            if used + w > area.width as usize {
                break;
            }
            spans.push(Span::styled(
                key,
                Style::default().fg(t.accent()).add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(
                format!(" {what}  "),
                Style::default().fg(t.dim()),
            ));
            used += w;
        }
        Line::from(spans).render(area, buf);
    }
}
