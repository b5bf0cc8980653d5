//! Labeled recordings end to end: `emotty record` from files and from a PulseAudio null
//! sink through cpal, killed mid-write, on a full disk; `eval` and `features` reading
//! what it wrote.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn m() -> String {
    model().display().to_string()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn manifest(dir: &Path) -> Vec<Value> {
    match std::fs::read_to_string(dir.join("manifest.jsonl")) {
        Ok(t) => t
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The invariant a crash must never break: no partial WAV, and every manifest line's
/// file is there.
fn assert_consistent(dir: &Path) {
    for f in files(dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".wav") {
            let r = hound::WavReader::open(&f).unwrap();
            let expected = 44 + r.duration() as u64 * r.spec().channels as u64 * 2;
            assert_eq!(
                std::fs::metadata(&f).unwrap().len(),
                expected,
                "{name} is complete"
            );
        }
    }
    for line in manifest(dir) {
        let file = dir.join(line["file"].as_str().unwrap());
        assert!(file.is_file(), "manifest line without its file: {line}");
    }
}

/// A stereo 44.1 kHz signal where every frame is distinct: left a slow ramp, right its
/// negation, so any shift or loss shows.
fn ramp_wav(dir: &Path, seconds: f64) -> PathBuf {
    let frames = (seconds * 44100.0) as usize;
    let mut s = Vec::with_capacity(frames * 2);
    for i in 0..frames {
        let v = ((i % 44100) as f32 / 44100.0 - 0.5) * 1.6;
        s.push(v);
        s.push(-v);
    }
    let path = dir.join(format!("ramp-{seconds}s.wav"));
    write_wav(&path, 44100, 2, &s);
    path
}

#[test]
fn record_from_files_keeps_the_pre_roll_and_eval_and_features_read_the_clips() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let ramp = ramp_wav(tmp.path(), 4.0);
    let run = home
        .run(&[
            "record",
            "--label",
            "angry",
            "--seconds",
            "1.5",
            "--speaker",
            "ann",
            "--input",
            ramp.to_str().unwrap(),
            "--note",
            "first take",
            "--model",
            &m(),
        ])
        .ok();
    let wav = PathBuf::from(run.stdout.trim());
    assert!(
        wav.starts_with(home.recordings().join("angry")),
        "{}",
        wav.display()
    );
    let name = wav.file_name().unwrap().to_str().unwrap();
    assert!(
        name.ends_with("_ann.wav") && name.len() == "20261121-101500_ann.wav".len(),
        "{name}"
    );
    // The clip is the input's first 0.5 s (pre-roll) + 1.5 s, sample for sample.
    let (rate, ch, got) = read_wav(&wav);
    assert_eq!((rate, ch, got.len()), (44100, 2, 2 * 88200));
    let (_, _, input) = read_wav(&ramp);
    for (i, (a, b)) in got.iter().zip(&input).enumerate() {
        assert!(
            (i32::from(*a) - i32::from(*b)).abs() <= 1,
            "sample {i}: {a} vs {b}"
        );
    }

    let speech = speech_wav(tmp.path(), 4.0);
    home.run(&[
        "record",
        "--label",
        "2",
        "--seconds",
        "2",
        "--input",
        speech.to_str().unwrap(),
        "--model",
        &m(),
    ])
    .ok();
    let lines = manifest(&home.recordings());
    assert_eq!(lines.len(), 2);
    let a = &lines[0];
    assert_eq!(a["label"], "angry");
    assert_eq!(a["speaker"], "ann");
    assert_eq!(
        (a["rate"].as_u64(), a["channels"].as_u64()),
        (Some(44100), Some(2))
    );
    assert_eq!(
        (a["duration"].as_f64(), a["pre_roll"].as_f64()),
        (Some(2.0), Some(0.5))
    );
    assert_eq!(a["note"], "first take");
    assert_eq!(a["source"], "file");
    assert!(a["time"].as_str().unwrap().contains('T'));
    let b = &lines[1];
    assert_eq!(
        (b["label"].as_str(), b["speaker"].as_str()),
        (Some("calm"), Some("unknown"))
    );
    assert_eq!(b["duration"].as_f64(), Some(2.5));
    // Real speech: the model said something, in the manifest's own terms.
    let p = &b["prediction"];
    assert!(p.is_object(), "{b}");
    assert_eq!(p["probs"].as_object().unwrap().len(), 8);
    assert!(p["probs"][p["emotion"].as_str().unwrap()].is_number());
    assert_eq!(p["model_sha256"].as_str().unwrap().len(), 64);
    assert_consistent(&home.recordings());

    let rec = home.recordings().display().to_string();
    let eval = home.run(&["eval", &rec, "--model", &m(), "--json"]).ok();
    assert!(!eval.stderr.contains("warning"), "{}", eval.stderr);
    let v: Value = serde_json::from_str(eval.stdout.lines().last().unwrap()).unwrap();
    assert!(v.to_string().contains("recordings"), "{v}");
    let npz = tmp.path().join("f.npz");
    home.run(&[
        "features",
        &rec,
        "--model",
        &m(),
        "--out",
        npz.to_str().unwrap(),
    ])
    .ok();
    assert!(std::fs::metadata(&npz).unwrap().len() > 1000);
}

