//! Windows drawn over the main screen: help, the note prompt, the label chooser, the
//! device picker, the quit question, and the screens for no device and a terminal
//! that is too small.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::{ascii_face, emoji, fit, panel};
use crate::emotion::EMOTIONS;
use crate::ui::app::{App, BINDINGS, DeviceEntry, Overlay};
use crate::ui::theme::Theme;

/// A rectangle of `w`×`h` centred in `area` (clipped to it).
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn boxed(area: Rect, buf: &mut Buffer, theme: &Theme, title: &str, lines: Vec<Line<'_>>) {
    Clear.render(area, buf);
    let block = panel(theme, format!(" {title} "));
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// Whatever overlay the app has open.
pub struct OverlayView<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for OverlayView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (app, t) = (self.app, self.theme);
        let key = |k: &str| {
            Span::styled(
                k.to_string(),
                Style::default().fg(t.accent()).add_modifier(Modifier::BOLD),
            )
        };
        let dim = |s: &str| Span::styled(s.to_string(), Style::default().fg(t.dim()));
        match &app.overlay {
            Overlay::None => {}
            Overlay::Help => {
                let mut lines = vec![Line::from(dim("keys in force:")), Line::raw("")];
                for b in BINDINGS {
                    let mut spans = vec![key(&format!("{:<10}", b.keys)), Span::raw(b.what)];
                    if b.action == crate::ui::app::Action::Record
                        && let Some(why) = &app.recording_unavailable
                    {
                        spans.push(Span::styled(
                            format!(" (unavailable: {why})"),
                            Style::default().fg(t.warn()),
                        ));
                    }
                    if matches!(
                        b.action,
                        crate::ui::app::Action::Marker | crate::ui::app::Action::Note
                    ) && app.session.is_none()
                    {
                        spans.push(dim(" (log only: --no-session)"));
                    }
                    lines.push(Line::from(spans));
                }
                lines.push(Line::raw(""));
                lines.push(Line::from(dim("recording labels:")));
                for row in EMOTIONS.chunks(4) {
                    let base = EMOTIONS.iter().position(|e| *e == row[0]).unwrap_or(0);
                    let mut spans = vec![Span::raw("  ")];
                    for (i, e) in row.iter().enumerate() {
                        spans.push(key(&format!("{}", base + i + 1)));
                        spans.push(Span::styled(
                            format!(" {e:<11}"),
                            Style::default().fg(t.emotion(e)),
                        ));
                    }
                    lines.push(Line::from(spans));
                }
                if let Some(s) = &app.session {
                    lines.push(Line::from(vec![dim("session: "), Span::raw(s.clone())]));
                }
                lines.push(Line::from(dim("any key closes this help")));
                let h = lines.len() as u16 + 4;
                boxed(centred(area, 76, h), buf, t, "help", lines);
            }
            Overlay::Note(text) => {
                let cursor = if t.unicode { "█" } else { "_" };
                let inner_w = area.width.min(70).saturating_sub(4) as usize;
                // Show the end of a long note, where the typing happens.
                let shown: String = {
                    let chars: Vec<char> = text.chars().collect();
                    let keep = inner_w.saturating_sub(2);
                    chars[chars.len().saturating_sub(keep)..].iter().collect()
                };
                let lines = vec![
                    Line::from(vec![Span::raw(shown), Span::raw(cursor)]),
                    Line::raw(""),
                    Line::from(vec![
                        key("Enter"),
                        dim(" save  "),
                        key("Esc"),
                        dim(" cancel"),
                    ]),
                ];
                boxed(centred(area, 70, 6), buf, t, "note", lines);
            }
            Overlay::ChooseLabel => {
                let mut lines = vec![Line::from(dim(
                    "label of the clip (0.5 s before now is kept):",
                ))];
                for (i, e) in EMOTIONS.iter().enumerate() {
                    let face = if app.emoji { emoji(e) } else { ascii_face(e) };
                    lines.push(Line::from(vec![
                        key(&format!(" {} ", i + 1)),
                        Span::styled(format!("{face} "), Style::default().fg(t.emotion(e))),
                        Span::styled(e.to_string(), Style::default().fg(t.emotion(e))),
                    ]));
                }
                lines.push(Line::from(vec![key("Esc"), dim(" cancel")]));
                boxed(centred(area, 48, 12), buf, t, "record", lines);
            }
            Overlay::Devices { list, selected } => {
                let current = app.source.as_ref().map(|s| s.name.as_str());
                let lines =
                    device_lines(list.as_deref(), *selected, current, t, area.width.min(76));
                let h = (lines.len() as u16 + 2).max(6);
                boxed(centred(area, 76, h), buf, t, "input device", lines);
            }
            Overlay::ConfirmQuit => {
                let what = match (&app.recording, app.recording_elapsed()) {
                    (Some(r), Some(s)) => format!("{} ({s:.1} s)", r.label),
                    _ => "a clip".into(),
                };
                let lines = vec![
                    Line::raw(format!("A recording is running: {what}.")),
                    Line::raw(""),
                    Line::from(vec![key("y"), Span::raw(" save it and quit")]),
                    Line::from(vec![key("d"), Span::raw(" discard it and quit")]),
                    Line::from(vec![key("Esc"), Span::raw(" keep recording")]),
                ];
                boxed(centred(area, 50, 8), buf, t, "quit?", lines);
            }
        }
    }
}

