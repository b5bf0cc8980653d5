//! Parity of the streaming front end with librosa 0.11.
//!
//! The expected values in `tests/fixtures/reference/*.json` were written by
//! `tests/reference/make_mfcc_reference.py` with the pinned librosa 0.11.0 from the
//! same 16-bit WAV files read here, so they are an independent implementation of the
//! computation, not numbers copied from this crate. The model was trained on librosa
//! features; if these drift apart, the live model sees different numbers than it was
//! trained on.

use std::path::{Path, PathBuf};

use emotty::dsp::frontend::{FeatureKind, FrontendConfig, features_of_clip};
use serde::Deserialize;

/// Largest absolute difference allowed for any value (dB or cepstral coefficient).
const TOLERANCE: f32 = 1e-3;

#[derive(Deserialize)]
struct Reference {
    librosa_version: String,
    /// Parsed with the same serde rules as a model's metadata.
    frontend: FrontendConfig,
    mel_center_frequencies: Vec<f32>,
    clips: Vec<ReferenceClip>,
}

#[derive(Deserialize)]
struct ReferenceClip {
    wav: String,
    num_samples: usize,
    num_frames: usize,
    frame_indices: Vec<usize>,
    mel_db: Vec<Vec<f32>>,
    mfcc: Vec<Vec<f32>>,
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference")
}

fn load_reference(name: &str) -> Reference {
    let text = std::fs::read_to_string(reference_dir().join(name)).unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    assert_eq!(reference.librosa_version, "0.11.0");
    reference
}

/// 16-bit PCM as int16 / 32768, the same floats soundfile gave librosa.
fn read_wav(name: &str) -> Vec<f32> {
    let mut reader = hound::WavReader::open(reference_dir().join(name)).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// Compares the frames listed in the reference; returns the largest difference.
fn max_error(
    actual: &[f32],
    dim: usize,
    expected: &[Vec<f32>],
    indices: &[usize],
    what: &str,
) -> f32 {
    assert_eq!(expected.len(), indices.len(), "{what}: malformed reference");
    let mut worst = 0.0f32;
    for (row, &t) in expected.iter().zip(indices) {
        assert_eq!(row.len(), dim, "{what}: frame {t} has the wrong width");
        let got = &actual[t * dim..(t + 1) * dim];
        for (j, (&g, &e)) in got.iter().zip(row).enumerate() {
            let err = (g - e).abs();
            assert!(
                err <= TOLERANCE,
                "{what}: frame {t} value {j}: got {g}, librosa {e} (error {err})"
            );
            worst = worst.max(err);
        }
    }
    worst
}

/// Runs both feature kinds over every clip of a reference file and checks every
/// stored value and the exact frame count.
fn check_reference(name: &str) -> FrontendConfig {
    let reference = load_reference(name);
    let config = reference.frontend.clone();
    assert_eq!(config.features, FeatureKind::Mfcc);
    let logmel = FrontendConfig {
        features: FeatureKind::Logmel,
        ..config.clone()
    };
    for clip in &reference.clips {
        let samples = read_wav(&clip.wav);
        assert_eq!(samples.len(), clip.num_samples, "{}", clip.wav);

        let mfcc = features_of_clip(&config, &samples).unwrap();
        assert_eq!(
            mfcc.len(),
            clip.num_frames * config.n_mfcc,
            "{}: MFCC frames",
            clip.wav
        );
        let mel = features_of_clip(&logmel, &samples).unwrap();
        assert_eq!(
            mel.len(),
            clip.num_frames * config.n_mels,
            "{}: log-mel frames",
            clip.wav
        );

        let what = format!("{name} {} MFCC", clip.wav);
        let mfcc_err = max_error(&mfcc, config.n_mfcc, &clip.mfcc, &clip.frame_indices, &what);
        let what = format!("{name} {} log-mel", clip.wav);
        let mel_err = max_error(
            &mel,
            config.n_mels,
            &clip.mel_db,
            &clip.frame_indices,
            &what,
        );
        println!(
            "{name} {}: {} frames ({} checked), max |error| MFCC {mfcc_err:.2e}, log-mel {mel_err:.2e}",
            clip.wav,
            clip.num_frames,
            clip.frame_indices.len()
        );
    }

    let centres = config.mel_center_frequencies();
    assert_eq!(centres.len(), reference.mel_center_frequencies.len());
    for (got, want) in centres.iter().zip(&reference.mel_center_frequencies) {
        assert!(
            (got - want).abs() <= 1e-3,
            "mel centre {got} Hz, librosa {want} Hz"
        );
    }
    config
}

#[test]
fn default_settings_match_librosa() {
    let config = check_reference("default.json");
    // The reference was made with the settings the product ships with.
    assert_eq!(config, FrontendConfig::default());
}

#[test]
fn other_settings_from_metadata_match_librosa() {
    let config = check_reference("other.json");
    // Really another front end: different FFT, hop, bands, coefficients and range.
    let default = FrontendConfig::default();
    assert_ne!(config.n_fft, default.n_fft);
    assert_ne!(config.hop_length, default.hop_length);
    assert_ne!(config.n_mels, default.n_mels);
    assert_ne!(config.n_mfcc, default.n_mfcc);
}

#[test]
fn reference_covers_floor_end_padding_and_odd_lengths() {
    // Guards the fixtures themselves: the properties the parity tests rely on.
    let reference = load_reference("default.json");
    let synth = &reference.clips[0];
    assert_eq!(
        synth.frame_indices,
        (0..synth.num_frames).collect::<Vec<_>>()
    );
    assert!(
        synth.mel_db.iter().flatten().any(|&v| v == -100.0),
        "no frame on the amin floor"
    );
    assert!(
        synth.mel_db.iter().flatten().any(|&v| v > 10.0),
        "no loud frame"
    );
    let hop = reference.frontend.hop_length;
    assert!(reference.clips.iter().any(|c| c.num_samples % hop != 0));
    for clip in &reference.clips {
        assert_eq!(clip.num_frames, 1 + clip.num_samples / hop);
        assert_eq!(clip.frame_indices.last(), Some(&(clip.num_frames - 1)));
    }
}