#[test]
fn a_recording_killed_while_writing_leaves_no_partial_wav_and_no_orphan_line() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let ramp = ramp_wav(tmp.path(), 10.0);
    // The file size limit kills the process (SIGXFSZ) in the middle of writing the WAV:
    // a crash at a known point, every time.
    let status = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c 0; ulimit -f 400; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_emotty"))
        .args(["record", "--label", "sad", "--seconds", "9", "--input"])
        .arg(&ramp)
        .args(["--model", &m()])
        .current_dir(repo())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGXFSZ), "{status:?}");
    let left = files(&home.recordings());
    assert!(
        left.iter()
            .any(|f| f.to_string_lossy().ends_with(".partial")),
        "the kill should have hit the write: {left:?}"
    );
    assert!(
        !left
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "wav")),
        "{left:?}"
    );
    assert!(manifest(&home.recordings()).is_empty());
    assert_consistent(&home.recordings());

    // The next recording works and clears the dead process's leftovers.
    home.run(&[
        "record",
        "--label",
        "sad",
        "--seconds",
        "0.5",
        "--input",
        ramp.to_str().unwrap(),
        "--model",
        &m(),
    ])
    .ok();
    let left = files(&home.recordings());
    assert!(
        !left
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".partial")),
        "{left:?}"
    );
    assert_eq!(manifest(&home.recordings()).len(), 1);
    assert_consistent(&home.recordings());
}

#[test]
fn kill_9_during_the_save_keeps_the_invariants() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let ramp = ramp_wav(tmp.path(), 31.0);
    let sad = home.recordings().join("sad");
    let mut hit = 0;
    for _ in 0..3 {
        let mut cmd = home.emotty();
        cmd.args(["record", "--label", "sad", "--seconds", "30", "--input"])
            .arg(&ramp)
            .args(["--model", &m()]);
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill the moment the temporary WAV appears.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut killed = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let partial = std::fs::read_dir(&sad).ok().is_some_and(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            });
            if partial {
                unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
                killed = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let status = child.wait().unwrap();
        assert_consistent(&home.recordings());
        if killed && status.signal() == Some(libc::SIGKILL) {
            hit += 1;
            // Killed mid-save: either before the rename (no WAV, no line) or after it
            // (a complete WAV, maybe without its line); never a line without a file.
            let wavs = files(&sad)
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "wav"))
                .count();
            assert!(manifest(&home.recordings()).len() <= wavs);
        }
    }
    assert!(hit > 0, "no kill landed during a save");
}

