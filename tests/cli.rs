//! The headless commands end to end: the real binary on real audio with a real model.
//!
//! The model is the untrained TEST model, so no test here asserts which emotion comes
//! out; they assert what the pipeline must do whatever the model says (shapes, speech
//! gating, agreement between paths, errors, memory).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use serde_json::Value;

const ANGRY: &str = "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac";
const CORPUS: &str = "tests/fixtures/corpus";

fn fixture(rel: &str) -> PathBuf {
    repo().join(rel)
}

fn model_arg() -> String {
    model().display().to_string()
}

fn json_of(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn corpus_files() -> Vec<String> {
    let scan = emotty::dataset::corpus::scan(&[fixture(CORPUS)]).unwrap();
    scan.clips
        .iter()
        .map(|c| c.path.display().to_string())
        .collect()
}

fn probs_of(v: &Value) -> Vec<f64> {
    let obj = v["probs"].as_object().unwrap();
    emotty::emotion::EMOTIONS
        .iter()
        .map(|l| obj[*l].as_f64().unwrap())
        .collect()
}

#[test]
fn classify_gives_a_verdict_per_file_in_three_formats() {
    let home = Home::new();
    let files = corpus_files();
    let mut args = vec!["classify", "--format", "json", "--model"];
    let m = model_arg();
    args.push(&m);
    args.extend(files.iter().map(String::as_str));
    let run = home.run(&args).ok();
    let rows = json_of(&run.stdout);
    assert_eq!(rows.len(), 8);
    for (row, file) in rows.iter().zip(&files) {
        assert_eq!(row["type"], "clip");
        assert_eq!(row["file"].as_str().unwrap(), file);
        let p = probs_of(row);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 2e-3, "{row}");
        let top = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(row["emotion"], emotty::emotion::EMOTIONS[top]);
        // Real sentences: speech, but not wall to wall (RAVDESS has a second of room
        // on each side).
        let speech = row["speech_ratio"].as_f64().unwrap();
        assert!((0.3..=1.0).contains(&speech), "{row}");
    }

    let mut args = vec!["classify", "--format", "csv", "--model", &m];
    args.extend(files.iter().map(String::as_str));
    let csv = home.run(&args).ok().stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(
        lines[0],
        "kind,file,start_s,end_s,emotion,confidence,speech_ratio,neutral,calm,happy,sad,angry,fearful,disgust,surprised,arousal,valence"
    );
    for (line, row) in lines[1..].iter().zip(&rows) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 17);
        assert_eq!(cells[4], row["emotion"].as_str().unwrap());
        // The test model does not rate arousal and valence: empty cells, JSON nulls.
        assert_eq!(&cells[15..], ["", ""]);
        assert!(
            row["arousal"].is_null() && row["valence"].is_null(),
            "{row}"
        );
    }

    let mut args = vec!["classify", "--model", &m];
    args.extend(files.iter().map(String::as_str));
    let table = home.run(&args).ok().stdout;
    assert_eq!(table.lines().count(), 9);
    assert!(table.lines().next().unwrap().starts_with("FILE"));
}

#[test]
fn timeline_lists_the_engine_windows() {
    let home = Home::new();
    let m = model_arg();
    let run = home
        .run(&[
            "classify",
            "--timeline",
            "--format",
            "json",
            "--model",
            &m,
            ANGRY,
        ])
        .ok();
    let rows = json_of(&run.stdout);
    let windows: Vec<&Value> = rows.iter().filter(|r| r["type"] == "window").collect();
    let spans: Vec<(f64, f64)> = windows
        .iter()
        .map(|w| (w["start_s"].as_f64().unwrap(), w["end_s"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        spans,
        [
            (0.0, 1.0),
            (0.0, 1.5),
            (0.0, 2.0),
            (0.0, 2.5),
            (0.0, 3.0),
            (0.5, 3.5),
            (0.98, 3.98)
        ]
    );
    // The actor starts speaking 1.04 s in.
    assert_eq!(windows[0]["no_speech"], true);
    assert_eq!(windows[0]["emotion"], Value::Null);
    assert_eq!(windows[4]["no_speech"], false);
    // Other hops and windows come from the flags.
    let run = home
        .run(&[
            "classify",
            "--timeline",
            "--format",
            "json",
            "--hop",
            "1",
            "--window",
            "2",
            "--model",
            &m,
            ANGRY,
        ])
        .ok();
    let ends: Vec<f64> = json_of(&run.stdout)
        .iter()
        .filter(|r| r["type"] == "window")
        .map(|w| w["end_s"].as_f64().unwrap())
        .collect();
    assert_eq!(ends, [1.0, 2.0, 3.0, 3.98]);
}

/// Bad inputs in one run: each gets one line naming it, the good file still gets its
/// verdict, and the exit status says something failed.
#[test]
fn bad_files_are_reported_one_line_each_and_the_rest_go_on() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    let good = std::fs::read(repo().join("tests/fixtures/reference/speech.wav")).unwrap();
    std::fs::write(d.join("cut.wav"), &good[..20]).unwrap();
    let mut x = 7u32;
    let junk: Vec<u8> = (0..5000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    std::fs::write(d.join("junk.bin"), junk).unwrap();
    write_wav(&d.join("nothing.wav"), 16_000, 1, &[]);
    std::fs::create_dir(d.join("folder.wav")).unwrap();
    let names = [
        "missing.wav",
        "empty.wav",
        "cut.wav",
        "junk.bin",
        "nothing.wav",
        "folder.wav",
    ];
    let paths: Vec<String> = names
        .iter()
        .map(|n| d.join(n).display().to_string())
        .collect();
    let m = model_arg();
    let mut args = vec!["classify", "--format", "json", "--model", &m, ANGRY];
    args.extend(paths.iter().map(String::as_str));
    let run = home.run(&args);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
    let rows = json_of(&run.stdout);
    assert_eq!(rows.len(), 1, "only the good file has a verdict");
    assert_eq!(rows[0]["file"], ANGRY);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), names.len(), "{}", run.stderr);
    let expected = [
        "no such file",
        "file is empty",
        "truncated or corrupt header",
        "not a recognised audio format",
        "contains no audio samples",
        "is a directory",
    ];
    for ((line, path), what) in errors.iter().zip(&paths).zip(expected) {
        assert!(line.starts_with(&format!("emotty: {path}: ")), "{line}");
        assert!(line.contains(what), "{line} lacks {what:?}");
    }
}

