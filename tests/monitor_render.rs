//! Rendering of the monitor with ratatui's TestBackend: each widget alone and the whole
//! layout at 80×24 and 200×60, in the states people meet (speech, no speech, no
//! device, paused, recording, overlays, a terminal too small), as insta snapshots.
//! The app is fed synthetic but realistic engine events, so these show exactly what a
//! user would see for them. Colour depth is checked on the cells themselves.

use emotty::dsp::frontend::FrontendConfig;
use emotty::engine::{Event, Level, Outcome, SourceKind, SpectrogramColumn, StartInfo};
use emotty::testing::events;
use emotty::ui::app::{DeviceEntry, LogKind, Overlay};
use emotty::ui::widgets::{
    footer::Footer, log::Log, overlay::OverlayView, probabilities::Probabilities,
    spectrogram::Spectrogram, status::StatusLine, timeline::Timeline,
};
use emotty::ui::{self, App, AppSetup, ColorDepth, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use emotty::emotion::EMOTIONS as LABELS;

fn truecolor() -> Theme {
    Theme::new(ColorDepth::TrueColor, true)
}

fn new_app(emoji: bool) -> App {
    App::new(AppSetup {
        labels: LABELS.iter().map(|s| s.to_string()).collect(),
        model_name: "emotty-test".into(),
        emoji,
        recording_unavailable: None,
        session: Some("2026-11-21T14-03-22".into()),
    })
}

fn started(kind: SourceKind, name: &str) -> Event {
    Event::Started(StartInfo {
        model_name: "emotty-test".into(),
        mel_frequencies: FrontendConfig::default().mel_center_frequencies(),
        ..events::start_info(events::source(kind, name, 48_000, 1))
    })
}

fn window(index: u64, end_s: f64, top: Option<usize>) -> Event {
    let (ratio, outcome) = match top {
        Some(t) => {
            // A plausible distribution: the top at 55 %, a runner-up, the rest small.
            let mut probs = vec![0.03f32; 8];
            probs[t] = 0.55;
            probs[(t + 3) % 8] = 0.27;
            let outcome = Outcome::Emotion {
                probs,
                top: t,
                affect: None,
            };
            (0.74, outcome)
        }
        None => (0.08, Outcome::NoSpeech),
    };
    events::window(
        index,
        ((end_s - 3.0).max(0.0), end_s),
        ratio,
        -28.0,
        outcome,
    )
}

/// A spectrogram frame with two formant-like ridges that move with time, over noise.
fn frame(i: usize, speech: bool) -> Event {
    let t = i as f32 * 0.01;
    let mel_db = (0..40)
        .map(|b| {
            let b = b as f32;
            let f1 = 8.0 + 3.0 * (t * 2.1).sin();
            let f2 = 22.0 + 5.0 * (t * 1.3).cos();
            let ridge = |c: f32| (-(b - c).powi(2) / 6.0).exp();
            let voice = if speech {
                45.0 * (ridge(f1) + 0.7 * ridge(f2))
            } else {
                0.0
            };
            -75.0 + 0.4 * b + voice
        })
        .collect();
    Event::Spectrogram(SpectrogramColumn {
        time_s: t as f64,
        mel_db,
    })
}

/// Two minutes of a session: speech with changing emotions, a silent stretch, a
/// marker, a note; the last window is `last`.
fn live_app(last: Option<usize>) -> App {
    let mut app = new_app(true);
    app.on_event(&started(SourceKind::Microphone, "USB Audio Device"));
    let plan = |w: usize| -> Option<usize> {
        match w {
            0..=40 => Some(2),
            41..=60 => None,
            61..=150 => Some(4),
            151..=200 => Some(3),
            _ => Some(7),
        }
    };
    let windows = 240;
    for w in 0..windows {
        let end = 1.0 + w as f64 * 0.5;
        for f in 0..50 {
            let i = ((end - 0.5) * 100.0) as usize + f;
            app.on_event(&frame(i, plan(w).is_some()));
        }
        if w % 2 == 0 {
            app.on_event(&Event::Level(Level {
                time_s: end,
                rms_dbfs: -24.0,
                peak_dbfs: -9.0,
                clipped: false,
            }));
        }
        let top = if w == windows - 1 { last } else { plan(w) };
        app.on_event(&window(w as u64, end, top));
        if w == 70 {
            app.marker_logged("marker 1", true);
        }
        if w == 120 {
            app.note_logged("talks about work", true);
        }
    }
    app.set_clock(121);
    app
}

fn screen(app: &mut App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app, theme)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

fn widget(w: impl Widget, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    w.render(area, &mut buf);
    buf
}

fn buf_text(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            s.push_str(sym);
        }
        s.push('\n');
    }
    s
}