#[test]
fn a_full_disk_fails_the_recording_cleanly_and_keeps_earlier_clips() {
    let Some(disk) = SmallDisk::mount(256) else {
        eprintln!("skipped: cannot mount a tmpfs here (the /dev/full unit test still ran)");
        return;
    };
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let ramp = ramp_wav(tmp.path(), 4.0);
    let rec = disk.path().join("rec");
    let r = rec.to_str().unwrap();
    // A 44.1 kHz stereo 1.0 s clip (the shortest take and the pre-roll): about 172
    // KiB, fits.
    home.run(&[
        "record",
        "--label",
        "happy",
        "--seconds",
        "0.5",
        "--input",
        ramp.to_str().unwrap(),
        "--model",
        &m(),
        "--recordings-dir",
        r,
    ])
    .ok();
    // 3.5 s: about 600 KiB, does not.
    let line = home
        .run(&[
            "record",
            "--label",
            "happy",
            "--seconds",
            "3",
            "--input",
            ramp.to_str().unwrap(),
            "--model",
            &m(),
            "--recordings-dir",
            r,
        ])
        .stderr;
    let errors: Vec<&str> = line
        .lines()
        .filter(|l| !l.contains("recording happy"))
        .collect();
    assert_eq!(errors.len(), 1, "{line}");
    assert!(
        errors[0].contains(".partial: cannot write: No space left on device"),
        "{}",
        errors[0]
    );
    let left = files(&rec);
    assert!(
        !left
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".partial")),
        "{left:?}"
    );
    assert_eq!(manifest(&rec).len(), 1);
    assert_consistent(&rec);
    home.run(&["eval", r, "--model", &m()]).ok();
}