/// The same speech in other containers, depths, channel counts and rates: decoding,
/// downmixing and resampling must hand the model (nearly) the same features.
#[test]
fn formats_depths_channels_and_rates_all_reach_the_same_verdict() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let (_, mono) = emotty::audio::decode::read_all(&fixture(ANGRY)).unwrap();
    let resampled = |rate: u32| {
        let mut r = emotty::dsp::resample::Resampler::new(16_000, rate).unwrap();
        let mut out = Vec::new();
        r.process(&mono, &mut out).unwrap();
        r.finish(&mut out).unwrap();
        out
    };
    let interleave = |x: &[f32], ch: usize| -> Vec<f32> {
        x.iter().flat_map(|s| std::iter::repeat_n(*s, ch)).collect()
    };
    let write = |name: &str, rate: u32, ch: u16, bits: u16, float: bool, x: &[f32]| {
        let path = tmp.path().join(name);
        let spec = hound::WavSpec {
            channels: ch,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in x {
            if float {
                w.write_sample(*s).unwrap();
            } else {
                let max = (1i64 << (bits - 1)) as f32 - 1.0;
                let v = (s.clamp(-1.0, 1.0) * max).round() as i32;
                match bits {
                    8 => w.write_sample(v as i8).unwrap(),
                    16 => w.write_sample(v as i16).unwrap(),
                    _ => w.write_sample(v).unwrap(),
                }
            }
        }
        w.finalize().unwrap();
        path.display().to_string()
    };
    let variants = [
        (
            "i16 mono 16k",
            write("a.wav", 16_000, 1, 16, false, &mono),
            0.02,
        ),
        (
            "i24 mono 16k",
            write("b.wav", 16_000, 1, 24, false, &mono),
            0.02,
        ),
        (
            "i32 mono 16k",
            write("c.wav", 16_000, 1, 32, false, &mono),
            0.02,
        ),
        (
            "f32 mono 16k",
            write("d.wav", 16_000, 1, 32, true, &mono),
            0.02,
        ),
        (
            "i16 stereo 16k",
            write("e.wav", 16_000, 2, 16, false, &interleave(&mono, 2)),
            0.02,
        ),
        (
            "i24 6ch 16k",
            write("f.wav", 16_000, 6, 24, false, &interleave(&mono, 6)),
            0.02,
        ),
        (
            "i16 stereo 48k",
            write(
                "g.wav",
                48_000,
                2,
                16,
                false,
                &interleave(&resampled(48_000), 2),
            ),
            0.05,
        ),
        (
            "i24 mono 96k",
            write("h.wav", 96_000, 1, 24, false, &resampled(96_000)),
            0.05,
        ),
        (
            "f32 mono 44.1k",
            write("i.wav", 44_100, 1, 32, true, &resampled(44_100)),
            0.05,
        ),
        // Telephone bandwidth loses everything above 4 kHz: only sanity is asserted.
        (
            "i8 mono 8k",
            write("j.wav", 8_000, 1, 8, false, &resampled(8_000)),
            f64::INFINITY,
        ),
    ];
    let m = model_arg();
    let reference = json_of(
        &home
            .run(&["classify", "--format", "json", "--model", &m, ANGRY])
            .ok()
            .stdout,
    )[0]
    .clone();
    let ref_probs = probs_of(&reference);
    for (what, path, tolerance) in variants {
        let row = json_of(
            &home
                .run(&["classify", "--format", "json", "--model", &m, &path])
                .ok()
                .stdout,
        )[0]
        .clone();
        let p = probs_of(&row);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 2e-3);
        assert!(row["speech_ratio"].as_f64().unwrap() > 0.3, "{what}: {row}");
        let diff = p
            .iter()
            .zip(&ref_probs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff <= tolerance,
            "{what}: max difference {diff} from the FLAC"
        );
    }
}

