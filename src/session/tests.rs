//! Writer → files → reader round trips on real files, with synthetic engine events.

use std::fs;
use std::path::Path;

use super::format::*;
use super::store::{self, Status};
use super::*;
use crate::emotion::EMOTIONS;
use crate::engine::{
    AudioChunk, EndReason, Event, Level, Outcome, SourceInfo, SourceKind, StartInfo, Stats,
};
use crate::testing::events;

fn setup(root: &Path, name: Option<&str>, keep_audio: bool) -> SessionSetup {
    SessionSetup {
        sessions_dir: root.to_path_buf(),
        name: name.map(str::to_string),
        model: ModelRecord {
            name: "test-model".into(),
            version: "0.1".into(),
            path: "tests/fixtures/test-model.onnx".into(),
            sha256: "0123456789abcdef".repeat(4),
        },
        keep_audio,
    }
}

fn source(name: &str, rate: u32, channels: u16) -> SourceInfo {
    events::source(SourceKind::Microphone, name, rate, channels)
}

fn started(src: SourceInfo) -> Event {
    Event::Started(StartInfo {
        model_name: "test-model".into(),
        ..events::start_info(src)
    })
}

/// Window `i` ends at 1.0 + 0.5 i; `top` None is no speech.
fn window(i: u64, top: Option<usize>) -> Event {
    let end = 1.0 + 0.5 * i as f64;
    let (ratio, outcome) = match top {
        Some(t) => (0.8, events::peaked(t, 0.65, 0.05)),
        None => (0.1, Outcome::NoSpeech),
    };
    events::window(i, ((end - 3.0).max(0.0), end), ratio, -23.0, outcome)
}

fn level(t: f64) -> Event {
    Event::Level(Level {
        time_s: t,
        rms_dbfs: -30.0,
        peak_dbfs: -10.0,
        clipped: false,
    })
}

/// Marks the session as written by a process that no longer exists, which is what a
/// crashed writer looks like to a reader.
fn orphan(dir: &Path) {
    let path = dir.join(META_FILE);
    let mut meta: SessionMeta = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    meta.writer.pid = 999_999_999;
    fs::write(&path, serde_json::to_string(&meta).unwrap()).unwrap();
}

#[test]
fn a_closed_session_reads_back_with_its_rows_events_and_summary() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), Some("client-42"), false)).unwrap();
    let dir = w.dir().to_path_buf();
    // Written at once, status running, no end.
    let meta: SessionMeta =
        serde_json::from_str(&fs::read_to_string(dir.join(META_FILE)).unwrap()).unwrap();
    assert_eq!(
        (meta.status, meta.end.is_none()),
        (WrittenStatus::Running, true)
    );
    assert_eq!(store::open(&dir).unwrap().status, Status::Running);

    w.on_event(&started(source("USB Mic", 48000, 1))).unwrap();
    for i in 0..6 {
        w.on_event(&level(1.0 + 0.5 * i as f64)).unwrap();
        w.on_event(&window(i, if i == 2 { None } else { Some(2) }))
            .unwrap();
    }
    w.marker("door <knock> & \"bell\"").unwrap();
    w.note("talks about work").unwrap();
    w.on_event(&Event::Warning {
        message: "audio is flowing again".into(),
    })
    .unwrap();
    w.on_event(&Event::Ended(EndReason::EndOfInput)).unwrap();
    let summary = w.close().unwrap();
    assert_eq!(summary.windows, 6);
    assert_eq!(summary.dominant.as_deref(), Some("happy"));

    let info = store::open(&dir).unwrap();
    assert_eq!(info.status, Status::Closed);
    let m = &info.meta;
    assert_eq!(m.name.as_deref(), Some("client-42"));
    assert_eq!(m.device.as_deref(), Some("USB Mic"));
    assert_eq!(m.source.as_ref().unwrap().sample_rate, 48000);
    assert_eq!(
        (m.sample_rate, m.window_s, m.hop_s),
        (Some(16000), Some(3.0), Some(0.5))
    );
    assert_eq!(m.model.sha256.len(), 64);
    assert_eq!(m.ended.as_ref().unwrap().reason, "end_of_input");
    assert!(m.end.as_ref().unwrap().utc >= m.start.utc);
    assert_eq!(m.labels.len(), 8);
    assert!(m.audio.is_none(), "no audio unless asked for");
    assert!(!dir.join("audio.wav").exists());

    let loaded = store::load(&info).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.rows.len(), 6);
    assert_eq!(loaded.rows[2].emotion, None);
    assert!(loaded.rows[2].no_speech && loaded.rows[2].probs.is_none());
    assert_eq!(loaded.rows[3].emotion.as_deref(), Some("happy"));
    assert_eq!(loaded.rows[3].probs.as_ref().unwrap()["happy"], 0.65);
    let kinds: Vec<&str> = loaded
        .events
        .iter()
        .map(|e| export::event_text(&e.kind).0)
        .collect();
    assert_eq!(kinds, ["started", "marker", "note", "warning", "ended"]);
    assert_eq!(
        loaded.events[1].t, 3.5,
        "a marker lands at the latest audio time"
    );
    // The summary computed from the files matches the one written at close.
    let recomputed = summary::summarize(&loaded.rows, &loaded.events, Some(0.5), Some(3.5));
    assert_eq!(recomputed, summary);
}