// ---- the whole layout ----

#[test]
fn layout_speech_80x24() {
    let mut app = live_app(Some(7));
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 80, 24)));
}

#[test]
fn layout_speech_200x60() {
    let mut app = live_app(Some(7));
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 200, 60)));
}

#[test]
fn layout_no_speech_80x24() {
    let mut app = live_app(None);
    let t = screen(&mut app, &truecolor(), 80, 24);
    let s = text(&t);
    insta::assert_snapshot!(s);
    // No stale bars: every bar row ends in "-" instead of a percentage.
    assert_eq!(s.matches("    -│").count(), 8, "{s}");
}

#[test]
fn layout_no_speech_200x60() {
    let mut app = live_app(None);
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 200, 60)));
}

fn no_device_app() -> App {
    let mut app = new_app(true);
    app.no_device(
        "no microphone: this machine has no audio input device (no sound card or sound \
         server); use --input FILE, or --input - to read audio from a pipe",
    );
    app
}

#[test]
fn layout_no_device_80x24() {
    let mut app = no_device_app();
    let s = text(&screen(&mut app, &truecolor(), 80, 24));
    insta::assert_snapshot!(s);
    assert!(s.contains("No audio input") && s.contains("--input FILE"));
}

#[test]
fn layout_no_device_200x60() {
    let mut app = no_device_app();
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 200, 60)));
}

#[test]
fn layout_paused_80x24() {
    let mut app = live_app(Some(4));
    app.on_key(key(' '));
    let s = text(&screen(&mut app, &truecolor(), 80, 24));
    insta::assert_snapshot!(s);
    assert!(s.contains("PAUSED") && s.contains("spectrogram (paused)"));
}

#[test]
fn layout_paused_200x60() {
    let mut app = live_app(Some(4));
    app.on_key(key(' '));
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 200, 60)));
}

fn recording_app() -> App {
    let mut app = live_app(Some(4));
    app.recording_started("angry");
    for i in 0..7 {
        app.on_event(&Event::Level(Level {
            time_s: 120.5 + 0.5 * i as f64,
            rms_dbfs: -3.0,
            peak_dbfs: 0.0,
            clipped: i == 6,
        }));
    }
    app
}

#[test]
fn layout_recording_80x24() {
    let mut app = recording_app();
    let s = text(&screen(&mut app, &truecolor(), 80, 24));
    insta::assert_snapshot!(s);
    assert!(s.contains("REC angry 3.0s") && s.contains("CLIP") && s.contains("stop rec"));
}

#[test]
fn layout_recording_200x60() {
    let mut app = recording_app();
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 200, 60)));
}

#[test]
fn layout_tiny_terminal_says_so() {
    for (w, h) in [(79, 24), (80, 23), (40, 10)] {
        let mut app = live_app(Some(2));
        let s = text(&screen(&mut app, &truecolor(), w, h));
        assert!(s.contains("terminal too small"), "{w}x{h}\n{s}");
        assert!(s.contains(&format!("{w}x{h}, needs 80x24")), "{s}");
        if (w, h) == (40, 10) {
            insta::assert_snapshot!(s);
        }
    }
}

