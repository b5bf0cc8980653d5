//! The shipped model, `models/emotty.onnx`: it loads, describes itself, fits the size
//! budget, and tract gives the same probabilities as onnxruntime on real clips pushed
//! through the engine's own feature path. Reference values come from
//! `tests/reference/model_reference.py --corpus tests/fixtures/corpus --model
//! models/emotty.onnx --out tests/fixtures/reference/model_shipped.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use emotty::dataset::features::clip_features;
use emotty::dsp::vad::VadConfig;
use emotty::model::{Model, OutputKind, find_default_model};

use emotty::emotion::EMOTIONS as LABELS;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> PathBuf {
    repo().join("models/emotty.onnx")
}

fn load() -> Model {
    Model::load(&shipped()).unwrap_or_else(|e| panic!("the shipped model must load: {e}"))
}

#[test]
fn the_shipped_model_is_the_default_and_describes_itself() {
    let model = load();
    let info = model.info();
    let meta = &info.meta;
    assert_eq!(
        meta.labels, LABELS,
        "the product's eight classes, RAVDESS order"
    );
    assert_eq!(meta.sample_rate, 16_000);
    assert_eq!(meta.frontend.sample_rate, 16_000);
    assert!(meta.frontend.pitch, "trained on MFCCs plus the pitch track");
    assert_eq!(model.feature_dim(), 42);
    assert_eq!(meta.window_s, 3.0);
    assert_eq!(meta.output, OutputKind::Probabilities);
    assert!(!meta.name.is_empty() && !meta.version.is_empty());
    assert!(
        meta.training_data.contains("RAVDESS") && meta.training_data.contains("TESS"),
        "{}",
        meta.training_data
    );
    assert!(meta.training_data.contains("non-commercial"));
    // The fold metrics the model card reports travel with the model.
    let uar = &meta.metrics["ravdess_cv"]["uar"];
    let mean = uar["mean"].as_f64().expect("ravdess_cv.uar.mean");
    assert!(mean > 0.125 && mean < 1.0, "{uar}");
    assert!(uar["n"].as_u64() == Some(5), "five folds: {uar}");
    assert!(
        meta.metrics["tess_within_speaker_cv"]["accuracy"]["mean"]
            .as_f64()
            .is_some()
    );
    assert!(
        info.file_size <= 5 * 1024 * 1024,
        "the .onnx must stay within 5 MB: {} bytes",
        info.file_size
    );
    // Run from the repository, the default model is this file.
    let found = find_default_model().expect("a default model");
    assert_eq!(
        std::fs::canonicalize(found).unwrap(),
        std::fs::canonicalize(shipped()).unwrap()
    );
}

#[derive(serde::Deserialize)]
struct Reference {
    feature_dim: usize,
    models: Vec<String>,
    model_sha256: BTreeMap<String, String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    clip: String,
    first_frame: usize,
    frames: usize,
    input_sum: f64,
    expected: BTreeMap<String, Vec<f32>>,
}

#[test]
fn tract_matches_onnxruntime_on_fixture_clips() {
    let model = load();
    let path = repo().join("tests/fixtures/reference/model_shipped.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    assert_eq!(reference.models, ["emotty.onnx"]);
    assert_eq!(
        reference.model_sha256["emotty.onnx"],
        model.info().sha256,
        "the reference was made for another emotty.onnx: rerun {}",
        "tests/reference/model_reference.py --corpus tests/fixtures/corpus --model models/emotty.onnx --out tests/fixtures/reference/model_shipped.json"
    );
    assert_eq!(reference.feature_dim, model.feature_dim());
    assert!(reference.cases.len() >= 8, "every fixture clip");
    let dim = model.feature_dim();
    let mut max_diff = 0f32;
    for case in &reference.cases {
        let clip = clip_features(
            &repo().join(&case.clip),
            &model.info().meta.frontend,
            VadConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let rows = &clip.features[case.first_frame * dim..(case.first_frame + case.frames) * dim];
        let sum: f64 = rows.iter().map(|&v| f64::from(v)).sum();
        assert!(
            (sum - case.input_sum).abs() <= 1e-2 * (1.0 + case.input_sum.abs() * 1e-5),
            "{}: the features are not the ones the reference was made from ({sum} vs {}): rerun the script",
            case.name,
            case.input_sum
        );
        let got = model.predict(rows, case.frames).unwrap().probs;
        let want = &case.expected["emotty.onnx"];
        assert_eq!(got.len(), LABELS.len());
        for (label, (g, w)) in LABELS.iter().zip(got.iter().zip(want)) {
            let diff = (g - w).abs();
            assert!(
                diff <= 1e-4,
                "{} {label}: tract {g} vs onnxruntime {w}",
                case.name
            );
            max_diff = max_diff.max(diff);
        }
    }
    println!("shipped model: max |tract - onnxruntime| = {max_diff:e}");
}
