//! The real capture path: ALSA → cpal callback → ring buffer → engine, fed in real time
//! by a PulseAudio null sink (CI installs PulseAudio with `scripts/bootstrap.sh --test`).
//! Also what happens without any sound server, and when the device vanishes mid-capture.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const ANGRY: &str = "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac";

fn probs(v: &Value) -> Vec<f64> {
    let obj = v["probs"].as_object().unwrap();
    emotty::emotion::EMOTIONS
        .iter()
        .map(|l| obj[*l].as_f64().unwrap())
        .collect()
}

#[test]
fn speech_played_into_the_default_device_is_captured_and_classified() {
    let Some(pulse) = Pulse::start() else { return };
    let home = Home::new();
    let m = model().display().to_string();
    let mut cmd = home.emotty();
    cmd.env("XDG_RUNTIME_DIR", pulse.runtime.path()).args([
        "listen",
        "--format",
        "json",
        "--no-session",
        "--duration",
        "9",
        "--model",
        &m,
    ]);
    let started = Instant::now();
    let running = Running::spawn(cmd);
    // The first window (0-1 s of the stream) is printed about 1 s after capture starts;
    // another second of room silence, then the sentence.
    let first = running.take_lines(1, Duration::from_secs(10));
    assert_eq!(first.len(), 1, "no window within 10 s");
    std::thread::sleep(Duration::from_secs(1));
    pulse.play(&repo().join(ANGRY));
    let (status, rest, stderr) = running.finish(Duration::from_secs(30));
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = first.into_iter().map(|(_, l)| l).chain(rest).collect();
    let elapsed = started.elapsed();
    // It ran in real time: 9 s of audio took about 9 s.
    assert!(elapsed > Duration::from_secs(8), "{elapsed:?}");
    assert!(!stderr.contains("ALSA lib"), "{stderr}");
    let windows: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(windows.len() >= 15, "{} windows", windows.len());
    // Nothing but silence before the playback: the first windows are no-speech.
    assert!(
        windows[..3].iter().all(|w| w["no_speech"] == true),
        "{:?}",
        &windows[..3]
    );
    let speech: Vec<&Value> = windows.iter().filter(|w| w["no_speech"] == false).collect();
    assert!(speech.len() >= 3, "speech windows: {}", speech.len());
    // The captured sentence gets the verdict the file gets: same windows, give or take
    // the capture's resampling and a few milliseconds of alignment.
    let file = home
        .run(&["classify", "--format", "json", "--model", &m, ANGRY])
        .ok();
    let file: Value = serde_json::from_str(file.stdout.lines().next().unwrap()).unwrap();
    let mut mean = vec![0.0; 8];
    let mut weight = 0.0;
    for w in &speech {
        let r = w["speech_ratio"].as_f64().unwrap();
        for (m, p) in mean.iter_mut().zip(probs(w)) {
            *m += r * p;
        }
        weight += r;
    }
    let diff = mean
        .iter()
        .zip(probs(&file))
        .map(|(a, b)| (a / weight - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 0.1, "captured {mean:?} vs file {file}");
}

#[test]
fn without_a_sound_server_there_is_no_microphone_and_no_noise() {
    let home = Home::new();
    let empty = tempfile::tempdir().unwrap();
    let m = model().display().to_string();
    // No PulseAudio reachable (an empty runtime dir) and no sound card on this machine
    // kind: ALSA's default device exists but cannot be opened.
    let run = |args: &[&str]| {
        let out = home
            .emotty()
            .env("XDG_RUNTIME_DIR", empty.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    if std::path::Path::new("/dev/snd").exists() {
        eprintln!("skipped: this machine has a sound card");
        return;
    }
    let devices = run(&["devices"]).ok();
    assert!(
        devices.stdout.starts_with("No audio input devices"),
        "{}",
        devices.stdout
    );
    assert_eq!(devices.stderr, "", "no ALSA or JACK chatter");
    let json = run(&["devices", "--json"]).ok();
    assert_eq!(json.stdout.trim(), "[]");
    let listen = run(&["listen", "--no-session", "--model", &m]);
    let line = listen.fails_with_one_line();
    assert!(line.contains("no microphone"), "{line}");
    assert!(line.contains("--input"), "says what to do instead: {line}");
    let named = run(&["listen", "--no-session", "--device", "usb", "--model", &m]);
    let line = named.fails_with_one_line();
    assert!(
        line.contains("no input device matches \"usb\"; available: none"),
        "{line}"
    );
    // ALSA's plugins (rate converters, JACK, OSS) cannot capture here: not offered.
    assert!(!line.contains("Plugin") && !line.contains("JACK"), "{line}");
}

#[test]
fn a_device_that_disappears_mid_capture_ends_the_run_cleanly() {
    let Some(pulse) = Pulse::start() else { return };
    let home = Home::new();
    let m = model().display().to_string();
    let mut cmd = home.emotty();
    cmd.env("XDG_RUNTIME_DIR", pulse.runtime.path()).args([
        "listen",
        "--format",
        "json",
        "--duration",
        "60",
        "--model",
        &m,
    ]);
    let running = Running::spawn(cmd);
    let first = running.take_lines(1, Duration::from_secs(10));
    assert_eq!(first.len(), 1, "no window within 10 s");
    // The sound server goes away, as when a USB microphone is unplugged.
    let killed = Instant::now();
    pulse.kill();
    let (status, _, stderr) = running.finish(Duration::from_secs(20));
    let took = killed.elapsed();
    assert!(!status.success(), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?} to notice");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("emotty: ") && last.contains("device"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The session it was logging was closed, not left running.
    let session = only_session(&home.sessions());
    let meta = read_json(&session.join("session.json"));
    assert_eq!(meta["status"], "closed", "{meta}");
}