#[test]
fn layout_plain_ascii_16_colours() {
    // TERM=xterm over SSH in a C locale: no UTF-8, 16 colours.
    let mut app = live_app(Some(7));
    app.emoji = false;
    let theme = Theme::new(ColorDepth::Ansi16, false);
    let t = screen(&mut app, &theme, 80, 24);
    let s = text(&t);
    insta::assert_snapshot!(s);
    assert!(s.is_ascii(), "non-ASCII on a non-UTF-8 terminal:\n{s}");
    // Every colour on screen is one of the 16.
    for cell in t.backend().buffer().content() {
        for c in [cell.fg, cell.bg] {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "{c:?} on a 16-colour terminal"
            );
        }
    }
}

#[test]
fn colours_follow_the_depth() {
    let mut app = live_app(Some(7));
    let t = screen(&mut app, &Theme::new(ColorDepth::Ansi256, true), 80, 24);
    let buf = t.backend().buffer();
    let colours: Vec<Color> = buf.content().iter().flat_map(|c| [c.fg, c.bg]).collect();
    assert!(colours.iter().any(|c| matches!(c, Color::Indexed(_))));
    assert!(!colours.iter().any(|c| matches!(c, Color::Rgb(..))));
    let t = screen(&mut app, &truecolor(), 80, 24);
    let buf = t.backend().buffer();
    // The spectrogram's cells are true-colour half blocks.
    let cell = &buf[(30, 8)];
    assert_eq!(cell.symbol(), "▀");
    assert!(matches!(cell.fg, Color::Rgb(..)) && matches!(cell.bg, Color::Rgb(..)));
}

// ---- overlays ----

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    )
}

#[test]
fn overlay_help_lists_the_bindings() {
    let mut app = live_app(Some(7));
    app.on_key(key('?'));
    let s = text(&screen(&mut app, &truecolor(), 80, 24));
    insta::assert_snapshot!(s);
    for b in emotty::ui::app::BINDINGS {
        assert!(s.contains(b.what), "help lacks {:?}\n{s}", b.what);
    }
}

#[test]
fn overlay_label_chooser() {
    let mut app = live_app(Some(7));
    app.on_key(key('r'));
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 80, 24)));
}

#[test]
fn overlay_note_prompt() {
    let mut app = live_app(Some(7));
    app.on_key(key('n'));
    app.on_paste("client mentions the move");
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 80, 24)));
}

#[test]
fn overlay_device_picker() {
    let mut app = live_app(Some(7));
    app.on_key(key('d'));
    let waiting = text(&screen(&mut app, &truecolor(), 80, 24));
    assert!(waiting.contains("looking for input devices"));
    app.show_devices(vec![
        DeviceEntry {
            name: "HDA Intel PCH: ALC3246 Analog".into(),
            id: "alsa:hw:CARD=PCH,DEV=0".into(),
            detail: "2 ch, 44100 Hz".into(),
            is_default: true,
        },
        DeviceEntry {
            name: "USB Audio Device".into(),
            id: "alsa:hw:CARD=Device,DEV=0".into(),
            detail: "1 ch, 48000 Hz".into(),
            is_default: false,
        },
    ]);
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 80, 24)));
}

#[test]
fn overlay_device_picker_without_devices() {
    let mut app = no_device_app();
    app.on_key(key('d'));
    app.show_devices(Vec::new());
    let s = text(&screen(&mut app, &truecolor(), 80, 24));
    insta::assert_snapshot!(s);
    assert!(s.contains("No input devices found"));
}

#[test]
fn overlay_confirm_quit_while_recording() {
    let mut app = recording_app();
    app.on_key(key('q'));
    assert_eq!(app.overlay, Overlay::ConfirmQuit);
    insta::assert_snapshot!(text(&screen(&mut app, &truecolor(), 80, 24)));
}

// ---- each widget alone ----

