//! The full-screen monitor, as a library: state, widgets, drawing and the terminal.
//!
//! Data flows one way:
//!
//! ```text
//! engine events ──▶ App (state, app.rs) ──▶ draw() ──▶ widgets/*.rs ──▶ terminal
//! keys ───────────▶ App::on_key ──▶ Commands ──▶ the edge (session, recorder, devices)
//! ```
//!
//! Why it is split this way (after ratatui's examples and `bottom`): the [`App`] is
//! plain data fed by events, so every behaviour (debounced emotion changes, pauses,
//! the recording keys, scrolling) is tested without a terminal; each widget only reads
//! the app, so each can be rendered alone into a test buffer and snapshot-tested at
//! any size; and the only code that touches the terminal, the audio devices or the
//! disk is the thin loop in `emotty`'s `monitor` command plus [`terminal`], which also
//! guarantees the terminal is given back on quit, panic, SIGTERM and SIGHUP.

pub mod app;
pub mod terminal;
pub mod theme;
pub mod widgets;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};

pub use app::{App, AppSetup, Command};
pub use theme::{ColorDepth, Theme};

use app::{Overlay, SourceState};
use widgets::footer::Footer;
use widgets::log::{Log, page};
use widgets::overlay::{NoDevice, OverlayView, TooSmall};
use widgets::probabilities::Probabilities;
use widgets::spectrogram::Spectrogram;
use widgets::status::StatusLine;
use widgets::timeline::Timeline;

/// The smallest terminal the monitor draws in; below it, it says so.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// The panels' rectangles for a terminal of `area`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub spectrogram: Rect,
    pub probabilities: Rect,
    pub timeline: Rect,
    pub log: Rect,
    pub footer: Rect,
}

/// Splits the screen: status line, spectrogram beside the probabilities, the
/// timeline, the log, the key hints. `None` when the terminal is too small.
pub fn layout(area: Rect) -> Option<Areas> {
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        return None;
    }
    let timeline_h = if area.height >= 40 { 6 } else { 4 };
    let rest = area.height - 2 - timeline_h;
    // The top panels need 13 rows for the large headline and the eight bars.
    let top_h = (rest * 3 / 5).max(13).min(rest.saturating_sub(5));
    let [status, top, timeline, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(top_h),
        Constraint::Length(timeline_h),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(area);
    let probs_w = (area.width * 9 / 20).clamp(40, 72);
    let [spectrogram, probabilities] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(probs_w)]).areas(top);
    Some(Areas {
        status,
        spectrogram,
        probabilities,
        timeline,
        log,
        footer,
    })
}

/// Draws the whole monitor into a frame.
pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme) {
    let area = frame.area();
    render(area, frame.buffer_mut(), app, theme);
}

/// Draws the whole monitor into a buffer (what [`draw`] does, for tests too).
pub fn render(area: Rect, buf: &mut Buffer, app: &mut App, theme: &Theme) {
    use ratatui::widgets::Widget;
    let Some(a) = layout(area) else {
        TooSmall {
            need: MIN_SIZE,
            theme,
        }
        .render(area, buf);
        return;
    };
    app.log.page = page(a.log);
    StatusLine::new(app, theme).render(a.status, buf);
    match &app.source_state {
        SourceState::NoDevice(message) if app.source.is_none() => {
            let top = Rect {
                width: a.spectrogram.width + a.probabilities.width,
                ..a.spectrogram
            };
            NoDevice { message, theme }.render(top, buf);
        }
        _ => {
            Spectrogram { app, theme }.render(a.spectrogram, buf);
            Probabilities { app, theme }.render(a.probabilities, buf);
        }
    }
    Timeline { app, theme }.render(a.timeline, buf);
    Log { app, theme }.render(a.log, buf);
    Footer { app, theme }.render(a.footer, buf);
    if app.overlay != Overlay::None {
        OverlayView { app, theme }.render(area, buf);
    }
}