#[test]
fn sessions_started_in_the_same_second_get_their_own_folders() {
    let root = tempfile::tempdir().unwrap();
    let writers: Vec<SessionWriter> = (0..3)
        .map(|_| SessionWriter::create(setup(root.path(), None, false)).unwrap())
        .collect();
    let mut ids: Vec<&str> = writers.iter().map(|w| w.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| id.len() >= "2026-11-21T14-03-22".len()));
}

#[test]
fn an_interrupted_session_with_a_torn_line_is_still_readable() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), Some("c7"), true)).unwrap();
    let dir = w.dir().to_path_buf();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    for i in 0..4 {
        w.on_event(&window(i, Some(4))).unwrap();
        w.on_audio(&AudioChunk {
            first_frame: i * 4000,
            sample_rate: 8000,
            channels: 1,
            samples: vec![0.25; 4000],
        })
        .unwrap();
    }
    w.marker("before the crash").unwrap();
    // The crash: no close, a half-written row, and the writer's process is gone.
    drop(w);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(dir.join(TIMELINE_FILE))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"index\":4,\"start_s\":0.0,\"end_").unwrap();
    // Audio that reached the file after the header was last brought up to date.
    let mut a = fs::OpenOptions::new()
        .append(true)
        .open(dir.join("audio.wav"))
        .unwrap();
    std::io::Write::write_all(&mut a, &[0u8; 2000]).unwrap();
    orphan(&dir);

    let info = store::resolve(root.path(), "c7").unwrap();
    assert_eq!(info.status, Status::Interrupted);
    let loaded = store::load(&info).unwrap();
    assert_eq!(loaded.rows.len(), 4);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("timeline.jsonl:5: last line is incomplete"));
    assert_eq!(loaded.summary.dominant.as_deref(), Some("angry"));
    assert_eq!(loaded.summary.markers, 1);
    // Exports work on it.
    assert!(export::to_csv(&loaded).lines().count() >= 5);
    assert!(svg::render(&loaded).contains("before the crash"));
    // The kept audio is complete once the header is repaired.
    let before = hound::WavReader::open(dir.join("audio.wav"))
        .unwrap()
        .duration();
    assert_eq!(before, 16000, "the header covers what was synced");
    let repaired = store::repair_audio(&info);
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    let r = hound::WavReader::open(dir.join("audio.wav")).unwrap();
    assert_eq!(r.duration(), 17000);
}