#[test]
fn an_aiff_named_wav_is_read_by_its_content() {
    // One TESS original is an AIFF named .wav; write such a file by hand (16-bit, mono).
    let (_, mono) = emotty::audio::decode::read_all(&fixture(ANGRY)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("really-aiff.wav");
    let frames = mono.len() as u32;
    let mut data = Vec::new();
    for s in &mono {
        data.extend_from_slice(&((s * 32767.0).round() as i16).to_be_bytes());
    }
    let mut comm = Vec::new();
    comm.extend_from_slice(&1u16.to_be_bytes());
    comm.extend_from_slice(&frames.to_be_bytes());
    comm.extend_from_slice(&16u16.to_be_bytes());
    // 16000 as an 80-bit IEEE extended float.
    comm.extend_from_slice(&[0x40, 0x0C, 0xFA, 0, 0, 0, 0, 0, 0, 0]);
    let mut f = Vec::new();
    f.extend_from_slice(b"FORM");
    f.extend_from_slice(&(4 + 8 + 18 + 8 + 8 + data.len() as u32).to_be_bytes());
    f.extend_from_slice(b"AIFFCOMM");
    f.extend_from_slice(&18u32.to_be_bytes());
    f.extend_from_slice(&comm);
    f.extend_from_slice(b"SSND");
    f.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&data);
    std::fs::write(&path, f).unwrap();
    let home = Home::new();
    let m = model_arg();
    let p = path.display().to_string();
    let aiff = json_of(
        &home
            .run(&["classify", "--format", "json", "--model", &m, &p])
            .ok()
            .stdout,
    );
    let flac = json_of(
        &home
            .run(&["classify", "--format", "json", "--model", &m, ANGRY])
            .ok()
            .stdout,
    );
    let diff = probs_of(&aiff[0])
        .iter()
        .zip(probs_of(&flac[0]))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 0.02, "{diff}");
}

#[test]
fn silence_and_room_noise_are_no_speech() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let silence = tmp.path().join("silence.wav");
    write_wav(&silence, 16_000, 1, &vec![0.0; 16_000 * 5]);
    // Fan-like noise: low-passed white noise at about -35 dBFS, with a slow wobble.
    let mut x = 1u32;
    let mut lp = 0.0f32;
    let noise: Vec<f32> = (0..16_000 * 5)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let w = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            lp = 0.9 * lp + 0.1 * w;
            lp * 0.3 * (1.0 + 0.3 * (i as f32 / 16_000.0 * 3.0).sin())
        })
        .collect();
    let fan = tmp.path().join("fan.wav");
    write_wav(&fan, 16_000, 1, &noise);
    let m = model_arg();
    for path in [&silence, &fan] {
        let p = path.display().to_string();
        let rows = json_of(
            &home
                .run(&[
                    "classify",
                    "--timeline",
                    "--format",
                    "json",
                    "--model",
                    &m,
                    &p,
                ])
                .ok()
                .stdout,
        );
        assert_eq!(rows[0]["emotion"], Value::Null, "{p}: {}", rows[0]);
        assert!(rows[1..].iter().all(|w| w["no_speech"] == true), "{p}");
        let table = home.run(&["classify", "--model", &m, &p]).ok().stdout;
        assert!(table.contains("no speech"), "{table}");
    }
}

