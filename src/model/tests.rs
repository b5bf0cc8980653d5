use super::*;
use crate::dsp::frontend::FrontendConfig;

#[test]
fn softmax_matches_hand_computed_values() {
    // exp(0)=1, exp(ln 3)=3: probabilities 1/4 and 3/4.
    let p = softmax(&[0.0, 3f32.ln()]);
    assert!(
        (p[0] - 0.25).abs() < 1e-6 && (p[1] - 0.75).abs() < 1e-6,
        "{p:?}"
    );
    // Large logits must not overflow.
    let p = softmax(&[1000.0, 1000.0]);
    assert_eq!(p, vec![0.5, 0.5]);
}

#[test]
fn sha256_of_known_input() {
    // FIPS 180-2 example "abc".
    assert_eq!(
        hex_sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

fn meta() -> ModelMeta {
    ModelMeta {
        format: 1,
        name: "t".into(),
        version: "0".into(),
        description: String::new(),
        labels: vec!["a".into(), "b".into()],
        sample_rate: 16000,
        frontend: FrontendConfig::default(),
        window_s: 3.0,
        min_window_s: 1.0,
        output: OutputKind::Probabilities,
        training_data: String::new(),
        metrics: serde_json::Value::Null,
        affect: vec![],
        temperature: None,
        adaptation: None,
        streaming: None,
    }
}

#[test]
fn metadata_validation_rejects_inconsistencies() {
    assert_eq!(validate_meta(&meta()), Ok(()));
    let cases: Vec<(ModelMeta, &str)> = vec![
        (
            ModelMeta {
                format: 3,
                ..meta()
            },
            "format 3 is not supported (this emotty reads formats 1 to 2)",
        ),
        (
            ModelMeta {
                labels: vec![],
                ..meta()
            },
            "labels is empty",
        ),
        (
            ModelMeta {
                labels: vec!["a".into(), "a".into()],
                ..meta()
            },
            "appears twice",
        ),
        (
            ModelMeta {
                sample_rate: 8000,
                ..meta()
            },
            "differs from frontend.sample_rate",
        ),
        (
            ModelMeta {
                window_s: 0.0,
                ..meta()
            },
            "window_s must be > 0",
        ),
        (
            ModelMeta {
                min_window_s: 4.0,
                ..meta()
            },
            "min_window_s",
        ),
        (
            ModelMeta {
                min_window_s: 0.0,
                ..meta()
            },
            "min_window_s",
        ),
        (
            ModelMeta {
                affect: vec!["valence".into(), "arousal".into()],
                ..meta()
            },
            "affect must be",
        ),
        (
            ModelMeta {
                labels: vec!["a".into(), "\u{1b}]0;x\u{7}".into()],
                ..meta()
            },
            "a label \"\\e]0;x\\x07\" contains a control character",
        ),
        (
            ModelMeta {
                name: "t\n".into(),
                ..meta()
            },
            "name \"t\\n\" contains a control character",
        ),
        (
            ModelMeta {
                adaptation: Some(adaptation(vec![0.0; 39], vec![1.0; 40], 10.0)),
                ..meta()
            },
            "adaptation has 39 means and 40 deviations; the front end gives 40",
        ),
        (
            ModelMeta {
                adaptation: Some(adaptation(vec![0.0; 40], vec![0.0; 40], 10.0)),
                ..meta()
            },
            "deviations above 0",
        ),
        (
            ModelMeta {
                adaptation: Some(adaptation(vec![f32::NAN; 40], vec![1.0; 40], 10.0)),
                ..meta()
            },
            "must be finite",
        ),
        (
            ModelMeta {
                adaptation: Some(adaptation(vec![0.0; 40], vec![1.0; 40], -1.0)),
                ..meta()
            },
            "prior_frames must be between 0 and 1e9, got -1",
        ),
    ];
    for (bad, expected) in cases {
        let err = validate_meta(&bad).expect_err(expected);
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    }
}

fn adaptation(mean: Vec<f32>, std: Vec<f32>, prior_frames: f64) -> AdaptationPrior {
    AdaptationPrior {
        mean,
        std,
        prior_frames,
    }
}

#[test]
fn candidates_start_in_cwd_and_end_in_data_dir() {
    let candidates = default_model_candidates();
    assert_eq!(candidates[0], PathBuf::from("models/emotty.onnx"));
    assert!(candidates.iter().all(|c| c.ends_with("emotty.onnx")));
    if let Some(dirs) = directories::ProjectDirs::from("", "", "emotty") {
        assert_eq!(
            candidates.last(),
            Some(&dirs.data_dir().join("models/emotty.onnx"))
        );
    }
}