#[test]
fn kept_audio_follows_pauses_and_format_changes() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, true))
        .unwrap()
        .with_audio_file_limit(2 * 3000);
    let dir = w.dir().to_path_buf();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    let chunk = |first, n, rate, ch: u16, v: f32| AudioChunk {
        first_frame: first,
        sample_rate: rate,
        channels: ch,
        samples: vec![v; n * ch as usize],
    };
    w.on_audio(&chunk(0, 1000, 8000, 1, 0.5)).unwrap();
    w.pause().unwrap();
    w.on_event(&window(0, Some(1))).unwrap(); // not logged while paused
    w.on_audio(&chunk(1000, 1000, 8000, 1, 0.5)).unwrap(); // kept as silence
    w.resume().unwrap();
    // 2500 more frames cross the 3000-frame limit: the rest goes to audio-2.wav.
    w.on_audio(&chunk(2000, 2500, 8000, 1, 0.5)).unwrap();
    // The engine restarts on a stereo 16 kHz device.
    w.on_event(&started(source("Other", 16000, 2))).unwrap();
    w.on_audio(&chunk(0, 800, 16000, 2, -0.5)).unwrap();
    w.close().unwrap();

    let info = store::open(&dir).unwrap();
    let audio = info.meta.audio.as_ref().unwrap();
    assert_eq!(audio.files, ["audio.wav", "audio-2.wav", "audio-3.wav"]);
    assert_eq!((audio.sample_rate, audio.channels), (16000, 2));
    let read = |name: &str| -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(dir.join(name)).unwrap();
        (r.spec(), r.samples::<i16>().map(|s| s.unwrap()).collect())
    };
    let (_, a) = read("audio.wav");
    assert_eq!(a.len(), 3000);
    assert!(a[..1000].iter().all(|&s| s == 16384));
    assert!(
        a[1000..2000].iter().all(|&s| s == 0),
        "paused audio is silence"
    );
    assert!(a[2000..].iter().all(|&s| s == 16384));
    let (_, b) = read("audio-2.wav");
    assert_eq!(b.len(), 1500);
    let (spec, c) = read("audio-3.wav");
    assert_eq!((spec.sample_rate, spec.channels, c.len()), (16000, 2, 1600));
    let loaded = store::load(&info).unwrap();
    assert!(loaded.rows.is_empty(), "the paused window was not logged");
    let kinds: Vec<&str> = loaded
        .events
        .iter()
        .map(|e| export::event_text(&e.kind).0)
        .collect();
    assert_eq!(
        kinds,
        ["started", "pause", "resume", "device_changed", "ended"]
    );
}

#[test]
fn a_full_disk_stops_the_writer_with_a_clear_error_and_keeps_what_was_written() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    let dir = w.dir().to_path_buf();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    w.on_event(&window(0, Some(0))).unwrap();
    w.on_event(&window(1, Some(0))).unwrap();
    // From here on every write to the timeline fails with ENOSPC, as on a full disk.
    let Some(full) = crate::testing::dev_full("a_full_disk_stops_the_writer") else {
        return;
    };
    w.timeline = full;
    let err = w.on_event(&window(2, Some(0))).unwrap_err().to_string();
    assert!(
        err.contains("timeline.jsonl: cannot write: No space left on device"),
        "{err}"
    );
    let again = w.marker("after").unwrap_err().to_string();
    assert!(
        again.contains("no longer written after an earlier error"),
        "{again}"
    );
    assert!(w.failure().is_some());
    // Closing still records why the session ended early.
    w.close().unwrap();
    let info = store::open(&dir).unwrap();
    assert_eq!(info.meta.ended.as_ref().unwrap().reason, "storage_failed");
    let loaded = store::load(&info).unwrap();
    assert_eq!(loaded.rows.len(), 2);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn dropped_audio_is_logged_as_a_warning() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 48000, 2))).unwrap();
    let stats = |dropped| {
        Event::Stats(Stats {
            time_s: 2.0,
            speech_s: 1.0,
            dropped_samples: dropped,
            hop_ms: 1.0,
            real_time_factor: 0.01,
            ring_fill: 0.1,
        })
    };
    w.on_event(&stats(0)).unwrap();
    w.on_event(&stats(960)).unwrap();
    w.on_event(&stats(960)).unwrap();
    let dir = w.dir().to_path_buf();
    drop(w);
    let (events, _) = store::read_jsonl::<EventRecord>(&dir.join(EVENTS_FILE)).unwrap();
    let warnings: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        warnings,
        ["480 frames of audio were dropped (the analysis fell behind)"]
    );
}