#[test]
fn widget_status_line() {
    let app = recording_app();
    let t = truecolor();
    let wide = buf_text(&widget(StatusLine::new(&app, &t), 200, 1));
    let narrow = buf_text(&widget(StatusLine::new(&app, &t), 80, 1));
    insta::assert_snapshot!(format!("{wide}{narrow}"));
    // Narrow: the least important parts go, the recording mark and level stay.
    assert!(wide.contains("model emotty-test") && !narrow.contains("model"));
    assert!(narrow.contains("REC angry") && narrow.contains("dBFS"));
    let mut dropped = live_app(Some(1));
    dropped.on_event(&Event::Stats(emotty::engine::Stats {
        time_s: 121.0,
        speech_s: 80.0,
        dropped_samples: 4800,
        hop_ms: 3.0,
        real_time_factor: 0.01,
        ring_fill: 0.9,
    }));
    let s = buf_text(&widget(StatusLine::new(&dropped, &t), 80, 1));
    assert!(s.contains("4800 dropped"), "{s}");
}

#[test]
fn widget_spectrogram() {
    let app = live_app(Some(7));
    let t = truecolor();
    let buf = widget(
        Spectrogram {
            app: &app,
            theme: &t,
        },
        40,
        12,
    );
    insta::assert_snapshot!(buf_text(&buf));
    // The louder formant ridge is brighter than the floor: compare the colour of a
    // ridge pixel with a quiet one in the same column, by luminance.
    let lum = |c: Color| match c {
        Color::Rgb(r, g, b) => u32::from(r) * 3 + u32::from(g) * 6 + u32::from(b),
        _ => 0,
    };
    let col = 38;
    let brightest = (1..11).map(|y| lum(buf[(col, y)].fg)).max().unwrap();
    let darkest = (1..11).map(|y| lum(buf[(col, y)].fg)).min().unwrap();
    assert!(brightest > darkest * 3 + 100, "{brightest} vs {darkest}");
}

#[test]
fn widget_probabilities() {
    let t = truecolor();
    let speech = live_app(Some(4));
    let big = buf_text(&widget(
        Probabilities {
            app: &speech,
            theme: &t,
        },
        40,
        13,
    ));
    let small = buf_text(&widget(
        Probabilities {
            app: &speech,
            theme: &t,
        },
        40,
        10,
    ));
    let mut ascii = live_app(Some(4));
    ascii.emoji = false;
    let plain = buf_text(&widget(
        Probabilities {
            app: &ascii,
            theme: &t,
        },
        40,
        13,
    ));
    let quiet = live_app(None);
    let none = buf_text(&widget(
        Probabilities {
            app: &quiet,
            theme: &t,
        },
        40,
        13,
    ));
    insta::assert_snapshot!(format!("{big}\n{small}\n{plain}\n{none}"));
    assert!(big.contains("😠") && plain.contains(">:(") && !plain.contains("😠"));
    assert!(big.contains("55%") && big.contains("27%"));
    assert!(small.contains("😠 A N G R Y 55%"), "{small}");
    assert!(!none.contains('%') || none.contains("speech in 8% of the window"));
    assert!(!none.contains("55%"));
}