#[test]
fn bad_arguments_are_one_line_and_create_nothing() {
    let home = Home::new();
    let model = m();
    for (args, needle) in [
        (
            vec!["--label", "bored", "--seconds", "1"],
            "unknown label \"bored\"",
        ),
        (
            vec!["--label", "9", "--seconds", "1"],
            "unknown label \"9\"",
        ),
        (vec!["--label", "sad", "--seconds", "0"], "--seconds"),
        (
            vec!["--label", "sad", "--seconds", "1", "--speaker", "a_b"],
            "speaker \"a_b\"",
        ),
        (
            vec!["--label", "sad", "--seconds", "1e-9"],
            "--seconds must be between 0.5 and 600 (not 0.000000001)",
        ),
        (
            vec!["--label", "sad", "--seconds", "1", "--speaker", "jürgen"],
            "may only hold ASCII letters and digits, '-' and '.' (not 'ü')",
        ),
        (
            vec![
                "--label",
                "sad",
                "--seconds",
                "1",
                "--input",
                "no/such.flac",
            ],
            "no/such.flac",
        ),
    ] {
        let mut all = vec!["record"];
        all.extend(args);
        all.extend(["--model", &model]);
        let line = home.run(&all).fails_with_one_line();
        assert!(line.contains(needle), "{line}");
    }
    // A recordings folder that cannot take a file is found out before the take (one
    // line, nothing recorded), not after it.
    let file = home.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = file.join("rec");
    let line = home
        .run(&[
            "record",
            "--label",
            "sad",
            "--seconds",
            "1",
            "--input",
            "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac",
            "--model",
            &model,
            "--recordings-dir",
            under_file.to_str().unwrap(),
        ])
        .fails_with_one_line();
    assert_eq!(
        line,
        format!(
            "emotty: {}: cannot write: Not a directory (os error 20)",
            under_file.display()
        )
    );
    // --format takes the raw PCM formats only, and says so in --help and in the error.
    let run = home.run(&[
        "record",
        "--label",
        "sad",
        "--seconds",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("[possible values: s16le, f32le]"),
        "{}",
        run.stderr
    );
    let help = home.run(&["record", "--help"]).ok().stdout;
    assert!(help.contains("[possible values: s16le, f32le]"), "{help}");
    assert!(!home.recordings().exists() || files(&home.recordings()).is_empty());
}

#[test]
fn listen_offers_only_the_formats_it_prints() {
    let home = Home::new();
    let help = home.run(&["listen", "--help"]).ok().stdout;
    assert!(
        help.contains("[possible values: table, json, s16le, f32le]"),
        "{help}"
    );
    let run = home.run(&["listen", "--format", "csv"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("invalid value 'csv'"), "{}", run.stderr);
}

/// A PulseAudio daemon with a null sink, private to one test.
#[test]
fn record_from_a_pulseaudio_null_sink_through_cpal() {
    let Some(pulse) = Pulse::start() else {
        return;
    };
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    // A loud 440 Hz tone from the first sample: easy to tell from silence.
    let tone: Vec<f32> = (0..44100 * 6)
        .flat_map(|i| {
            let v = 0.5 * (i as f32 * 440.0 * std::f32::consts::TAU / 44100.0).sin();
            [v, v]
        })
        .collect();
    let tone_wav = tmp.path().join("tone.wav");
    write_wav(&tone_wav, 44100, 2, &tone);
    let mut cmd = home.emotty();
    cmd.env("XDG_RUNTIME_DIR", pulse.runtime.path())
        .args([
            "record",
            "--label",
            "happy",
            "--seconds",
            "2",
            "--speaker",
            "sink",
        ])
        .args(["--model", &m()]);
    let child = Running::spawn(cmd);
    // Play while it records: the null sink's monitor is what cpal's default device hears.
    let mut play = Command::new("paplay")
        .args(["-d", "vsink"])
        .arg(&tone_wav)
        .env("XDG_RUNTIME_DIR", pulse.runtime.path())
        .spawn()
        .unwrap();
    let (status, out, stderr) = child.finish(Duration::from_secs(30));
    let _ = play.kill();
    let _ = play.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let wav = PathBuf::from(out.last().unwrap());
    let lines = manifest(&home.recordings());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source"], "microphone");
    let (rate, ch, samples) = read_wav(&wav);
    assert_eq!(lines[0]["rate"].as_u64(), Some(u64::from(rate)));
    let frames = samples.len() / ch as usize;
    assert!(
        (frames as f64 / rate as f64 - 2.5).abs() < 0.01,
        "{frames} frames at {rate} Hz"
    );
    // It heard the tone (at half scale), not silence.
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(peak > 12000, "peak {peak}");
    home.run(&["eval", home.recordings().to_str().unwrap(), "--model", &m()])
        .ok();
}

/// A long take at a high rate and many channels goes to disk as it is captured: a 30 s
/// take needs far less than the 153 MB more that 25 s more at 192 kHz × 8 channels held
/// as f32 would (before, the 30 s take peaked at 301 MB). Some growth remains: from a
/// file the engine runs ahead of the recorder, whose chunks wait in the tap's channel
/// while the take is written (15-44 MB measured with the debug build, more on a busy
/// machine), hence the 100 MB bound. Runs in its own process, so the peaks measured are
/// of its own children only.
#[test]
fn a_long_many_channel_take_keeps_memory_flat() {
    if std::env::var_os("EMOTTY_TAKE_TEST").is_none() {
        rerun_alone(
            "a_long_many_channel_take_keeps_memory_flat",
            "EMOTTY_TAKE_TEST",
        );
        return;
    }
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("wide.wav");
    let spec = hound::WavSpec {
        channels: 8,
        sample_rate: 192_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    let frames = 31 * 192_000;
    {
        let mut i16w = w.get_i16_writer((frames * 8) as u32);
        for i in 0..frames {
            let v = ((i as f32 * 0.01).sin() * 8000.0) as i16;
            for _ in 0..8 {
                i16w.write_sample(v);
            }
        }
        i16w.flush().unwrap();
    }
    w.finalize().unwrap();
    let rec = home.recordings();
    let peak_kib = |seconds: &str| {
        home.run(&[
            "record",
            "--label",
            "calm",
            "--seconds",
            seconds,
            "--input",
            input.to_str().unwrap(),
            "--model",
            &m(),
            "--recordings-dir",
            rec.to_str().unwrap(),
        ])
        .ok();
        max_child_rss_kib()
    };
    let short = peak_kib("5");
    let long = peak_kib("30");
    eprintln!(
        "peak RSS of record at 192 kHz x 8 ch: 5 s take {} MiB, 30 s take {} MiB",
        short / 1024,
        long / 1024
    );
    assert!(
        long < short + 100 * 1024,
        "5 s: {short} KiB, 30 s: {long} KiB"
    );
    // The long clip is whole.
    let mut wavs = files(&rec.join("calm"));
    wavs.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    assert_eq!(wavs.len(), 2, "{wavs:?}");
    let reader = hound::WavReader::open(&wavs[1]).unwrap();
    assert_eq!(
        (reader.spec().sample_rate, reader.spec().channels),
        (192_000, 8)
    );
    let seconds = reader.duration() as f64 / 192_000.0;
    assert!((seconds - 30.0).abs() < 0.6, "{seconds} s");
}
