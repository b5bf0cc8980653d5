//! Sessions end to end: `emotty listen` on real audio in a child process, killed,
//! signalled, starved of disk; then `emotty sessions` reading what it left.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn m() -> String {
    model().display().to_string()
}

/// Window end times of JSON lines printed by `listen --format json`.
fn printed_ends(lines: &[String]) -> Vec<f64> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["end_s"].as_f64().unwrap()
        })
        .collect()
}

fn timeline_ends(dir: &std::path::Path) -> Vec<f64> {
    json_lines(&dir.join("timeline.jsonl"))
        .iter()
        .map(|r| r["end_s"].as_f64().unwrap())
        .collect()
}

/// Parses a whole XML document; panics on the first error.
fn parse_xml(text: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut elements = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) => {
                elements += 1
            }
            _ => {}
        }
    }
    elements
}

#[test]
fn listen_logs_a_session_that_can_be_listed_shown_and_exported() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 6.0);
    let run = home
        .run(&[
            "listen",
            "--input",
            wav.to_str().unwrap(),
            "--fast",
            "--model",
            &m(),
            "--format",
            "json",
            "--session",
            "client-42",
        ])
        .ok();
    let printed: Vec<String> = run.stdout.lines().map(str::to_string).collect();
    assert!(printed.len() >= 8, "{}", run.stdout);
    let dir = only_session(&home.sessions());
    assert!(run.stderr.contains(&format!(
        "session {}",
        dir.file_name().unwrap().to_str().unwrap()
    )));

    let meta = read_json(&dir.join("session.json"));
    assert_eq!(meta["status"], "closed");
    assert_eq!(meta["name"], "client-42");
    assert_eq!(meta["ended"]["reason"], "end_of_input");
    assert_eq!(meta["source"]["kind"], "file");
    assert_eq!(meta["source"]["sample_rate"], 16000);
    assert_eq!(meta["model"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(meta["writer"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(meta["window_s"].as_f64().unwrap() > 0.0);
    assert_eq!(meta["hop_s"], 0.5);
    assert!(meta["end"]["utc"].as_str().unwrap() >= meta["start"]["utc"].as_str().unwrap());
    assert!(meta["start"]["local"].is_string());
    assert!(meta["summary"]["duration_s"].as_f64().unwrap() > 5.0);
    assert!(
        !dir.join("audio.wav").exists(),
        "no audio without --keep-audio"
    );
    // The timeline holds exactly what was printed.
    assert_eq!(timeline_ends(&dir), printed_ends(&printed));
    let rows = json_lines(&dir.join("timeline.jsonl"));
    for r in &rows {
        assert!(r["wall"].is_string() && r["speech_ratio"].is_number());
        match r["probs"].as_object() {
            Some(p) => assert_eq!(p.len(), 8),
            None => assert_eq!(r["no_speech"], true),
        }
    }

    let list = home.run(&["sessions"]).ok();
    let line = list.stdout.lines().nth(1).unwrap();
    assert!(
        line.contains("client-42") && line.ends_with("closed"),
        "{line}"
    );
    let show = home.run(&["sessions", "show", "client-42"]).ok();
    assert!(
        show.stdout.contains("share of speech time per emotion"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("emotion changes"));
    assert!(show.stdout.contains("(closed)"));

    let csv = home
        .run(&["sessions", "export", "latest", "--format", "csv"])
        .ok();
    let windows = csv
        .stdout
        .lines()
        .filter(|l| l.starts_with("window,"))
        .count();
    assert_eq!(windows, rows.len());
    let json = home
        .run(&["sessions", "export", "client-42", "--format", "json"])
        .ok();
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["timeline"].as_array().unwrap().len(), rows.len());
    let out = tmp.path().join("report.svg");
    home.run(&[
        "sessions",
        "export",
        "latest",
        "--format",
        "svg",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(parse_xml(&svg) > 20);
    // --out is checked before the session is read, and written like the shell's `>`:
    // through a symbolic link the link stays and its target gets the export.
    let missing = tmp.path().join("gone/report.csv");
    let line = home
        .run(&[
            "sessions",
            "export",
            "latest",
            "--format",
            "csv",
            "--out",
            missing.to_str().unwrap(),
        ])
        .fails_with_one_line();
    assert!(line.ends_with("gone does not exist"), "{line}");
    assert!(!missing.exists());
    let target = tmp.path().join("target.csv");
    let link = tmp.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    home.run(&[
        "sessions",
        "export",
        "latest",
        "--format",
        "csv",
        "--out",
        link.to_str().unwrap(),
    ])
    .ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), csv.stdout);
    // A hand-edited name with a terminal escape in it is shown escaped, in the list and
    // in `show`, and kept exact in JSON.
    let meta_path = dir.join("session.json");
    let mut meta = read_json(&meta_path);
    meta["name"] = Value::from("\u{1b}]0;TITLE\u{7}client");
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    for args in [vec!["sessions"], vec!["sessions", "show", "latest"]] {
        let out = home.run(&args).ok().stdout;
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(out.contains("\\e]0;TITLE\\x07client"), "{out}");
    }
    let json = home.run(&["sessions", "--json"]).ok().stdout;
    assert!(json.contains("\\u001b]0;TITLE\\u0007client"), "{json}");
}

#[test]
fn kill_9_mid_run_loses_nothing_printed_and_reads_as_interrupted() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 12.0);
    let mut cmd = home.emotty();
    cmd.args(["listen", "--input", wav.to_str().unwrap(), "--model", &m()])
        .args(["--format", "json", "--keep-audio", "--session", "crashy"]);
    let started = Instant::now();
    let child = Running::spawn(cmd);
    // About two and a half seconds of real-time audio.
    let mut seen = child.take_lines(usize::MAX, Duration::from_millis(2500));
    child.signal(libc::SIGKILL);
    let killed_after = started.elapsed().as_secs_f64();
    let (status, rest, _) = child.finish(Duration::from_secs(10));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    seen.extend(rest.into_iter().map(|l| (Instant::now(), l)));
    let printed: Vec<String> = seen.into_iter().map(|(_, l)| l).collect();
    assert!(
        printed.len() >= 2,
        "too little output before the kill: {printed:?}"
    );

    let dir = only_session(&home.sessions());
    let meta = read_json(&dir.join("session.json"));
    assert_eq!(meta["status"], "running", "nobody closed it");
    // Every printed window is in the timeline (it is written first), and the
    // timeline lags the audio that reached the disk by at most a second.
    let logged = timeline_ends(&dir);
    let printed = printed_ends(&printed);
    assert!(logged.len() >= printed.len());
    assert_eq!(&logged[..printed.len()], &printed[..]);
    let header_s = {
        let r = hound::WavReader::open(dir.join("audio.wav")).unwrap();
        r.duration() as f64 / r.spec().sample_rate as f64
    };
    let on_disk_s = (std::fs::metadata(dir.join("audio.wav")).unwrap().len() - 44) as f64 / 32000.0;
    assert!(
        on_disk_s <= killed_after + 0.5,
        "{on_disk_s} s of audio after {killed_after} s"
    );
    let last = *logged.last().unwrap();
    assert!(
        last >= on_disk_s - 1.0,
        "timeline ends at {last} s, audio at {on_disk_s} s"
    );
    assert!(
        header_s >= on_disk_s - 1.2,
        "header {header_s} s, data {on_disk_s} s"
    );

    // Listing shows it as interrupted and repairs the audio header.
    let list = home.run(&["sessions"]).ok();
    assert!(
        list.stdout.lines().nth(1).unwrap().ends_with("interrupted"),
        "{}",
        list.stdout
    );
    let (rate, ch, samples) = read_wav(&dir.join("audio.wav"));
    assert_eq!((rate, ch), (16000, 1));
    assert!((samples.len() as f64 / 16000.0 - on_disk_s).abs() < 1e-3);
    // show and export work on it.
    let show = home.run(&["sessions", "show", "crashy"]).ok();
    assert!(show.stdout.contains("(interrupted)"), "{}", show.stdout);
    assert!(show.stdout.contains("not closed properly"));
    let svg = home
        .run(&["sessions", "export", "crashy", "--format", "svg"])
        .ok();
    parse_xml(&svg.stdout);
    let csv = home
        .run(&["sessions", "export", "crashy", "--format", "csv"])
        .ok();
    assert_eq!(
        csv.stdout
            .lines()
            .filter(|l| l.starts_with("window,"))
            .count(),
        logged.len()
    );
}

#[test]
fn sigint_sigterm_and_sighup_close_the_session_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 12.0);
    for (sig, name) in [
        (libc::SIGINT, "SIGINT"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let home = Home::new();
        let mut cmd = home.emotty();
        cmd.args([
            "listen",
            "--input",
            wav.to_str().unwrap(),
            "--model",
            &m(),
            "--format",
            "json",
        ]);
        let child = Running::spawn(cmd);
        let first = child.take_lines(2, Duration::from_secs(15));
        assert_eq!(first.len(), 2, "{name}: no output");
        let sent = Instant::now();
        child.signal(sig);
        let (status, rest, stderr) = child.finish(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "{name}: {stderr}");
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "{name}: slow to stop"
        );
        let dir = only_session(&home.sessions());
        let meta = read_json(&dir.join("session.json"));
        assert_eq!(meta["status"], "closed", "{name}");
        assert_eq!(meta["ended"]["reason"], "signal");
        assert_eq!(meta["ended"]["message"], name);
        let printed: Vec<String> = first.into_iter().map(|(_, l)| l).chain(rest).collect();
        assert_eq!(timeline_ends(&dir), printed_ends(&printed), "{name}");
        assert!(stderr.contains("closed:"), "{name}: {stderr}");
        let events = json_lines(&dir.join("events.jsonl"));
        assert_eq!(events.last().unwrap()["kind"], "ended");
    }
}

