use super::*;

/// The real speech excerpt of the parity fixtures, as int16 / 32768.
fn speech() -> Vec<f32> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference/speech.wav"
    );
    let mut reader = hound::WavReader::open(path).unwrap();
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// Everything a stream emits: (index, mel_db, features) per frame.
type Emitted = Vec<(u64, Vec<f32>, Vec<f32>)>;

fn stream_in_chunks(config: &FrontendConfig, samples: &[f32], chunk: usize) -> Emitted {
    let mut frontend = Frontend::new(config.clone()).unwrap();
    let mut out = Vec::new();
    let mut record = |f: &Frame<'_>| out.push((f.index, f.mel_db.to_vec(), f.features.to_vec()));
    for part in samples.chunks(chunk) {
        frontend.push(part, &mut record);
    }
    frontend.finish(&mut record);
    out
}

fn bits(emitted: &Emitted) -> Vec<(u64, Vec<u32>, Vec<u32>)> {
    emitted
        .iter()
        .map(|(i, m, f)| {
            let m = m.iter().map(|v| v.to_bits()).collect();
            let f = f.iter().map(|v| v.to_bits()).collect();
            (*i, m, f)
        })
        .collect()
}

#[test]
fn chunking_does_not_change_results() {
    let samples = speech();
    for features in [FeatureKind::Mfcc, FeatureKind::Logmel] {
        let config = FrontendConfig {
            features,
            ..FrontendConfig::default()
        };
        let whole = stream_in_chunks(&config, &samples, samples.len());
        assert_eq!(whole.len(), 1 + samples.len() / 160);
        let indices: Vec<u64> = whole.iter().map(|f| f.0).collect();
        assert_eq!(indices, (0..whole.len() as u64).collect::<Vec<_>>());
        for chunk in [1, 7, 160, 4096] {
            let chunked = stream_in_chunks(&config, &samples, chunk);
            assert!(
                bits(&chunked) == bits(&whole),
                "{features:?}, chunks of {chunk}"
            );
        }
    }
}

#[test]
fn chunking_does_not_change_results_when_hop_exceeds_fft() {
    // Frames then skip samples; a long push must skip exactly the same ones.
    let config = FrontendConfig {
        n_fft: 256,
        win_length: 200,
        hop_length: 400,
        n_mels: 32,
        n_mfcc: 13,
        ..FrontendConfig::default()
    };
    let samples = speech();
    let whole = stream_in_chunks(&config, &samples, samples.len());
    // 1 + (len + 2 * 128 - 256) / 400, the count librosa gives.
    assert_eq!(whole.len(), 1 + samples.len() / 400);
    for chunk in [1, 7, 399, 401, 4096] {
        let chunked = stream_in_chunks(&config, &samples, chunk);
        assert!(bits(&chunked) == bits(&whole), "chunks of {chunk}");
    }
}

#[test]
fn frame_counts_match_librosa() {
    // (n_fft, hop_length, clip length, frames librosa.stft(center=True) gives),
    // produced with librosa 0.11.0 in the training venv.
    let cases = [
        (512, 160, 1, 1),
        (512, 160, 159, 1),
        (512, 160, 160, 2),
        (401, 160, 1, 1),
        (401, 160, 160, 1),
        (401, 160, 1000, 7),
        (256, 400, 5, 1),
        (256, 400, 1000, 3),
    ];
    for (n_fft, hop_length, len, frames) in cases {
        let config = FrontendConfig {
            n_fft,
            win_length: 200,
            hop_length,
            features: FeatureKind::Logmel,
            ..FrontendConfig::default()
        };
        let samples = vec![0.25; len];
        let out = features_of_clip(&config, &samples).unwrap();
        assert_eq!(
            out.len(),
            frames * 40,
            "n_fft {n_fft}, hop {hop_length}, {len} samples"
        );
    }
}

#[test]
fn frames_come_out_as_soon_as_their_last_sample_arrives() {
    // Frame t spans padded samples [t*hop, t*hop + n_fft), i.e. it needs input
    // samples up to t*hop + n_fft/2: frame 0 after 256, frame 1 after 416.
    let mut frontend = Frontend::new(FrontendConfig::default()).unwrap();
    let samples = speech();
    let mut arrivals = Vec::new();
    for (n, s) in samples[..1000].iter().enumerate() {
        frontend.push(std::slice::from_ref(s), &mut |f| {
            arrivals.push((f.index, n + 1))
        });
    }
    assert_eq!(
        arrivals,
        vec![(0, 256), (1, 416), (2, 576), (3, 736), (4, 896)]
    );
}

#[test]
fn all_zero_input_sits_on_the_amin_floor() {
    let config = FrontendConfig::default();
    let mut frames = 0;
    let mut frontend = Frontend::new(config.clone()).unwrap();
    let mut check = |f: &Frame<'_>| {
        frames += 1;
        assert!(f.mel_db.iter().all(|&v| v == -100.0), "{:?}", f.mel_db);
        // Orthonormal DCT of a constant -100: c0 = -100 * sqrt(n_mels), rest 0.
        let c0 = -100.0 * (config.n_mels as f32).sqrt();
        assert!((f.features[0] - c0).abs() < 1e-3, "c0 = {}", f.features[0]);
        assert!(
            f.features[1..]
                .iter()
                .all(|v| v.is_finite() && v.abs() < 1e-3)
        );
    };
    frontend.push(&vec![0.0; 16_000], &mut check);
    frontend.finish(&mut check);
    assert_eq!(frames, 101);
}

