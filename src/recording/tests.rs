use super::*;
use crate::engine::{Outcome, SourceKind, StartInfo};
use crate::testing::events;

fn model() -> ModelRecord {
    ModelRecord {
        name: "test".into(),
        version: "0".into(),
        path: "m.onnx".into(),
        sha256: "ab".repeat(32),
    }
}

fn started(rate: u32, channels: u16) -> Event {
    Event::Started(StartInfo {
        window_s: 1.0,
        ..events::start_info(events::source(
            SourceKind::Microphone,
            "Test Mic",
            rate,
            channels,
        ))
    })
}

fn window(start: f64, end: f64, top: Option<usize>) -> Event {
    let outcome = match top {
        Some(t) => events::peaked(t, 0.86, 0.02),
        None => Outcome::NoSpeech,
    };
    events::window(0, (start, end), 1.0, -20.0, outcome)
}

/// Stereo chunks whose left channel holds the frame index / 1e5 and right its
/// negation: every sample says where it came from.
fn chunk(first: u64, frames: u64) -> AudioChunk {
    let mut samples = Vec::new();
    for f in first..first + frames {
        samples.push(f as f32 / 1e5);
        samples.push(-(f as f32) / 1e5);
    }
    AudioChunk {
        first_frame: first,
        sample_rate: 8000,
        channels: 2,
        samples,
    }
}

#[test]
fn labels_and_speakers_are_checked() {
    assert_eq!(parse_label("Angry").unwrap(), "angry");
    assert_eq!(parse_label("1").unwrap(), "neutral");
    assert_eq!(parse_label("8").unwrap(), "surprised");
    assert!(parse_label("9").is_err());
    assert!(
        parse_label("bored")
            .unwrap_err()
            .to_string()
            .contains("\"bored\"")
    );
    assert!(check_speaker("ann-2").is_ok());
    assert!(check_speaker("a_b").is_err());
    assert!(check_speaker("../x").is_err());
    assert!(check_speaker("").is_err());
}

#[test]
fn a_clip_starts_with_the_pre_roll_and_keeps_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::new(
        RecorderConfig::new(dir.path().to_path_buf(), "ann".into()),
        Some(model()),
    )
    .unwrap();
    rec.on_event(&started(8000, 2));
    // Two seconds in 100-frame chunks, then start: 0.5 s = 4000 frames of pre-roll.
    for i in 0..160 {
        rec.feed(&chunk(i * 100, 100));
    }
    assert!((rec.pre_roll_available_s() - 0.5).abs() < 1e-9);
    rec.start("5", Some("loud".into()), Some(1.0)).unwrap();
    let mut f = 16000;
    while !rec.is_full() {
        rec.feed(&chunk(f, 333));
        f += 333;
    }
    rec.on_event(&window(0.5, 1.5, Some(1))); // mostly before the clip: not counted
    rec.on_event(&window(1.5, 2.5, Some(4)));
    rec.on_event(&window(2.0, 3.0, Some(4)));
    rec.on_event(&window(2.5, 3.5, None));
    let saved = rec.stop().unwrap();
    let e = &saved.entry;
    assert_eq!((e.label.as_str(), e.speaker.as_str()), ("angry", "ann"));
    assert_eq!(
        (e.rate, e.channels, e.duration, e.pre_roll),
        (8000, 2, 1.5, 0.5)
    );
    assert_eq!(e.note.as_deref(), Some("loud"));
    assert_eq!(e.device, "Test Mic");
    let p = e.prediction.as_ref().unwrap();
    assert_eq!((p.emotion.as_str(), p.windows), ("angry", 2));
    assert!(e.file.starts_with("angry/") && e.file.ends_with("_ann.wav"));
    // The WAV holds frames 12000..24000 exactly: the pre-roll is the 4000 frames
    // before the start at 16000.
    let mut r = hound::WavReader::open(&saved.path).unwrap();
    let s: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(s.len(), 2 * 12000);
    for (i, pair) in s.chunks(2).enumerate() {
        let want = ((12000 + i) as f32 / 1e5 * 32767.0).round() as i16;
        assert_eq!(pair, [want, -want], "frame {i}");
    }
    // One manifest line, pointing at the file.
    let manifest = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines.len(), 1);
    let back: ManifestEntry = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(&back, e);
    assert!(dir.path().join(&back.file).is_file());
}

#[test]
fn a_clip_started_before_any_audio_takes_the_first_audio() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::new(
        RecorderConfig::new(dir.path().to_path_buf(), "ann".into()),
        None,
    )
    .unwrap();
    rec.start("calm", None, Some(0.1)).unwrap();
    assert!(!rec.is_full());
    rec.feed(&chunk(0, 500));
    rec.feed(&chunk(500, 500));
    assert!(rec.is_full());
    let saved = rec.stop().unwrap();
    assert_eq!((saved.entry.rate, saved.entry.channels), (8000, 2));
    assert_eq!((saved.entry.duration, saved.entry.pre_roll), (0.1, 0.0));
    // Stopping twice, or a bad label, are errors, not panics.
    assert!(matches!(rec.stop(), Err(RecordingError::NotRecording)));
    assert!(matches!(
        rec.start("x", None, None),
        Err(RecordingError::Label(_))
    ));
}