#[test]
fn duration_stops_after_exactly_that_much_audio() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 12.0);
    home.run(&[
        "listen",
        "--input",
        wav.to_str().unwrap(),
        "--fast",
        "--model",
        &m(),
        "--duration",
        "3",
        "--keep-audio",
        "--format",
        "json",
    ])
    .ok();
    let dir = only_session(&home.sessions());
    let ends = timeline_ends(&dir);
    assert!(ends.iter().all(|&e| e <= 3.0), "{ends:?}");
    assert_eq!(*ends.last().unwrap(), 3.0);
    let (_, _, samples) = read_wav(&dir.join("audio.wav"));
    assert_eq!(samples.len(), 3 * 16000);
    let meta = read_json(&dir.join("session.json"));
    assert_eq!(meta["ended"]["reason"], "duration");
    assert_eq!(meta["audio"]["files"][0], "audio.wav");

    // Paced like a microphone, it takes about that long.
    let home = Home::new();
    let t = Instant::now();
    home.run(&[
        "listen",
        "--input",
        wav.to_str().unwrap(),
        "--model",
        &m(),
        "--duration",
        "1.5",
    ])
    .ok();
    let took = t.elapsed().as_secs_f64();
    assert!((1.4..5.0).contains(&took), "{took} s");
}

#[test]
fn a_full_disk_ends_listen_with_a_clear_error_and_keeps_what_was_written() {
    let Some(disk) = SmallDisk::mount(64) else {
        eprintln!("skipped: cannot mount a tmpfs here (the /dev/full unit tests still ran)");
        return;
    };
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 20.0);
    let sessions = disk.path().join("sessions");
    let run = home.run(&[
        "listen",
        "--input",
        wav.to_str().unwrap(),
        "--fast",
        "--model",
        &m(),
        "--keep-audio",
        "--format",
        "json",
        "--sessions-dir",
        sessions.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("emotty: ")
                && !l.starts_with("emotty: session ")
                && !l.contains("listening to")
        })
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("No space left on device"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("what was written is kept in"),
        "{}",
        errors[0]
    );
    // What was written is readable.
    let show = home.run(&[
        "sessions",
        "--sessions-dir",
        sessions.to_str().unwrap(),
        "show",
        "latest",
    ]);
    let show = show.ok();
    assert!(show.stdout.contains("share of speech time"));
    let dir = only_session(&sessions);
    let rows = timeline_ends(&dir);
    let printed = printed_ends(&run.stdout.lines().map(str::to_string).collect::<Vec<_>>());
    assert_eq!(&rows[..printed.len()], &printed[..]);
}