#[test]
fn non_finite_samples_are_treated_as_silence() {
    let clean = speech();
    let mut zeroed = clean.clone();
    let mut broken = clean.clone();
    for (i, bad) in [
        (5_000, f32::NAN),
        (5_001, f32::INFINITY),
        (20_000, f32::NEG_INFINITY),
    ] {
        zeroed[i] = 0.0;
        broken[i] = bad;
    }
    let config = FrontendConfig::default();
    let expected = features_of_clip(&config, &zeroed).unwrap();
    let got = features_of_clip(&config, &broken).unwrap();
    assert!(got.iter().all(|v| v.is_finite()));
    assert_eq!(got, expected);
    // And the damage is local: frames far from the bad samples match the clean clip.
    let clean_features = features_of_clip(&config, &clean).unwrap();
    assert_eq!(got[..20 * 40], clean_features[..20 * 40]);
}

#[test]
fn finish_and_reset_start_a_new_stream() {
    let samples = speech();
    let config = FrontendConfig::default();
    let expected = stream_in_chunks(&config, &samples, samples.len());

    let mut frontend = Frontend::new(config).unwrap();
    let mut out: Emitted = Vec::new();
    // A clip, finished: the next clip must not see its tail.
    frontend.push(&samples[..7_000], &mut |_| {});
    frontend.finish(&mut |_| {});
    frontend.push(&samples, &mut |f| {
        out.push((f.index, f.mel_db.to_vec(), f.features.to_vec()))
    });
    frontend.finish(&mut |f| out.push((f.index, f.mel_db.to_vec(), f.features.to_vec())));
    assert!(bits(&out) == bits(&expected));

    // A stream dropped half-way by reset.
    out.clear();
    frontend.push(&samples[..9_999], &mut |_| {});
    frontend.reset();
    frontend.push(&samples, &mut |f| {
        out.push((f.index, f.mel_db.to_vec(), f.features.to_vec()))
    });
    frontend.finish(&mut |f| out.push((f.index, f.mel_db.to_vec(), f.features.to_vec())));
    assert!(bits(&out) == bits(&expected));
}

