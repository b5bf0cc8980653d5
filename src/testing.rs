//! Helpers the unit tests share.

use std::fs::File;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// `/dev/full` opened for writing, if it is the kernel's full device here: a character
/// device whose every write fails with ENOSPC. Where it is not (a container may lack it,
/// or a careless `> /dev/full` as root may have replaced it with a regular file), the
/// test says so on stderr and gets `None`, rather than failing or passing for the wrong
/// reason.
pub fn dev_full(test: &str) -> Option<File> {
    full_device(Path::new("/dev/full"), test)
}

fn full_device(path: &Path, test: &str) -> Option<File> {
    let skip = |why: String| {
        eprintln!("skipped {test}: {why}; the full-disk path is not tested here");
        None
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_char_device() => {}
        Ok(_) => return skip(format!("{} is not a character device", path.display())),
        Err(e) => return skip(format!("{}: {e}", path.display())),
    }
    let mut file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) => return skip(format!("{} cannot be opened: {e}", path.display())),
    };
    match std::io::Write::write(&mut file, b"x") {
        Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => Some(file),
        other => skip(format!(
            "a write to {} gave {other:?}, not ENOSPC",
            path.display()
        )),
    }
}

#[test]
fn only_the_real_full_device_counts() {
    let dir = tempfile::tempdir().unwrap();
    // What `> /dev/full` as root leaves behind: a regular file that takes writes.
    let fake = dir.path().join("full");
    std::fs::write(&fake, b"").unwrap();
    assert!(full_device(&fake, "t").is_none());
    assert!(full_device(&dir.path().join("missing"), "t").is_none());
    // A character device that takes writes is not the full device either.
    assert!(full_device(Path::new("/dev/null"), "t").is_none());
}

/// Fake engine events, for the tests of the consumers (the monitor's state and screen,
/// the session writer, the recorder). Each test overrides what it is about with struct
/// update syntax; a new field of an event is added here once.
pub mod events {
    use std::time::Instant;

    use crate::emotion::EMOTIONS;
    use crate::engine::{Event, Outcome, SourceInfo, SourceKind, StartInfo, WindowResult};

    /// A source as the engine describes it.
    pub fn source(kind: SourceKind, name: &str, sample_rate: u32, channels: u16) -> SourceInfo {
        SourceInfo {
            kind,
            name: name.into(),
            sample_rate,
            channels,
            format: "i16".into(),
        }
    }

    /// What a 16 kHz model with the eight emotions, a 3 s window and a 0.5 s hop
    /// announces for `source`, without arousal, valence or adaptation.
    pub fn start_info(source: SourceInfo) -> StartInfo {
        StartInfo {
            source,
            model_name: "test".into(),
            labels: EMOTIONS.iter().map(|s| s.to_string()).collect(),
            affect: false,
            adapting: false,
            sample_rate: 16_000,
            window_s: 3.0,
            hop_s: 0.5,
            mel_frequencies: Vec::new(),
            started_at: Instant::now(),
        }
    }

    /// `top` at `peak`, every other of the eight at `rest`.
    pub fn peaked(top: usize, peak: f32, rest: f32) -> Outcome {
        let mut probs = vec![rest; EMOTIONS.len()];
        probs[top] = peak;
        Outcome::Emotion {
            probs,
            top,
            affect: None,
        }
    }

    /// A window's result, sent now.
    pub fn window(
        index: u64,
        (start_s, end_s): (f64, f64),
        speech_ratio: f32,
        rms_dbfs: f32,
        outcome: Outcome,
    ) -> Event {
        Event::Window(WindowResult {
            index,
            start_s,
            end_s,
            speech_ratio,
            rms_dbfs,
            outcome,
            emitted_at: Instant::now(),
        })
    }
}