#[test]
fn clips_in_the_same_second_get_different_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::new(
        RecorderConfig::new(dir.path().to_path_buf(), "bo".into()),
        None,
    )
    .unwrap();
    rec.on_event(&started(8000, 2));
    let mut names = Vec::new();
    for k in 0..3 {
        rec.feed(&chunk(k * 2000, 1000));
        rec.start("sad", None, Some(0.05)).unwrap();
        rec.feed(&chunk(k * 2000 + 1000, 1000));
        let saved = rec.stop().unwrap();
        assert!(saved.entry.prediction.is_none(), "no model, no prediction");
        names.push(saved.entry.file);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "{names:?}");
    let scan = crate::dataset::corpus::scan(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(scan.clips.len(), 3);
    assert!(
        scan.clips
            .iter()
            .all(|c| c.label == "sad" && c.speaker == "recordings:bo")
    );
}

#[test]
fn a_full_disk_at_the_manifest_is_a_clear_error_and_keeps_the_clip() {
    if crate::testing::dev_full("a_full_disk_at_the_manifest").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The label folder's temporary file cannot be pointed at /dev/full, but the
    // manifest can: the clip is written and renamed, the append fails.
    std::os::unix::fs::symlink("/dev/full", dir.path().join(MANIFEST)).unwrap();
    let mut rec = Recorder::new(
        RecorderConfig::new(dir.path().to_path_buf(), "cy".into()),
        None,
    )
    .unwrap();
    rec.on_event(&started(8000, 2));
    rec.feed(&chunk(0, 8000));
    rec.start("calm", None, None).unwrap();
    rec.feed(&chunk(8000, 800));
    let err = rec.stop().unwrap_err().to_string();
    assert!(
        err.contains("manifest.jsonl: cannot write: No space left on device"),
        "{err}"
    );
    // The WAV itself is complete and labeled by its folder.
    let wavs: Vec<_> = std::fs::read_dir(dir.path().join("calm"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(wavs.len(), 1);
    assert!(hound::WavReader::open(wavs[0].path()).is_ok());
}

/// Checks that a saved clip holds source frames `first..first + n`, every sample exact.
fn assert_frames(path: &std::path::Path, first: u64, n: usize) {
    let mut r = hound::WavReader::open(path).unwrap();
    let s: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(s.len(), 2 * n);
    for (i, pair) in s.chunks(2).enumerate() {
        let want = ((first as usize + i) as f32 / 1e5 * 32767.0).round() as i16;
        assert_eq!(pair, [want, -want], "frame {i}");
    }
}

#[test]
fn an_armed_clip_starts_at_the_frame_the_pre_roll_completes_inside_one_big_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = Recorder::new(
        RecorderConfig::new(dir.path().to_path_buf(), "ann".into()),
        None,
    )
    .unwrap();
    rec.start_after_pre_roll("sad", None, Some(0.25)).unwrap();
    assert!(rec.is_armed() && !rec.is_recording());
    // Asking twice is refused, as for a clip in progress.
    assert!(matches!(
        rec.start_after_pre_roll("sad", None, None),
        Err(RecordingError::AlreadyRecording)
    ));
    // 0.3 s, then 2 s in one chunk (a fast file source): the pre-roll completes at
    // frame 4000, inside the second chunk.
    rec.feed(&chunk(0, 2400));
    assert!(rec.is_armed());
    rec.feed(&chunk(2400, 16000));
    assert!(!rec.is_armed() && rec.is_full());
    let saved = rec.stop().unwrap();
    assert_eq!((saved.entry.duration, saved.entry.pre_roll), (0.75, 0.5));
    assert_frames(&saved.path, 0, 6000);
}

#[test]
fn an_armed_clip_starts_at_once_after_the_pre_roll_and_on_request_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RecorderConfig::new(dir.path().to_path_buf(), "ann".into());
    // The source is already past the pre-roll: the clip starts now.
    let mut rec = Recorder::new(cfg.clone(), None).unwrap();
    rec.feed(&chunk(0, 8000));
    rec.start_after_pre_roll("happy", None, Some(0.1)).unwrap();
    assert!(rec.is_recording() && !rec.is_armed());
    rec.feed(&chunk(8000, 800));
    assert_frames(&rec.stop().unwrap().path, 4000, 4800);
    // The input ends inside the pre-roll: starting the armed clip now keeps all of it.
    let mut rec = Recorder::new(cfg.clone(), None).unwrap();
    rec.start_after_pre_roll("happy", None, Some(1.0)).unwrap();
    rec.feed(&chunk(0, 1000));
    rec.start_armed_now();
    assert!(rec.is_recording());
    let saved = rec.stop().unwrap();
    assert_eq!((saved.entry.duration, saved.entry.pre_roll), (0.125, 0.125));
    // Cancelling disarms it: nothing starts and nothing is saved.
    let mut rec = Recorder::new(cfg, None).unwrap();
    rec.start_after_pre_roll("happy", None, None).unwrap();
    rec.cancel();
    rec.feed(&chunk(0, 8000));
    assert!(!rec.is_recording());
    assert!(matches!(rec.stop(), Err(RecordingError::NotRecording)));
}