#[test]
fn an_empty_stream_gives_no_frames() {
    let mut frontend = Frontend::new(FrontendConfig::default()).unwrap();
    let mut frames = 0;
    frontend.push(&[], &mut |_| frames += 1);
    frontend.finish(&mut |_| frames += 1);
    assert_eq!(frames, 0);
    assert!(
        features_of_clip(&FrontendConfig::default(), &[])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_settings_are_errors_not_panics() {
    let d = FrontendConfig::default();
    let cases = [
        (
            FrontendConfig {
                n_mfcc: 60,
                ..d.clone()
            },
            "n_mfcc (60) exceeds n_mels (40)",
        ),
        (
            FrontendConfig {
                n_mfcc: 0,
                ..d.clone()
            },
            "n_mfcc must be positive",
        ),
        (
            FrontendConfig {
                sample_rate: 0,
                ..d.clone()
            },
            "sample_rate",
        ),
        (
            FrontendConfig {
                win_length: 0,
                ..d.clone()
            },
            "win_length must be positive",
        ),
        (
            FrontendConfig {
                win_length: 600,
                ..d.clone()
            },
            "win_length (600) exceeds n_fft (512)",
        ),
        (
            FrontendConfig {
                n_fft: 1 << 30,
                ..d.clone()
            },
            "n_fft (1073741824) exceeds",
        ),
        (
            FrontendConfig {
                hop_length: 0,
                ..d.clone()
            },
            "hop_length",
        ),
        (
            FrontendConfig {
                n_mels: 0,
                ..d.clone()
            },
            "n_mels must be positive",
        ),
        (
            FrontendConfig {
                n_mels: 300,
                ..d.clone()
            },
            "n_mels (300) exceeds the 257",
        ),
        (
            FrontendConfig {
                fmin: -1.0,
                ..d.clone()
            },
            "fmin (-1)",
        ),
        (
            FrontendConfig {
                fmin: f32::NAN,
                ..d.clone()
            },
            "fmin (NaN)",
        ),
        (
            FrontendConfig {
                fmax: 8001.0,
                ..d.clone()
            },
            "fmax (8001) must be at most",
        ),
        (
            FrontendConfig {
                fmax: f32::INFINITY,
                ..d.clone()
            },
            "fmax (inf)",
        ),
        (
            FrontendConfig {
                fmin: 4000.0,
                fmax: 4000.0,
                ..d.clone()
            },
            "fmin (4000) must be below",
        ),
    ];
    for (config, expected) in cases {
        let err = Frontend::new(config.clone()).unwrap_err().to_string();
        assert!(err.starts_with("invalid front-end settings: "), "{err}");
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
        assert!(!err.contains('\n'));
        assert!(features_of_clip(&config, &[0.5; 1000]).is_err());
        assert!(config.mel_center_frequencies().is_empty());
    }
    assert_eq!(
        Frontend::new(FrontendConfig { n_mfcc: 60, ..d })
            .unwrap_err()
            .to_string(),
        "invalid front-end settings: n_mfcc (60) exceeds n_mels (40)"
    );
}

#[test]
fn extreme_but_valid_settings_run_without_panicking() {
    // Settings come from files: the smallest and oddest valid ones must work too.
    let d = FrontendConfig::default();
    let configs = [
        FrontendConfig {
            n_fft: 1,
            win_length: 1,
            hop_length: 1,
            n_mels: 1,
            n_mfcc: 1,
            ..d.clone()
        },
        FrontendConfig {
            n_fft: 3,
            win_length: 2,
            hop_length: 5,
            n_mels: 2,
            n_mfcc: 1,
            ..d.clone()
        },
        FrontendConfig {
            n_fft: 4096,
            win_length: 4096,
            hop_length: 1,
            n_mels: 128,
            n_mfcc: 128,
            ..d.clone()
        },
        FrontendConfig {
            sample_rate: 8_000,
            fmin: 3_999.0,
            fmax: 4_000.0,
            n_mels: 3,
            n_mfcc: 3,
            ..d
        },
    ];
    let samples = speech();
    for config in configs {
        let out = features_of_clip(&config, &samples[..3_000]).unwrap();
        assert_eq!(
            out.len(),
            config.frames_in_clip(3_000) * config.feature_dim(),
            "{config:?}"
        );
        assert!(
            !out.is_empty() && out.iter().all(|v| v.is_finite()),
            "{config:?}"
        );
    }
}

#[test]
fn logmel_ignores_n_mfcc() {
    let config = FrontendConfig {
        features: FeatureKind::Logmel,
        n_mels: 32,
        n_mfcc: 40,
        ..FrontendConfig::default()
    };
    assert!(config.validate().is_ok());
    assert_eq!(config.feature_dim(), 32);
    let mut frontend = Frontend::new(config).unwrap();
    let mut seen = 0;
    frontend.push(&speech(), &mut |f| {
        assert_eq!(f.features, f.mel_db);
        assert_eq!(f.features.len(), 32);
        seen += 1;
    });
    assert!(seen > 100);
}

#[test]
fn dimensions_and_rates_follow_the_settings() {
    let d = FrontendConfig::default();
    assert_eq!(d.feature_dim(), 40);
    assert_eq!(d.frames_per_second(), 100.0);
    let other = FrontendConfig {
        n_mfcc: 13,
        hop_length: 320,
        ..d
    };
    assert_eq!(other.feature_dim(), 13);
    assert_eq!(other.frames_per_second(), 50.0);
    let centres = other.mel_center_frequencies();
    assert_eq!(centres.len(), 40);
    assert!(centres.windows(2).all(|w| w[0] < w[1]));
    assert!(centres[0] > 0.0 && centres[39] < 8000.0);
}

#[test]
fn settings_parse_from_metadata_json() {
    let config: FrontendConfig =
        serde_json::from_str(r#"{"n_mels": 64, "n_mfcc": 20, "features": "logmel"}"#).unwrap();
    assert_eq!(
        config,
        FrontendConfig {
            n_mels: 64,
            n_mfcc: 20,
            features: FeatureKind::Logmel,
            ..FrontendConfig::default()
        }
    );
    let empty: FrontendConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, FrontendConfig::default());
    // A misspelt setting must not silently fall back to its default.
    assert!(serde_json::from_str::<FrontendConfig>(r#"{"n_mel": 64}"#).is_err());
    assert!(serde_json::from_str::<FrontendConfig>(r#"{"features": "MFCC"}"#).is_err());
    let round_trip = serde_json::to_string(&config).unwrap();
    assert!(round_trip.contains(r#""features":"logmel""#));
    assert_eq!(
        serde_json::from_str::<FrontendConfig>(&round_trip).unwrap(),
        config
    );
}

#[test]
fn sparse_filterbank_keeps_every_non_zero_weight() {
    // The sparse runs must hold the whole triangle: a bin is stored exactly when
    // it lies strictly between the band's outer edges, where its weight is > 0.
    let config = FrontendConfig {
        n_mels: 64,
        fmin: 20.0,
        fmax: 7600.0,
        ..FrontendConfig::default()
    };
    let (filters, weights) = sparse_mel_filterbank(&config);
    let edges = mel_band_edges(&config);
    let bin_hz = 16_000.0 / 512.0;
    for (band, filter) in filters.iter().enumerate() {
        for k in 0..257 {
            let hz = k as f64 * bin_hz;
            let inside = hz > edges[band] && hz < edges[band + 2];
            let stored = k >= filter.first_bin && k < filter.first_bin + filter.len;
            assert_eq!(inside, stored, "band {band}, bin {k}");
            if stored {
                assert!(weights[filter.offset + k - filter.first_bin] > 0.0);
            }
        }
    }
}