#[test]
fn sessions_are_found_by_id_prefix_name_and_latest() {
    let root = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for name in ["ann", "bob", "bob"] {
        let w = SessionWriter::create(setup(root.path(), Some(name), false)).unwrap();
        ids.push(w.id().to_string());
        w.close().unwrap();
        // Distinct start times, so "latest" is well defined.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // A folder that is not a session is reported, not fatal.
    fs::create_dir(root.path().join("junk")).unwrap();
    let listing = store::list(root.path()).unwrap();
    assert_eq!(listing.sessions.len(), 3);
    assert_eq!(listing.warnings.len(), 1);
    assert_eq!(store::resolve(root.path(), "latest").unwrap().id(), ids[2]);
    assert_eq!(store::resolve(root.path(), &ids[1]).unwrap().id(), ids[1]);
    assert_eq!(store::resolve(root.path(), "ann").unwrap().id(), ids[0]);
    let amb = store::resolve(root.path(), "bob").unwrap_err().to_string();
    assert!(amb.contains("matches several sessions"), "{amb}");
    let none = store::resolve(root.path(), "zed").unwrap_err().to_string();
    assert!(none.starts_with("no session \"zed\" in "), "{none}");
    // A prefix shared by several sessions is ambiguous; a unique one is enough.
    let amb = store::resolve(root.path(), "20").unwrap_err().to_string();
    assert!(amb.contains("matches several sessions"), "{amb}");
    // An empty sessions folder has no sessions, and "latest" says so.
    let empty = tempfile::tempdir().unwrap();
    assert!(store::resolve(&empty.path().join("none"), "latest").is_err());
}

/// Text content of every element with `class` = `class`, entity references resolved.
fn texts_in(svg: &str, class: &str) -> Vec<String> {
    use quick_xml::events::Event as X;
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut depth_in: Option<usize> = None;
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut current = String::new();
    loop {
        match reader.read_event().expect("the SVG is well-formed XML") {
            X::Start(e) => {
                depth += 1;
                let is = e
                    .attributes()
                    .flatten()
                    .any(|a| a.key.as_ref() == "class" && &*a.value == class);
                if is && depth_in.is_none() {
                    depth_in = Some(depth);
                }
            }
            X::End(_) => {
                if depth_in == Some(depth) {
                    out.push(std::mem::take(&mut current));
                    depth_in = None;
                }
                depth -= 1;
            }
            X::Text(t) if depth_in.is_some() => current.push_str(&t.xml10_content()),
            X::GeneralRef(r) if depth_in.is_some() => current.push(match r.into_inner().as_ref() {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                other => panic!("unexpected entity {other}"),
            }),
            X::Eof => break,
            _ => {}
        }
    }
    out
}

/// The text of the first `<g …>` whose opening tag contains `attr`.
fn group<'a>(svg: &'a str, attr: &str) -> &'a str {
    let start = svg.find(attr).expect(attr);
    let end = svg[start..].find("</g>").unwrap();
    &svg[start..start + end]
}

