use super::*;
use crate::engine::{Level, SpectrogramColumn, StartInfo};
use crate::engine::{Outcome, SourceKind};
use crate::testing::events;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn labels() -> Vec<String> {
    crate::emotion::EMOTIONS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn app() -> App {
    App::new(AppSetup {
        labels: labels(),
        model_name: "test".into(),
        emoji: true,
        recording_unavailable: None,
        session: Some("s1".into()),
    })
}

fn started(name: &str) -> Event {
    Event::Started(StartInfo {
        mel_frequencies: (0..40).map(|i| i as f32 * 200.0).collect(),
        ..events::start_info(events::source(SourceKind::Microphone, name, 48_000, 1))
    })
}

fn window(index: u64, end_s: f64, top: Option<usize>) -> Event {
    let (ratio, outcome) = match top {
        Some(t) => (0.8, events::peaked(t, 0.65, 0.05)),
        None => (0.05, Outcome::NoSpeech),
    };
    events::window(
        index,
        ((end_s - 3.0).max(0.0), end_s),
        ratio,
        -30.0,
        outcome,
    )
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn log_texts(app: &App, kind: LogKind) -> Vec<String> {
    app.log
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.text.clone())
        .collect()
}

#[test]
fn a_no_speech_window_replaces_the_bars_instead_of_leaving_them_stale() {
    let mut a = app();
    a.on_event(&started("Mic"));
    a.on_event(&window(0, 1.0, Some(4)));
    assert!(matches!(
        *a.emotion.latest(),
        Latest::Emotion { top: 4, .. }
    ));
    assert_eq!(a.emotion.speech(), Some(true));
    a.on_event(&window(1, 1.5, None));
    assert_eq!(*a.emotion.latest(), Latest::NoSpeech { speech_ratio: 0.05 });
    assert_eq!(a.emotion.speech(), Some(false));
    assert_eq!(
        a.timeline
            .points()
            .iter()
            .map(|p| p.top)
            .collect::<Vec<_>>(),
        [Some(4), None]
    );
}

#[test]
fn emotion_changes_are_logged_once_and_debounced_like_sessions_show() {
    let mut a = app();
    a.on_event(&started("Mic"));
    // happy ×3, one sad blip, happy, then sad ×3 with a no-speech gap inside.
    let tops = [
        Some(2),
        Some(2),
        Some(2),
        Some(3),
        Some(2),
        Some(3),
        None,
        Some(3),
        Some(3),
    ];
    for (i, t) in tops.iter().enumerate() {
        a.on_event(&window(i as u64, 1.0 + i as f64 * 0.5, *t));
    }
    let changes: Vec<(f64, String)> = a
        .log
        .iter()
        .filter(|e| e.kind == LogKind::Emotion)
        .map(|e| (e.t, e.text.clone()))
        .collect();
    // hold = 3 windows at a 0.5 s hop; each change is dated at its first window.
    assert_eq!(
        changes,
        [
            (1.0, "happy (65%)".to_string()),
            (3.5, "happy → sad (65%)".to_string())
        ]
    );
}

#[test]
fn pausing_freezes_the_display_and_asks_the_session_to_pause() {
    let mut a = app();
    a.on_event(&started("Mic"));
    a.on_event(&window(0, 1.0, Some(1)));
    assert_eq!(a.on_key(key(' ')), [Command::Pause]);
    assert!(a.paused);
    a.on_event(&window(1, 1.5, Some(4)));
    a.on_event(&Event::Spectrogram(SpectrogramColumn {
        time_s: 1.6,
        mel_db: vec![0.0; 40],
    }));
    // Bars and timeline still show the window from before the pause; the clock moved.
    assert!(matches!(
        *a.emotion.latest(),
        Latest::Emotion { top: 1, .. }
    ));
    assert_eq!(a.timeline.points().len(), 1);
    assert!((a.time_s() - 1.6).abs() < 1e-9);
    assert_eq!(a.on_key(key(' ')), [Command::Resume]);
    assert_eq!(a.timeline.pauses(), [(1.0, Some(1.6))]);
    assert_eq!(log_texts(&a, LogKind::Info), ["paused", "resumed"]);
}

#[test]
fn r_then_a_digit_starts_a_labeled_recording_and_r_stops_it() {
    let mut a = app();
    a.on_event(&started("Mic"));
    assert!(a.on_key(key('r')).is_empty());
    assert_eq!(a.overlay, Overlay::ChooseLabel);
    assert_eq!(
        a.on_key(key('5')),
        [Command::StartRecording("angry".into())]
    );
    assert_eq!(a.overlay, Overlay::None);
    a.recording_started("angry");
    a.on_event(&Event::Level(Level {
        time_s: 2.0,
        rms_dbfs: -20.0,
        peak_dbfs: -6.0,
        clipped: false,
    }));
    assert_eq!(a.recording_elapsed(), Some(2.0));
    assert_eq!(a.on_key(key('r')), [Command::StopRecording]);
    a.recording_ended(LogKind::Recording, "saved angry/x.wav");
    assert!(a.recording.is_none());
    // Esc or another key cancels the label choice; 9 is not a label.
    a.on_key(key('r'));
    assert!(a.on_key(key('9')).is_empty());
    assert_eq!(a.overlay, Overlay::None);
    a.on_key(key('r'));
    assert!(a.on_key(code(KeyCode::Esc)).is_empty());
    assert_eq!(a.overlay, Overlay::None);
}

#[test]
fn quitting_while_recording_asks_first() {
    let mut a = app();
    a.recording_started("sad");
    assert!(a.on_key(key('q')).is_empty());
    assert_eq!(a.overlay, Overlay::ConfirmQuit);
    // Esc keeps recording.
    assert!(a.on_key(code(KeyCode::Esc)).is_empty());
    assert!(a.recording.is_some());
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(a.on_key(ctrl_c).is_empty());
    assert_eq!(a.on_key(key('y')), [Command::StopRecording, Command::Quit]);
    a.on_key(key('q'));
    assert_eq!(
        a.on_key(key('d')),
        [Command::DiscardRecording, Command::Quit]
    );
    // Not recording: q and Ctrl-C quit at once.
    let mut b = app();
    assert_eq!(b.on_key(key('q')), [Command::Quit]);
    assert_eq!(b.on_key(ctrl_c), [Command::Quit]);
}

#[test]
fn markers_are_numbered_and_notes_are_typed() {
    let mut a = app();
    assert_eq!(a.on_key(key('m')), [Command::Marker("marker 1".into())]);
    assert_eq!(a.on_key(key('m')), [Command::Marker("marker 2".into())]);
    a.on_key(key('n'));
    for c in "door knockx".chars() {
        assert!(a.on_key(key(c)).is_empty(), "typing {c} does nothing else");
    }
    a.on_key(code(KeyCode::Backspace));
    a.on_paste("\n!");
    assert_eq!(a.overlay, Overlay::Note("door knock!".into()));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        [Command::Note("door knock!".into())]
    );
    // Keys typed into a note are not commands: q did not quit.
    a.on_key(key('n'));
    assert!(a.on_key(key('q')).is_empty());
    assert!(a.on_key(code(KeyCode::Esc)).is_empty());
    assert_eq!(a.overlay, Overlay::None);
    a.marker_logged("marker 3", false);
    assert_eq!(
        log_texts(&a, LogKind::Marker),
        ["marker 3 (not saved: no session)"]
    );
}