#[test]
fn no_session_stores_nothing() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let wav = speech_wav(tmp.path(), 3.0);
    home.run(&[
        "listen",
        "--input",
        wav.to_str().unwrap(),
        "--fast",
        "--model",
        &m(),
        "--no-session",
    ])
    .ok();
    assert!(!home.sessions().exists());
    let err = home
        .run(&[
            "listen",
            "--no-session",
            "--keep-audio",
            "--input",
            wav.to_str().unwrap(),
        ])
        .stderr;
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_bad_input_is_one_line_and_leaves_no_session() {
    let home = Home::new();
    let line = home
        .run(&["listen", "--input", "no/such.wav", "--model", &m()])
        .fails_with_one_line();
    assert!(line.contains("no/such.wav"), "{line}");
    assert!(!home.sessions().exists());
    // Settings the engine refuses fail before a session folder is made.
    let line = home
        .run(&[
            "listen",
            "--input",
            "tests/fixtures/corpus/tess/OAF_angry/OAF_bath_angry.flac",
            "--model",
            &m(),
            "--hop",
            "0",
        ])
        .fails_with_one_line();
    assert!(line.contains("hop"), "{line}");
    assert!(!home.sessions().exists());
    let line = home
        .run(&[
            "listen",
            "--input",
            "Cargo.toml",
            "--model",
            &m(),
            "--duration=-1",
        ])
        .fails_with_one_line();
    assert!(line.contains("--duration"), "{line}");
}

#[test]
fn an_unknown_session_is_a_clear_error() {
    let home = Home::new();
    let line = home
        .run(&["sessions", "show", "nope"])
        .fails_with_one_line();
    assert!(line.contains("no session \"nope\""), "{line}");
    // Listing an empty store is not an error.
    let run = home.run(&["sessions"]).ok();
    assert!(run.stdout.is_empty() && run.stderr.contains("no sessions"));
}