fn device_lines<'a>(
    list: Option<&[DeviceEntry]>,
    selected: usize,
    current: Option<&str>,
    t: &Theme,
    width: u16,
) -> Vec<Line<'a>> {
    let dim = |s: &str| Span::styled(s.to_string(), Style::default().fg(t.dim()));
    let Some(list) = list else {
        return vec![Line::from(dim("looking for input devices..."))];
    };
    if list.is_empty() {
        return vec![
            Line::raw("No input devices found on this machine."),
            Line::raw(""),
            Line::from(dim(
                "Restart with --input FILE, or pipe audio in with --input -",
            )),
            Line::from(dim(
                "(e.g. ssh box 'arecord -f S16_LE -r 16000 -t wav' | emotty --input -).",
            )),
        ];
    }
    let mut lines = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let mark = if Some(d.name.as_str()) == current {
            if t.unicode { "● " } else { "* " }
        } else {
            "  "
        };
        let mut text = format!("{mark}{}", d.name);
        if d.is_default {
            text.push_str(" (default)");
        }
        let detail = format!("  {}", d.detail);
        let room = (width as usize).saturating_sub(6 + detail.len());
        let text = fit(&text, room, t.unicode);
        let style = if i == selected {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(text, style),
            Span::styled(detail, Style::default().fg(t.dim())),
        ]));
    }
    lines
}

/// What the top panels show when there is no input device.
pub struct NoDevice<'a> {
    pub message: &'a str,
    pub theme: &'a Theme,
}

impl Widget for NoDevice<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let key = |k: &str| {
            Span::styled(
                k.to_string(),
                Style::default().fg(t.accent()).add_modifier(Modifier::BOLD),
            )
        };
        let lines = vec![
            Line::styled(
                "No audio input",
                Style::default().fg(t.alert()).add_modifier(Modifier::BOLD),
            ),
            Line::raw(""),
            Line::raw(self.message.to_string()),
            Line::raw(""),
            Line::from(vec![
                Span::raw("Ways out: "),
                key("d"),
                Span::raw(" choose a device, or quit ("),
                key("q"),
                Span::raw(") and start with "),
                key("--input FILE"),
                Span::raw(" or "),
                key("--input -"),
                Span::raw(" (audio on a pipe)."),
            ]),
        ];
        Clear.render(area, buf);
        Paragraph::new(lines)
            .block(panel(t, " input "))
            .wrap(Wrap { trim: true })
            .render(area, buf);
    }
}

/// Shown instead of the monitor when the terminal is smaller than it needs.
pub struct TooSmall<'a> {
    pub need: (u16, u16),
    pub theme: &'a Theme,
}

impl Widget for TooSmall<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines = [
            "terminal too small".to_string(),
            format!(
                "{}x{}, needs {}x{}",
                area.width, area.height, self.need.0, self.need.1
            ),
            "q quits".to_string(),
        ];
        let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
        for (i, l) in lines.iter().enumerate() {
            let y = top + i as u16;
            if y >= area.y + area.height {
                break;
            }
            let l = fit(l, area.width as usize, self.theme.unicode);
            let x = area.x + area.width.saturating_sub(l.chars().count() as u16) / 2;
            let style = if i == 0 {
                Style::default()
                    .fg(self.theme.warn())
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            buf.set_string(x, y, l, style);
        }
    }
}