#[test]
fn every_binding_in_the_help_is_a_key_that_does_that() {
    for b in BINDINGS {
        let first = b.keys.split(' ').next().unwrap_or("");
        let k = match first {
            "Space" => key(' '),
            "Up" => code(KeyCode::Up),
            "PgUp" => code(KeyCode::PageUp),
            "End" => code(KeyCode::End),
            s if s.chars().count() == 1 => key(s.chars().next().unwrap()),
            other => panic!("unexpected key name {other}"),
        };
        assert_eq!(action_of(&k), Some(b.action), "{}", b.keys);
    }
    assert_eq!(action_of(&code(KeyCode::F(1))), Some(Action::Help));
    assert_eq!(action_of(&code(KeyCode::Down)), Some(Action::ScrollDown));
    assert_eq!(action_of(&code(KeyCode::PageDown)), Some(Action::PageDown));
    assert_eq!(action_of(&key('-')), Some(Action::ZoomOut));
    assert_eq!(action_of(&key('x')), None);
}

#[test]
fn the_device_picker_lists_selects_and_switches() {
    let mut a = app();
    a.on_event(&started("USB Mic"));
    assert_eq!(a.on_key(key('d')), [Command::ListDevices]);
    a.show_devices(vec![
        DeviceEntry {
            name: "Built-in".into(),
            id: "alsa:hw:0".into(),
            detail: "2 ch, 44100 Hz".into(),
            is_default: true,
        },
        DeviceEntry {
            name: "USB Mic".into(),
            id: "alsa:hw:1".into(),
            detail: "1 ch, 48000 Hz".into(),
            is_default: false,
        },
    ]);
    // The current device is selected first.
    assert!(matches!(a.overlay, Overlay::Devices { selected: 1, .. }));
    a.on_key(code(KeyCode::Up));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        [Command::SwitchDevice {
            id: "alsa:hw:0".into(),
            name: "Built-in".into()
        }]
    );
    // A new engine continues the session's clock, and says so in the log.
    a.on_event(&window(0, 4.0, Some(0)));
    a.on_event(&started("Built-in"));
    a.on_event(&window(0, 1.0, Some(0)));
    assert_eq!(a.timeline.points().back().map(|p| p.end_s), Some(5.0));
    assert!(
        log_texts(&a, LogKind::Device)
            .iter()
            .any(|t| t.starts_with("source: Built-in"))
    );
}