#[test]
fn widget_probabilities_with_arousal_and_valence() {
    let t = truecolor();
    let mut app = new_app(true);
    let Event::Started(mut start) = started(SourceKind::Microphone, "USB Audio Device") else {
        unreachable!()
    };
    start.affect = true;
    app.on_event(&Event::Started(start));
    let Event::Window(mut w) = window(0, 3.0, Some(4)) else {
        unreachable!()
    };
    if let Outcome::Emotion { affect, .. } = &mut w.outcome {
        *affect = Some(emotty::model::Affect {
            arousal: 0.62,
            valence: -0.48,
        });
    }
    app.on_event(&Event::Window(w));
    let tall = buf_text(&widget(
        Probabilities {
            app: &app,
            theme: &t,
        },
        40,
        17,
    ));
    let short = buf_text(&widget(
        Probabilities {
            app: &app,
            theme: &t,
        },
        40,
        13,
    ));
    insta::assert_snapshot!(format!("{tall}\n{short}"));
    // Each readout row without the panel's borders.
    let row = |text: &str, name: &str| -> String {
        let line = text.lines().find(|l| l.contains(name)).expect(text);
        line.trim_matches('│').to_string()
    };
    let arousal = row(&tall, "arousal");
    assert!(arousal.contains("+0.62"), "{arousal}");
    // Positive arousal fills right of the centre mark, negative valence left of it.
    let (left, right) = arousal.split_once('│').unwrap();
    assert!(!left.contains('█') && right.contains('█'), "{arousal}");
    let valence = row(&tall, "valence");
    assert!(valence.contains("-0.48"), "{valence}");
    let (left, right) = valence.split_once('│').unwrap();
    assert!(left.contains('█') && !right.contains('█'), "{valence}");
    // Without the rows to spare the readout stays out rather than squeezing the bars.
    assert!(!short.contains("arousal"), "{short}");
    // A no-speech window leaves the readout empty, not showing the last values.
    app.on_event(&window(1, 3.5, None));
    let quiet = buf_text(&widget(
        Probabilities {
            app: &app,
            theme: &t,
        },
        40,
        17,
    ));
    let arousal = row(&quiet, "arousal");
    assert!(
        arousal.ends_with("    -") && !arousal.contains('█'),
        "{arousal}"
    );
}

#[test]
fn widget_timeline() {
    let t = truecolor();
    let mut app = live_app(Some(7));
    let narrow = widget(
        Timeline {
            app: &app,
            theme: &t,
        },
        80,
        4,
    );
    let wide = widget(
        Timeline {
            app: &app,
            theme: &t,
        },
        200,
        6,
    );
    app.on_key(key('+'));
    app.on_key(key('+'));
    let zoomed = widget(
        Timeline {
            app: &app,
            theme: &t,
        },
        80,
        4,
    );
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        buf_text(&narrow),
        buf_text(&wide),
        buf_text(&zoomed)
    ));
    // At 2 s a cell the newest cells are surprised, the no-speech stretch (windows
    // 41-60, 21-31 s) is dots, and the cells before the session are empty.
    let cell = |b: &Buffer, x: u16| (b[(x, 1)].symbol().to_string(), b[(x, 1)].fg);
    assert_eq!(cell(&narrow, 78), ("█".into(), t.emotion("surprised")));
    // Now is 120.5 s; 25 s is (120.5 - 25) / 2 = 47 cells back from the newest (x 78).
    assert_eq!(cell(&narrow, 78 - 47).0, "·");
    let (sym, _) = cell(&wide, 2);
    assert_eq!(sym, " ", "before the session started");
    assert!(buf_text(&zoomed).contains("0.5 s per cell"));
}

#[test]
fn widget_log_and_footer() {
    let t = truecolor();
    let mut app = live_app(Some(7));
    app.log(LogKind::Warning, "no audio from the device for 2 s");
    app.log(
        LogKind::Recording,
        "saved angry/20261121-141000_ann.wav (2.4 s)",
    );
    let log = buf_text(&widget(
        Log {
            app: &app,
            theme: &t,
        },
        80,
        8,
    ));
    app.log.page = 6;
    app.on_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::PageUp,
        crossterm::event::KeyModifiers::NONE,
    ));
    let scrolled = buf_text(&widget(
        Log {
            app: &app,
            theme: &t,
        },
        80,
        8,
    ));
    let footer = buf_text(&widget(
        Footer {
            app: &app,
            theme: &t,
        },
        80,
        1,
    ));
    insta::assert_snapshot!(format!("{log}\n{scrolled}\n{footer}"));
    assert!(log.contains("▲ marker 1") && log.contains("✎ talks about work"));
    assert!(scrolled.contains("newer below"));
    let overlay = buf_text(&widget(
        OverlayView {
            app: &app,
            theme: &t,
        },
        80,
        24,
    ));
    assert!(overlay.trim().is_empty(), "no overlay open");
}
