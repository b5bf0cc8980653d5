//! The session log: emotion changes, markers, notes, recordings, device events and
//! warnings, newest at the bottom, scrollable. Times are session times, the same `t`
//! as in the session's `events.jsonl`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{fit, panel};
use crate::ui::app::{App, LogEntry, LogKind, clock_tenths};
use crate::ui::theme::Theme;

pub struct Log<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

/// Lines of log the panel shows in `area` (its inner height).
pub fn page(area: Rect) -> usize {
    area.height.saturating_sub(2) as usize
}

fn symbol(kind: LogKind, unicode: bool) -> &'static str {
    match (kind, unicode) {
        (LogKind::Info, true) => "·",
        (LogKind::Emotion, true) => "◆",
        (LogKind::Marker, true) => "▲",
        (LogKind::Note, true) => "✎",
        (LogKind::Recording, true) => "●",
        (LogKind::Device, true) => "⇄",
        (LogKind::Warning, true) => "⚠",
        (LogKind::Error, true) => "✖",
        (LogKind::Info, false) => "-",
        (LogKind::Emotion, false) => "*",
        (LogKind::Marker, false) => "^",
        (LogKind::Note, false) => "n",
        (LogKind::Recording, false) => "R",
        (LogKind::Device, false) => "D",
        (LogKind::Warning, false) => "!",
        (LogKind::Error, false) => "x",
    }
}

impl Log<'_> {
    fn line(&self, e: &LogEntry, width: usize) -> Line<'static> {
        let t = self.theme;
        let colour = match e.kind {
            LogKind::Emotion => {
                // "from → to (NN%)" or "to (NN%)".
                let to = e.text.split(" → ").last().unwrap_or("");
                t.emotion(to.split(' ').next().unwrap_or(""))
            }
            LogKind::Marker | LogKind::Note => t.accent(),
            LogKind::Recording => t.alert(),
            LogKind::Device => t.ok(),
            LogKind::Warning => t.warn(),
            LogKind::Error => t.alert(),
            LogKind::Info => t.dim(),
        };
        let time = clock_tenths(e.t);
        let text_w = width.saturating_sub(time.len() + 4);
        let style = match e.kind {
            LogKind::Marker | LogKind::Note | LogKind::Error => {
                Style::default().add_modifier(Modifier::BOLD)
            }
            _ => Style::default(),
        };
        Line::from(vec![
            Span::styled(time, Style::default().fg(t.dim())),
            Span::raw(" "),
            Span::styled(symbol(e.kind, t.unicode), Style::default().fg(colour)),
            Span::raw(" "),
            Span::styled(fit(&plain(&e.text, t.unicode), text_w, t.unicode), style),
        ])
    }
}

/// The text as a terminal without UTF-8 can show it.
fn plain(text: &str, unicode: bool) -> String {
    if unicode || text.is_ascii() {
        return text.to_string();
    }
    text.replace('→', "->")
        .replace('…', "...")
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

impl Widget for Log<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let title = if app.log.scroll() > 0 {
            let dot = if t.unicode { "·" } else { "-" };
            format!(" log {dot} {} newer below {dot} End ", app.log.scroll())
        } else {
            " log ".to_string()
        };
        let block = panel(t, title);
        let inner = block.inner(area);
        block.render(area, buf);
        let h = inner.height as usize;
        if h == 0 {
            return;
        }
        let end = app.log.len().saturating_sub(app.log.scroll());
        let start = end.saturating_sub(h);
        for (i, e) in app.log.entries().range(start..end).enumerate() {
            let line = self.line(e, inner.width as usize);
            line.render(
                Rect {
                    y: inner.y + i as u16,
                    height: 1,
                    ..inner
                },
                buf,
            );
        }
    }
}