#[test]
fn standard_input_takes_wav_streams_and_raw_pcm() {
    let home = Home::new();
    let m = model_arg();
    let (_, mono) = emotty::audio::decode::read_all(&fixture(ANGRY)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("angry.wav");
    write_wav(&wav, 16_000, 1, &mono);
    let reference = json_of(
        &home
            .run(&[
                "classify",
                "--format",
                "json",
                "--model",
                &m,
                &wav.display().to_string(),
            ])
            .ok()
            .stdout,
    )[0]
    .clone();
    let pipe = |args: &[&str], input: Vec<u8>| {
        let mut child = home
            .emotty()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    // A WAV stream, as `sox ... -t wav -` or `arecord` write it: sizes unknown.
    let mut bytes = std::fs::read(&wav).unwrap();
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let run = pipe(
        &[
            "classify", "--input", "-", "--format", "json", "--model", &m,
        ],
        bytes,
    )
    .ok();
    let rows = json_of(&run.stdout);
    let windows = rows.iter().filter(|r| r["type"] == "window").count();
    assert_eq!(windows, 7, "windows are printed as they come");
    let clip = rows.last().unwrap();
    assert_eq!(clip["type"], "clip");
    assert_eq!(clip["file"], "stdin");
    for (a, b) in probs_of(clip).iter().zip(probs_of(&reference)) {
        assert!((a - b).abs() < 1e-4, "{clip} vs {reference}");
    }
    // Raw PCM, described by flags.
    let raw: Vec<u8> = mono
        .iter()
        .flat_map(|s| ((s * 32767.0).round() as i16).to_le_bytes())
        .collect();
    let run = pipe(
        &[
            "classify", "--input", "-", "--format", "s16le", "--rate", "16000", "--format", "json",
            "--model", &m,
        ],
        raw.clone(),
    )
    .ok();
    let clip = json_of(&run.stdout).pop().unwrap();
    for (a, b) in probs_of(&clip).iter().zip(probs_of(&reference)) {
        assert!((a - b).abs() < 1e-4);
    }
    // Raw bytes without a description: one clear line.
    let run = pipe(&["classify", "--input", "-", "--model", &m], raw);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("stdin: not a WAV"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--format s16le|f32le"),
        "{}",
        run.stderr
    );
}

#[test]
fn eval_scores_the_fixture_corpora_per_corpus_and_pooled() {
    let home = Home::new();
    let m = model_arg();
    let run = home.run(&["eval", "--json", "--model", &m, CORPUS]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    for corpus in ["ravdess", "tess"] {
        let c = &report["corpora"][corpus];
        assert_eq!(c["clips"], 4, "{corpus}");
        let matrix: Vec<Vec<u64>> = serde_json::from_value(c["confusion"].clone()).unwrap();
        assert_eq!(matrix.len(), 8);
        assert_eq!(matrix.iter().flatten().sum::<u64>(), 4);
        // Accuracy is the diagonal over the clips: recompute it.
        let diag: u64 = (0..8).map(|i| matrix[i][i]).sum();
        assert!((c["accuracy"].as_f64().unwrap() - diag as f64 / 4.0).abs() < 1e-12);
    }
    assert_eq!(report["pooled"]["clips"], 8);
    // The per-clip verdicts behind the matrix are the ones classify prints.
    let files = corpus_files();
    let mut args = vec!["classify", "--format", "json", "--model", &m];
    args.extend(files.iter().map(String::as_str));
    let verdicts = json_of(&home.run(&args).ok().stdout);
    let scan = emotty::dataset::corpus::scan(&[fixture(CORPUS)]).unwrap();
    let mut pooled = [[0u64; 9]; 8];
    for (v, clip) in verdicts.iter().zip(&scan.clips) {
        let t = emotty::emotion::index(&clip.label).unwrap();
        let p = v["emotion"]
            .as_str()
            .map(|e| emotty::emotion::index(e).unwrap())
            .unwrap_or(8);
        pooled[t][p] += 1;
    }
    let reported: Vec<Vec<u64>> =
        serde_json::from_value(report["pooled"]["confusion"].clone()).unwrap();
    for (row, expected) in reported.iter().zip(pooled) {
        assert_eq!(row.as_slice(), expected.as_slice());
    }
    let table = home.run(&["eval", "--model", &m, CORPUS]).ok().stdout;
    for word in [
        "ravdess",
        "tess",
        "pooled",
        "UAR",
        "macro-F1",
        "confusion matrix",
    ] {
        assert!(table.contains(word), "{word} missing from\n{table}");
    }
}

#[test]
fn a_model_that_rates_affect_adds_arousal_and_valence_everywhere() {
    let home = Home::new();
    let m = fixture("tests/fixtures/test-model-affect.onnx")
        .display()
        .to_string();
    let angry = fixture(ANGRY).display().to_string();
    let run = home
        .run(&[
            "classify",
            "--timeline",
            "--format",
            "json",
            "--model",
            &m,
            &angry,
        ])
        .ok();
    let rows = json_of(&run.stdout);
    let clip = &rows[0];
    assert_eq!(clip["type"], "clip");
    let speech: Vec<&Value> = rows[1..]
        .iter()
        .filter(|r| !r["no_speech"].as_bool().unwrap())
        .collect();
    assert!(!speech.is_empty());
    for r in &speech {
        for key in ["arousal", "valence"] {
            let v = r[key].as_f64().unwrap_or_else(|| panic!("{key} in {r}"));
            assert!((-1.0..=1.0).contains(&v), "{r}");
        }
    }
    // The clip's arousal is the speech-weighted mean of its windows' (4-decimal rounding).
    let (mut sum, mut weight) = (0.0, 0.0);
    for r in &speech {
        let w = r["speech_ratio"].as_f64().unwrap().max(1e-3);
        sum += w * r["arousal"].as_f64().unwrap();
        weight += w;
    }
    let clip_arousal = clip["arousal"].as_f64().unwrap();
    assert!(
        (clip_arousal - sum / weight).abs() < 1e-3,
        "{clip_arousal} vs {}",
        sum / weight
    );

    let csv = home
        .run(&["classify", "--format", "csv", "--model", &m, &angry])
        .ok()
        .stdout;
    let line: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(line.len(), 17);
    let arousal: f64 = line[15].parse().unwrap();
    assert!(
        (arousal - clip_arousal).abs() < 1e-4,
        "{arousal} vs {clip_arousal}"
    );

    let table = home.run(&["classify", "--model", &m, &angry]).ok().stdout;
    let mut lines = table.lines();
    assert!(lines.next().unwrap().ends_with("arous valen"), "{table}");
    assert!(
        lines.next().unwrap().ends_with(&format!(
            "{:+.2} {:+.2}",
            clip_arousal,
            clip["valence"].as_f64().unwrap()
        )),
        "{table}"
    );
}

#[test]
fn eval_reads_the_nemo_layout() {
    let home = Home::new();
    let m = model_arg();
    let dir = fixture("tests/fixtures/nemo").display().to_string();
    let run = home.run(&["eval", "--json", "--model", &m, &dir]).ok();
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let c = &report["corpora"]["nemo"];
    assert_eq!(c["clips"], 2, "{report}");
    let matrix: Vec<Vec<u64>> = serde_json::from_value(c["confusion"].clone()).unwrap();
    // One angry clip (row 4) and one neutral clip (row 0), whatever the model says.
    assert_eq!(matrix[4].iter().sum::<u64>(), 1);
    assert_eq!(matrix[0].iter().sum::<u64>(), 1);
    // Classes nEMO lacks have no recall rather than a recall of 0.
    assert!(
        c["recall"]["calm"].is_null() && c["recall"]["disgust"].is_null(),
        "{c}"
    );
}

#[test]
fn settings_the_engine_cannot_honour_are_refused_before_anything_runs() {
    let home = Home::new();
    let m = model_arg();
    let cases = [
        (
            "--hop",
            "0.015",
            "emotty: invalid analysis settings: hop 0.015 s is not a whole number of 10 ms frames (use 0.01 or 0.02)",
        ),
        (
            "--hop",
            "0.001",
            "emotty: invalid analysis settings: hop 0.001 s is not a whole number of 10 ms frames (use 0.01)",
        ),
        (
            "--window",
            "0.5",
            "emotty: invalid analysis settings: window 0.5 s is shorter than the model's minimum window of 1 s",
        ),
    ];
    for (flag, value, expected) in cases {
        for command in [
            vec!["classify", flag, value, "--model", &m, ANGRY],
            vec![
                "listen",
                flag,
                value,
                "--model",
                &m,
                "--no-session",
                "--input",
                ANGRY,
            ],
        ] {
            let line = home.run(&command).fails_with_one_line();
            assert_eq!(line, expected, "{command:?}");
        }
    }
    // Whole frames are fine, also the short hops the monitor may use.
    home.run(&[
        "classify", "--hop", "0.25", "--window", "1", "--model", &m, ANGRY,
    ])
    .ok();
}

#[test]
fn a_streaming_model_runs_through_the_same_commands_on_whole_steps() {
    let home = Home::new();
    let m = fixture("tests/fixtures/test-model-stream.onnx")
        .display()
        .to_string();
    let out = home
        .run(&[
            "classify",
            "--format",
            "json",
            "--timeline",
            "--model",
            &m,
            ANGRY,
        ])
        .ok();
    let lines = json_of(&out.stdout);
    let windows: Vec<&Value> = lines.iter().filter(|v| v["type"] == "window").collect();
    let ends: Vec<f64> = windows
        .iter()
        .map(|w| w["end_s"].as_f64().unwrap())
        .collect();
    // A verdict every 0.24 s (the 0.25 s default in whole 80 ms steps), each ending on
    // a whole step.
    assert!(ends.len() >= 10, "{ends:?}");
    for e in &ends {
        let steps = e / 0.08;
        assert!((steps - steps.round()).abs() < 1e-6, "{e}");
    }
    assert!(
        ends.windows(2)
            .rev()
            .skip(1)
            .all(|p| (p[1] - p[0] - 0.24).abs() < 1e-6)
    );
    let clip = lines.iter().find(|v| v["type"] == "clip").unwrap();
    assert_eq!(probs_of(clip).len(), 8);
    assert!(clip["arousal"].is_number());
    // listen in real time on a file goes through the same engine.
    let out = home
        .run(&[
            "listen",
            "--fast",
            "--no-session",
            "--format",
            "json",
            "--model",
            &m,
            "--input",
            ANGRY,
        ])
        .ok();
    assert!(
        json_of(&out.stdout)
            .iter()
            .any(|v| v["type"] == "window" && v["probs"].is_object())
    );
    // A hop that is not whole steps: one line naming the nearest ones, exit 2.
    let line = home
        .run(&["classify", "--hop", "0.5", "--model", &m, ANGRY])
        .fails_with_one_line();
    assert_eq!(
        line,
        "emotty: invalid analysis settings: hop 0.5 s is not a whole number of the streaming \
         model's 80 ms steps (use 0.48 or 0.56)"
    );
}

#[test]
fn adaptation_runs_per_file_by_default_and_per_folder_or_speaker_on_request() {
    let home = Home::new();
    let m = fixture("tests/fixtures/test-model-adapt.onnx")
        .display()
        .to_string();
    // Actor 19's two clips, in path order: 01 (neutral) before 05 (angry).
    let first = fixture("tests/fixtures/corpus/ravdess/Actor_19/03-01-01-01-02-01-19.flac")
        .display()
        .to_string();
    let second = fixture(ANGRY).display().to_string();
    let classify = |extra: &[&str], files: &[&str]| {
        let mut args = vec!["classify", "--format", "json", "--model", &m];
        args.extend_from_slice(extra);
        args.extend_from_slice(files);
        json_of(&home.run(&args).ok().stdout)
            .iter()
            .map(|v| (v["file"].as_str().unwrap().to_owned(), probs_of(v)))
            .collect::<Vec<_>>()
    };
    let differ = |a: &[f64], b: &[f64]| a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-4);
    let default = classify(&[], &[&first, &second]);
    assert_eq!(
        default,
        classify(&["--adapt", "stream"], &[&first, &second])
    );
    let off = classify(&["--adapt", "off"], &[&first, &second]);
    assert!(differ(&default[1].1, &off[1].1), "adapting changed nothing");
    // One folder, one stream: the first file starts from nothing heard, as it would
    // alone; the second continues from what the first taught it. Reported in path
    // order whatever the order given.
    let folder = classify(&["--adapt", "folder"], &[&second, &first]);
    assert_eq!(folder[0].0, first);
    assert_eq!(folder[1].0, second);
    assert!(
        !differ(&folder[0].1, &default[0].1),
        "{folder:?} against {default:?}"
    );
    assert!(
        differ(&folder[1].1, &default[1].1),
        "the second file heard nothing before it"
    );
    // eval: every clip scored once whatever the grouping.
    for mode in ["stream", "speaker", "folder", "off"] {
        let run = home
            .run(&["eval", "--json", "--adapt", mode, "--model", &m, CORPUS])
            .ok();
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["pooled"]["clips"], 8, "{mode}");
    }
    // What a command cannot do is refused, one line, before anything runs.
    let plain = model_arg();
    let cases = [
        (
            vec!["classify", "--adapt", "stream", "--model", &plain, ANGRY],
            format!(
                "emotty: {plain}: the model was trained without adaptation statistics, so --adapt can only be off"
            ),
        ),
        (
            vec!["classify", "--adapt", "speaker", "--model", &m, ANGRY],
            "emotty: --adapt speaker does not apply to classify (use stream or off)".to_owned(),
        ),
        (
            vec![
                "listen",
                "--adapt",
                "folder",
                "--model",
                &m,
                "--no-session",
                "--input",
                ANGRY,
            ],
            "emotty: --adapt folder does not apply to listen (use stream or off)".to_owned(),
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(home.run(&args).fails_with_one_line(), expected, "{args:?}");
    }
    // A model without statistics runs as before with --adapt off.
    home.run(&["classify", "--adapt", "off", "--model", &plain, ANGRY])
        .ok();
}

#[test]
fn control_characters_in_file_names_are_shown_escaped_and_kept_exact_in_json() {
    let home = Home::new();
    let m = model_arg();
    let tmp = tempfile::tempdir().unwrap();
    // A name that retitles the terminal when printed raw.
    let evil = tmp.path().join("\u{1b}]0;TITLE\u{7}x.flac");
    std::fs::copy(fixture(ANGRY), &evil).unwrap();
    let evil_s = evil.display().to_string();
    let table = home.run(&["classify", "--model", &m, &evil_s]).ok().stdout;
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.contains("\\e]0;TITLE\\x07x.flac"), "{table}");
    let json = json_of(
        &home
            .run(&["classify", "--format", "json", "--model", &m, &evil_s])
            .ok()
            .stdout,
    );
    assert_eq!(json[0]["file"].as_str().unwrap(), evil_s);
    // A broken file with a newline in its name: one escaped line, and no table header
    // over nothing when every file failed.
    let broken = tmp.path().join("bad\nname.wav");
    std::fs::write(&broken, b"not audio").unwrap();
    let run = home.run(&["classify", "--model", &m, &broken.display().to_string()]);
    assert_eq!(run.stdout, "");
    let line = run.fails_with_one_line();
    assert!(line.contains("bad\\nname.wav: "), "{line}");
}

#[test]
fn a_source_the_engine_cannot_take_is_named_in_the_error() {
    let home = Home::new();
    let m = model_arg();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("rate1.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 1,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..100 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let p = path.display().to_string();
    let why = "cannot resample at 1 Hz: supported rates are 1000 to 768000 Hz";
    let line = home
        .run(&["classify", "--model", &m, &p])
        .fails_with_one_line();
    assert_eq!(line, format!("emotty: {p}: {why}"));
    let line = home
        .run(&["listen", "--model", &m, "--no-session", "--input", &p])
        .fails_with_one_line();
    assert_eq!(line, format!("emotty: {p}: {why}"));
    let mut cmd = home.emotty();
    cmd.args(["listen", "--model", &m, "--no-session", "--input", "-"])
        .stdin(std::fs::File::open(&path).unwrap());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("emotty: stdin: {why}")
    );
}

#[test]
fn a_bad_value_in_the_models_metadata_names_the_model() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    // The model's own window is 700 s, beyond what the engine takes (same length, so
    // the protobuf stays valid).
    let mut bytes = std::fs::read(model()).unwrap();
    let (from, to) = (b"\"window_s\":3.0", b"\"window_s\":700");
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the test model's window_s");
    bytes[at..at + from.len()].copy_from_slice(to);
    let bad = tmp.path().join("long-window.onnx");
    std::fs::write(&bad, &bytes).unwrap();
    let b = bad.display().to_string();
    let line = home
        .run(&["classify", "--model", &b, ANGRY])
        .fails_with_one_line();
    assert_eq!(
        line,
        format!(
            "emotty: {b}: invalid analysis settings: window must be between 0 and 600 seconds, not 700 (from its metadata)"
        )
    );
    // Overriding the window on the command line makes it the user's value again.
    home.run(&["classify", "--window", "3", "--model", &b, ANGRY])
        .ok();
}