#[test]
fn the_svg_is_well_formed_and_shows_markers_gaps_legend_and_axis() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), Some("R&D <1>"), false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    for i in 0..40 {
        let top = match i {
            10..=14 => None,
            0..=19 => Some(2),
            _ => Some(3),
        };
        w.on_event(&window(i, top)).unwrap();
        if i == 25 {
            w.marker("door <knock> & \"bell\"").unwrap();
        }
        if i == 30 {
            w.note("mentions work").unwrap();
        }
    }
    let dir = w.dir().to_path_buf();
    w.close().unwrap();
    let loaded = store::load(&store::open(&dir).unwrap()).unwrap();
    let svg = svg::render(&loaded);

    let markers = texts_in(&svg, "marker");
    assert_eq!(markers.len(), 1);
    assert!(
        markers[0].contains("door <knock> & \"bell\""),
        "{markers:?}"
    );
    assert!(texts_in(&svg, "note")[0].contains("mentions work"));
    let legend = texts_in(&svg, "legend").join("|");
    for label in EMOTIONS {
        assert!(legend.contains(label), "legend lacks {label}: {legend}");
    }
    assert!(legend.contains("no speech"));
    let axis = texts_in(&svg, "axis").join("|");
    assert!(axis.contains("0:00") && axis.contains("0:10") && axis.contains("time since start"));
    // The no-speech windows are one hatched gap, and speech on either side of it is
    // drawn as separate areas, not bridged.
    assert_eq!(
        group(&svg, "class=\"no-speech\"").matches("<rect").count(),
        1
    );
    // Each emotion's band is one area per stretch of speech: two, around the gap.
    for label in EMOTIONS {
        let attr = format!("data-emotion=\"{label}\"");
        assert_eq!(group(&svg, &attr).matches("<path").count(), 2, "{label}");
    }
    assert!(svg.contains("Session R&amp;D &lt;1&gt;"));
}

#[test]
fn a_long_session_is_binned_to_the_plot_width() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    for i in 0..7200 {
        w.on_event(&window(i, Some((i / 600 % 8) as usize)))
            .unwrap();
    }
    let dir = w.dir().to_path_buf();
    w.close().unwrap();
    let loaded = store::load(&store::open(&dir).unwrap()).unwrap();
    let svg = svg::render(&loaded);
    assert!(svg.len() < 600_000, "{} bytes", svg.len());
    assert!(svg.contains("1:00:00"), "h:mm:ss past an hour");
    texts_in(&svg, "axis");
}