#[test]
fn a_lost_device_is_logged_and_its_return_too() {
    let mut a = app();
    a.on_event(&started("USB Mic"));
    a.on_event(&Event::Ended(EndReason::DeviceLost("gone".into())));
    assert_eq!(a.source_state, SourceState::Lost("gone".into()));
    a.on_event(&started("USB Mic"));
    assert_eq!(a.source_state, SourceState::Running);
    let dev = log_texts(&a, LogKind::Device);
    assert!(dev.iter().any(|t| t == "audio is back: USB Mic"), "{dev:?}");
    assert_eq!(log_texts(&a, LogKind::Error), ["device lost: gone"]);
}

#[test]
fn the_log_scrolls_and_stays_put_while_lines_arrive() {
    let mut a = app();
    a.log.page = 3;
    for i in 0..10 {
        a.log(LogKind::Info, format!("line {i}"));
    }
    a.on_key(code(KeyCode::Up));
    assert_eq!(a.log.scroll(), 1);
    a.on_key(code(KeyCode::PageUp));
    assert_eq!(a.log.scroll(), 4);
    a.log(LogKind::Info, "new");
    assert_eq!(a.log.scroll(), 5, "the view keeps showing the same lines");
    for _ in 0..10 {
        a.on_key(code(KeyCode::PageUp));
    }
    assert_eq!(a.log.scroll(), 11 - 3, "not past the oldest page");
    a.on_key(code(KeyCode::End));
    assert_eq!(a.log.scroll(), 0);
}