#[test]
fn eval_without_labels_says_so() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(ANGRY), tmp.path().join("clip.flac")).unwrap();
    let m = model_arg();
    let line = home
        .run(&["eval", "--model", &m, &tmp.path().display().to_string()])
        .fails_with_one_line();
    assert!(line.contains("no labeled audio found"), "{line}");
}

#[test]
fn features_checks_its_destination_first_and_writes_like_the_shell() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let m = model_arg();
    let nemo = fixture("tests/fixtures/nemo").display().to_string();
    let features = |out: &Path| {
        let out = out.display().to_string();
        home.run(&["features", "--model", &m, &nemo, "--out", &out])
    };
    // Bad destinations are refused before any clip is read, in one line each.
    let missing = tmp.path().join("no/such/dir/f.npz");
    let line = features(&missing).fails_with_one_line();
    assert!(
        line.ends_with("f.npz: cannot write: its folder") || line.contains("does not exist"),
        "{line}"
    );
    assert!(line.contains(&missing.display().to_string()), "{line}");
    let line = features(tmp.path()).fails_with_one_line();
    assert!(line.ends_with(": cannot write: is a directory"), "{line}");
    let line = home
        .run(&[
            "features",
            "--model",
            &m,
            &nemo,
            "--augment",
            "33",
            "--out",
            "x.npz",
        ])
        .fails_with_one_line();
    assert_eq!(
        line,
        "emotty: --augment 33: at most 32 augmented copies per clip"
    );
    // A new archive is private like every other output.
    let out = tmp.path().join("f.npz");
    features(&out).ok();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let archive = std::fs::read(&out).unwrap();
    // Through a symbolic link: the link stays, its target gets the archive.
    let target = tmp.path().join("target.npz");
    std::fs::write(&target, b"old").unwrap();
    let link = tmp.path().join("link.npz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    features(&link).ok();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), archive);
    // Into a FIFO: its reader gets the whole archive and the FIFO stays a FIFO.
    let fifo = tmp.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    features(&fifo).ok();
    assert_eq!(reader.join().unwrap(), archive);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A character device is written, not replaced.
    features(Path::new("/dev/null")).ok();
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn features_are_exactly_the_front_end_of_the_decoded_clips() {
    use ndarray::{Array1, Array2};
    use ndarray_npy::NpzReader;
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f.npz");
    let m = model_arg();
    home.run(&[
        "features",
        "--model",
        &m,
        CORPUS,
        "--out",
        &out.display().to_string(),
    ])
    .ok();
    let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let features: Array2<f32> = npz.by_name("features").unwrap();
    let offsets: Array1<i64> = npz.by_name("offsets").unwrap();
    let labels: Array1<i64> = npz.by_name("labels").unwrap();
    let meta: Array1<u8> = npz.by_name("meta_json").unwrap();
    let meta: Value = serde_json::from_slice(meta.as_slice().unwrap()).unwrap();
    let clips = meta["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 8);
    assert_eq!(offsets.len(), 9);
    let config = emotty::dsp::frontend::FrontendConfig::default();
    for (i, clip) in clips.iter().enumerate() {
        let path = repo().join(clip["path"].as_str().unwrap());
        let (_, samples) = emotty::audio::decode::read_all(&path).unwrap();
        let direct = emotty::dsp::frontend::features_of_clip(&config, &samples).unwrap();
        let rows = features.slice(ndarray::s![
            offsets[i] as usize..offsets[i + 1] as usize,
            ..
        ]);
        assert_eq!(rows.len(), direct.len());
        assert!(rows.iter().zip(&direct).all(|(a, b)| a == b), "clip {i}");
        let label = clip["label"].as_str().unwrap();
        assert_eq!(labels[i] as usize, emotty::emotion::index(label).unwrap());
    }
    // Every row's windows are the ones the engine scores: classify's timeline of the
    // same clip has the same spans and speech ratios.
    let rows: Array1<i64> = npz.by_name("window_row").unwrap();
    let starts: Array1<i64> = npz.by_name("window_start").unwrap();
    let ends: Array1<i64> = npz.by_name("window_end").unwrap();
    let ratios: Array1<f32> = npz.by_name("window_speech").unwrap();
    assert_eq!(meta["schedule"]["hop_s"], 0.5);
    for (i, clip) in clips.iter().enumerate() {
        let path = repo().join(clip["path"].as_str().unwrap());
        let run = home
            .run(&[
                "classify",
                "--timeline",
                "--format",
                "json",
                "--model",
                &m,
                &path.display().to_string(),
            ])
            .ok();
        let engine: Vec<(i64, i64, f64)> = json_of(&run.stdout)
            .iter()
            .filter(|v| v["type"] == "window")
            .map(|v| {
                let frame = |k: &str| (v[k].as_f64().unwrap() * 100.0).round() as i64;
                (
                    frame("start_s"),
                    frame("end_s"),
                    v["speech_ratio"].as_f64().unwrap(),
                )
            })
            .collect();
        let archive: Vec<(i64, i64, f64)> = (0..rows.len())
            .filter(|&k| rows[k] == i as i64)
            .map(|k| (starts[k], ends[k], f64::from(ratios[k])))
            .collect();
        assert_eq!(engine.len(), archive.len(), "clip {i}");
        for (e, a) in engine.iter().zip(&archive) {
            assert_eq!((e.0, e.1), (a.0, a.1), "clip {i}");
            assert!((e.2 - a.2).abs() < 1e-3, "clip {i}: {e:?} against {a:?}");
        }
    }
    // An unwritable destination fails cleanly and leaves nothing behind.
    let bad = tmp.path().join("no/such/dir/f.npz");
    let line = home
        .run(&[
            "features",
            "--model",
            &m,
            CORPUS,
            "--out",
            &bad.display().to_string(),
        ])
        .fails_with_one_line();
    assert!(line.contains("cannot write"), "{line}");
    assert!(!bad.exists());
}

#[test]
fn a_missing_or_broken_model_is_one_line_naming_the_file() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.onnx");
    std::fs::write(&junk, b"this is not a model").unwrap();
    let cases: [(PathBuf, &str); 4] = [
        (tmp.path().join("nope.onnx"), "no such file"),
        (junk, "not a valid ONNX model"),
        (
            fixture("tests/fixtures/test-model-nometa.onnx"),
            "no emotty metadata",
        ),
        (
            fixture("tests/fixtures/test-model-badlabels.onnx"),
            "outputs 7 values but metadata lists 8 labels",
        ),
    ];
    for (path, what) in cases {
        let p = path.display().to_string();
        let line = home
            .run(&["classify", "--model", &p, ANGRY])
            .fails_with_one_line();
        assert!(line.contains(&p) && line.contains(what), "{line}");
    }
}

/// A file longer than an hour streams through with flat memory. It runs in its own
/// process (the test binary's other children would share the RUSAGE_CHILDREN peak), so
/// it is spawned as a one-test run of this binary.
#[test]
fn an_hour_long_file_streams_with_flat_memory() {
    if std::env::var_os("EMOTTY_HOUR_TEST").is_none() {
        rerun_alone(
            "an_hour_long_file_streams_with_flat_memory",
            "EMOTTY_HOUR_TEST",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let long = long_wav(tmp.path(), 3660.0);
    let home = Home::new();
    let m = model_arg();
    let run = home
        .run(&[
            "classify",
            "--format",
            "json",
            "--model",
            &m,
            &long.display().to_string(),
        ])
        .ok();
    let row = &json_of(&run.stdout)[0];
    assert!(row["duration_s"].as_f64().unwrap() > 3600.0, "{row}");
    assert!(row["windows"].as_u64().unwrap() > 7000, "{row}");
    let kib = max_child_rss_kib();
    eprintln!(
        "peak RSS of classify over {:.0} s of audio: {} MiB",
        3660.0,
        kib / 1024
    );
    assert!(kib < 100 * 1024, "classify used {kib} KiB");
}

/// About `seconds` of real speech, the fixture clip repeated, written straight to disk.
fn long_wav(dir: &Path, seconds: f64) -> PathBuf {
    let (_, mono) = emotty::audio::decode::read_all(&fixture(ANGRY)).unwrap();
    let path = dir.join("hour.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    let mut written = 0usize;
    while (written as f64) < seconds * 16_000.0 {
        for s in &mono {
            w.write_sample((s * 32767.0).round() as i16).unwrap();
        }
        written += mono.len();
    }
    w.finalize().unwrap();
    path
}