#[test]
fn csv_has_one_row_per_hop_and_per_event() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    w.on_event(&window(0, Some(0))).unwrap();
    w.note("a, \"quoted\" note").unwrap();
    w.on_event(&window(1, None)).unwrap();
    let dir = w.dir().to_path_buf();
    w.close().unwrap();
    let loaded = store::load(&store::open(&dir).unwrap()).unwrap();
    let csv = export::to_csv(&loaded);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "kind,start_s,end_s,wall,emotion,speech_ratio,rms_dbfs,neutral,calm,happy,sad,angry,fearful,disgust,surprised,arousal,valence,text"
    );
    let kinds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(kinds, ["started", "window", "note", "window", "ended"]);
    assert!(
        lines[3].ends_with(",\"a, \"\"quoted\"\" note\""),
        "{}",
        lines[3]
    );
    assert!(lines[4].contains(",no speech,"));
    // Every line has the same number of fields (quoted commas aside).
    assert_eq!(lines[2].split(',').count(), 18);
    let json = export::to_json(&loaded);
    assert_eq!(json["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(json["status"], "closed");
}

/// A speech window of a model that rates arousal and valence.
fn rated_window(i: u64, top: usize, arousal: f32, valence: f32) -> Event {
    let Event::Window(mut w) = window(i, Some(top)) else {
        unreachable!()
    };
    if let Outcome::Emotion { affect, .. } = &mut w.outcome {
        *affect = Some(crate::model::Affect { arousal, valence });
    }
    Event::Window(w)
}

#[test]
fn arousal_and_valence_reach_the_timeline_the_exports_and_the_picture() {
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    w.on_event(&rated_window(0, 4, 0.8, -0.6)).unwrap();
    w.on_event(&rated_window(1, 2, 0.4, 0.7)).unwrap();
    w.on_event(&window(2, None)).unwrap();
    w.on_event(&rated_window(3, 3, -0.5, -0.7)).unwrap();
    let dir = w.dir().to_path_buf();
    w.close().unwrap();
    let loaded = store::load(&store::open(&dir).unwrap()).unwrap();
    let rated: Vec<(Option<f32>, Option<f32>)> =
        loaded.rows.iter().map(|r| (r.arousal, r.valence)).collect();
    assert_eq!(
        rated,
        [
            (Some(0.8), Some(-0.6)),
            (Some(0.4), Some(0.7)),
            (None, None),
            (Some(-0.5), Some(-0.7))
        ]
    );
    let csv = export::to_csv(&loaded);
    let windows: Vec<&str> = csv.lines().filter(|l| l.starts_with("window,")).collect();
    assert!(windows[0].ends_with(",0.8000,-0.6000,"), "{}", windows[0]);
    assert!(windows[2].ends_with(",,,"), "{}", windows[2]);
    let json = export::to_json(&loaded);
    assert_eq!(json["timeline"][1]["valence"], 0.7f32 as f64);
    assert!(json["timeline"][2].get("arousal").is_none());
    // The picture gets a second strip: one line per run of rated windows, for each of
    // the two (the no-speech window splits both).
    let svg = svg::render(&loaded);
    assert!(svg.contains(r#"<g class="affect">"#));
    assert_eq!(svg.matches(r#"<polyline class="arousal""#).count(), 2);
    assert_eq!(svg.matches(r#"<polyline class="valence""#).count(), 2);
    // A session of a model without them has no such strip.
    let root = tempfile::tempdir().unwrap();
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    w.on_event(&window(0, Some(1))).unwrap();
    let dir = w.dir().to_path_buf();
    w.close().unwrap();
    let svg = svg::render(&store::load(&store::open(&dir).unwrap()).unwrap());
    assert!(!svg.contains("affect"));
}

/// Runs `f` on another thread and fails the test if it has not returned within 10 s
/// (a blocked open would otherwise hang the whole suite).
fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("blocked on a special file")
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn special_files_in_a_session_folder_are_refused_without_blocking() {
    let root = tempfile::tempdir().unwrap();
    // A whole session beside one whose session.json is a FIFO.
    let mut w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    w.on_event(&started(source("Mic", 8000, 1))).unwrap();
    w.on_event(&window(0, Some(0))).unwrap();
    let good = w.dir().to_path_buf();
    w.close().unwrap();
    let bad = root.path().join("2000-01-01T00-00-00");
    fs::create_dir(&bad).unwrap();
    mkfifo(&bad.join(META_FILE));
    let r = root.path().to_path_buf();
    let listing = within_10s(move || store::list(&r).unwrap());
    assert_eq!(listing.sessions.len(), 1);
    assert_eq!(listing.warnings.len(), 1, "{:?}", listing.warnings);
    assert!(
        listing.warnings[0].ends_with("session.json: cannot read: not a regular file"),
        "{}",
        listing.warnings[0]
    );
    // A FIFO in place of the timeline is an error when the session is loaded.
    fs::remove_file(good.join(TIMELINE_FILE)).unwrap();
    mkfifo(&good.join(TIMELINE_FILE));
    let g = good.clone();
    let err = within_10s(move || store::load(&store::open(&g).unwrap()).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("timeline.jsonl: cannot read: not a regular file"),
        "{err}"
    );
}

#[test]
fn a_reused_pid_does_not_make_a_killed_session_look_running() {
    let root = tempfile::tempdir().unwrap();
    let w = SessionWriter::create(setup(root.path(), None, false)).unwrap();
    let dir = w.dir().to_path_buf();
    let path = dir.join(META_FILE);
    let meta: SessionMeta = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    // The writer recorded its own start time; it is this (live) process.
    let started = meta.writer.started.expect("the writer's start time");
    assert_eq!(
        crate::durable::process_start_time(std::process::id()),
        Some(started)
    );
    assert_eq!(store::status_of(&meta), Status::Running);
    // The same pid with another start time is another process: the writer is gone.
    let mut other = meta.clone();
    other.writer.started = Some(started + 1);
    assert_eq!(store::status_of(&other), Status::Interrupted);
    // A session written before start times were recorded goes by the pid alone.
    let mut old = meta;
    old.writer.started = None;
    assert_eq!(store::status_of(&old), Status::Running);
    drop(w);
}