#[test]
fn only_real_changes_ask_for_a_redraw() {
    let mut a = app();
    assert_eq!(a.redraw(), Redraw::Urgent, "the first frame");
    a.drawn();
    assert_eq!(a.redraw(), Redraw::None);
    a.set_clock(0);
    assert_eq!(a.redraw(), Redraw::None, "same second, nothing to draw");
    a.on_event(&Event::Level(Level {
        time_s: 0.05,
        rms_dbfs: -30.0,
        peak_dbfs: -20.0,
        clipped: true,
    }));
    assert_eq!(a.redraw(), Redraw::Moving);
    assert!(a.clipping());
    a.on_event(&window(0, 1.0, Some(2)));
    assert_eq!(a.redraw(), Redraw::Now, "a verdict goes on screen at once");
    a.drawn();
    // Paused: the stream goes on, the screen stays.
    a.on_key(key(' '));
    a.drawn();
    for i in 0..10 {
        a.on_event(&Event::Spectrogram(SpectrogramColumn {
            time_s: 1.0 + i as f64 * 0.01,
            mel_db: vec![-50.0; 40],
        }));
    }
    a.on_event(&window(1, 1.5, Some(3)));
    assert_eq!(a.redraw(), Redraw::None);
    a.set_clock(1);
    assert_eq!(a.redraw(), Redraw::Urgent, "the clock still ticks");
}

#[test]
fn zoom_steps_stay_in_range() {
    let mut a = app();
    assert_eq!(a.seconds_per_cell(), 2.0);
    for _ in 0..20 {
        a.on_key(key('+'));
    }
    assert_eq!(a.seconds_per_cell(), ZOOM_STEPS[0]);
    for _ in 0..20 {
        a.on_key(key('-'));
    }
    assert_eq!(a.seconds_per_cell(), *ZOOM_STEPS.last().unwrap());
    assert_eq!(clock_tenths(3725.46), "1:02:05.4");
    assert_eq!(clock_tenths(65.0), "01:05.0");
    assert_eq!(clock_hms(3725), "01:02:05");
}

#[test]
fn recording_unavailable_says_why_instead_of_opening_the_chooser() {
    let mut a = App::new(AppSetup {
        recording_unavailable: Some("no home directory".into()),
        ..AppSetup {
            labels: labels(),
            model_name: "t".into(),
            emoji: false,
            recording_unavailable: None,
            session: None,
        }
    });
    assert!(a.on_key(key('r')).is_empty());
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(
        log_texts(&a, LogKind::Error),
        ["cannot record: no home directory"]
    );
}

#[test]
fn data_in_the_log_and_the_device_name_cannot_drive_the_terminal() {
    let mut a = app();
    // A device (or file) name with a title-setting escape, and an engine warning.
    a.on_event(&started("mic\u{1b}]0;PWNED\u{7}"));
    a.on_event(&started("second\nline"));
    a.on_event(&Event::Warning {
        message: "odd \u{1b}[2J data".into(),
    });
    let texts: Vec<String> = a.log.iter().map(|e| e.text.clone()).collect();
    for t in &texts {
        assert!(!t.chars().any(char::is_control), "{t:?}");
    }
    assert!(
        texts.iter().any(|t| t.contains("second\\nline")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("odd \\e[2J data")),
        "{texts:?}"
    );
}

#[test]
fn a_starts_the_voice_adaptation_afresh_when_the_stream_adapts() {
    let mut a = app();
    a.on_event(&started("mic"));
    assert!(a.on_key(key('a')).is_empty(), "nothing adapts");
    assert!(
        log_texts(&a, LogKind::Info)
            .iter()
            .any(|l| l.contains("does not adapt")),
        "{:?}",
        a.log
    );
    let Event::Started(mut info) = started("mic") else {
        unreachable!()
    };
    info.adapting = true;
    a.on_event(&Event::Started(info));
    assert_eq!(a.on_key(key('a')), vec![Command::ResetAdaptation]);
    assert!(
        log_texts(&a, LogKind::Info)
            .iter()
            .any(|l| l.contains("adapting afresh")),
        "{:?}",
        a.log
    );
}
