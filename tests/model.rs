//! The model runner against real ONNX files: the seeded TEST models made by
//! `tests/fixtures/make_test_model.py`, broken variants of them, and reference
//! probabilities from onnxruntime (`tests/reference/model_reference.py`).

use std::path::{Path, PathBuf};

use emotty::model::{Model, ModelError, OutputKind, default_model_candidates, find_default_model};
use sha2::{Digest, Sha256};

/// The fixture models carry the product's eight labels.
use emotty::emotion::EMOTIONS as LABELS;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> Model {
    let path = fixture(name);
    Model::load(&path).unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
}

/// The error message for loading `path`, checked to be one line naming the file.
fn load_error(path: &Path) -> String {
    let err = Model::load(path).expect_err("load should fail");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "message must be one line: {msg:?}");
    assert!(
        msg.starts_with(&format!("{}: ", path.display())),
        "message must start with the file name: {msg:?}"
    );
    msg
}

/// Deterministic pseudo-random values (xorshift64*), so tests need no RNG crate.
fn pseudo_random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let u = (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32;
            (u * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Copies a fixture into a temp dir with one same-length byte substitution, which
/// keeps every protobuf length prefix valid while changing the metadata JSON.
fn patched_copy(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    assert_eq!(from.len(), to.len(), "substitution must keep the length");
    let bytes = std::fs::read(fixture(name)).unwrap();
    let hits: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "{from:?} should occur once in {name}");
    let mut patched = bytes;
    patched[hits[0]..hits[0] + to.len()].copy_from_slice(to.as_bytes());
    let out = dir.join(format!("patched-{name}"));
    std::fs::write(&out, patched).unwrap();
    out
}

#[test]
fn model_is_send_and_sync() {
    const fn assert_send_sync<T: Send + Sync>() {}
    const _: () = assert_send_sync::<Model>();
}

#[test]
fn loads_test_model_and_reads_metadata_back() {
    let path = fixture("test-model.onnx");
    let model = load("test-model.onnx");
    let info = model.info();
    let meta = &info.meta;
    // Expected values are the ones make_test_model.py writes.
    assert_eq!(meta.format, 1);
    assert_eq!(meta.name, "emotty-test-model");
    assert_eq!(meta.version, "0.0.0-test");
    assert!(
        meta.description.contains("UNTRAINED"),
        "{}",
        meta.description
    );
    assert!(
        meta.description.contains("never ship"),
        "{}",
        meta.description
    );
    assert_eq!(model.labels(), LABELS);
    assert_eq!(meta.sample_rate, 16000);
    assert_eq!(meta.frontend.n_fft, 512);
    assert_eq!(meta.frontend.win_length, 400);
    assert_eq!(meta.frontend.hop_length, 160);
    assert_eq!(meta.frontend.n_mfcc, 40);
    assert_eq!(meta.frontend.fmax, 8000.0);
    assert_eq!(meta.window_s, 3.0);
    assert_eq!(meta.min_window_s, 1.0);
    assert_eq!(meta.output, OutputKind::Probabilities);
    assert_eq!(meta.training_data, "none (random weights)");
    assert_eq!(meta.metrics, serde_json::json!({}));
    assert_eq!(model.feature_dim(), 40);

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(info.path, path);
    assert_eq!(info.file_size, bytes.len() as u64);
    let expected_hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(info.sha256, expected_hash);

    let logits = load("test-model-logits.onnx");
    assert_eq!(logits.info().meta.output, OutputKind::Logits);
    assert_ne!(logits.info().sha256, info.sha256);
}

#[derive(serde::Deserialize)]
struct Reference {
    feature_dim: usize,
    models: Vec<String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    frames: usize,
    input_scale: f32,
    input: Vec<i64>,
    expected: std::collections::BTreeMap<String, Vec<f32>>,
}

#[test]
fn parity_with_onnxruntime() {
    let text = std::fs::read_to_string(fixture("reference/model_test-model.json")).unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    assert!(
        reference.models.len() >= 2,
        "both the probabilities and the logits model"
    );
    let mut compared = 0;
    for model_name in &reference.models {
        let model = load(model_name);
        assert_eq!(model.feature_dim(), reference.feature_dim);
        let mut max_diff = 0f32;
        for case in &reference.cases {
            assert_eq!(
                case.input.len(),
                case.frames * reference.feature_dim,
                "{}",
                case.name
            );
            // The same exact float32 values onnxruntime was fed (scale is a power of two).
            let features: Vec<f32> = case
                .input
                .iter()
                .map(|&q| q as f32 * case.input_scale)
                .collect();
            let got = model.predict(&features, case.frames).unwrap().probs;
            let want = &case.expected[model_name];
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                let diff = (g - w).abs();
                assert!(
                    diff <= 1e-4,
                    "{model_name} {} label {i}: tract {g} vs onnxruntime {w}",
                    case.name
                );
                max_diff = max_diff.max(diff);
                compared += 1;
            }
        }
        println!("{model_name}: max |tract - onnxruntime| = {max_diff:e}");
    }
    assert_eq!(
        compared,
        reference.models.len() * reference.cases.len() * LABELS.len()
    );
}

#[test]
fn model_without_metadata_is_refused() {
    let path = fixture("test-model-nometa.onnx");
    let msg = load_error(&path);
    assert!(
        msg.ends_with(": no emotty metadata (metadata_props key \"emotty\" missing)"),
        "{msg}"
    );
}

#[test]
fn label_count_mismatch_is_refused() {
    let path = fixture("test-model-badlabels.onnx");
    let msg = load_error(&path);
    assert!(
        msg.ends_with(": model outputs 7 values but metadata lists 8 labels"),
        "{msg}"
    );
}

#[test]
fn feature_dim_mismatch_is_refused() {
    let path = fixture("test-model-baddim.onnx");
    let msg = load_error(&path);
    assert!(
        msg.ends_with(": model expects 20 features per frame but its front end gives 40"),
        "{msg}"
    );
}

#[test]
fn front_end_in_metadata_must_match_the_graph() {
    // The graph takes 40 values per frame; metadata claiming 20 MFCCs must fail.
    let dir = tempfile::tempdir().unwrap();
    let path = patched_copy(
        dir.path(),
        "test-model.onnx",
        "\"n_mfcc\":40",
        "\"n_mfcc\":20",
    );
    let msg = load_error(&path);
    assert!(
        msg.ends_with(": model expects 40 features per frame but its front end gives 20"),
        "{msg}"
    );
}

#[test]
fn bad_metadata_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("\"format\":1", "\"format\":7", "format 7 is not supported"),
        ("\"happy\"", "\"angry\"", "label \"angry\" appears twice"),
        (
            "\"sample_rate\":16000,\"frontend\"",
            "\"sample_rate\":22050,\"frontend\"",
            "sample_rate 22050",
        ),
        (
            "\"output\":\"probabilities\"",
            "\"output\":\"probabilitiez\"",
            "unknown variant `probabilitiez`",
        ),
        (
            "\"min_window_s\":1.0",
            "\"min_window_s\":9.0",
            "min_window_s",
        ),
        ("\"labels\":[", "\"labels\":{", "bad emotty metadata: "),
    ];
    for (from, to, expected) in cases {
        let path = patched_copy(dir.path(), "test-model.onnx", from, to);
        let msg = load_error(&path);
        assert!(msg.contains(": bad emotty metadata: "), "{msg}");
        assert!(msg.contains(expected), "{msg} should mention {expected:?}");
    }
}

#[test]
fn missing_file_is_reported_as_such() {
    let path = Path::new("models/definitely-not-here.onnx");
    let msg = load_error(path);
    assert_eq!(msg, "models/definitely-not-here.onnx: no such file");
}

#[test]
fn directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let msg = load_error(dir.path());
    assert!(msg.ends_with(": is a directory, not a model file"), "{msg}");
}

#[test]
fn random_bytes_are_not_an_onnx_model() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "random.onnx",
            pseudo_random(4096, 42, 1.0)
                .iter()
                .map(|v| (v * 127.0) as i8 as u8)
                .collect(),
        ),
        ("empty.onnx", Vec::new()),
        (
            "text.onnx",
            b"{\"format\": 1, \"labels\": [\"a\"]}\n".to_vec(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let msg = load_error(&path);
        assert!(msg.contains(": not a valid ONNX model ("), "{name}: {msg}");
    }
}

#[test]
fn predict_rejects_empty_and_misshapen_input() {
    let model = load("test-model.onnx");
    let err = model.predict(&[], 0).unwrap_err();
    assert!(matches!(err, ModelError::EmptyWindow), "{err}");
    assert_eq!(err.to_string(), "empty feature window (0 frames)");

    let err = model.predict(&[0.0; 39], 1).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::InputLength {
                got: 39,
                frames: 1,
                feature_dim: 40
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "feature slice holds 39 values but 1 frames of 40 features need 40"
    );

    let err = model.predict(&[0.0; 80], 1).unwrap_err();
    assert!(
        matches!(err, ModelError::InputLength { got: 80, .. }),
        "{err}"
    );
    // An absurd frame count must not overflow or allocate.
    let err = model.predict(&[0.0; 40], usize::MAX).unwrap_err();
    assert!(matches!(err, ModelError::InputLength { .. }), "{err}");
    // And the model still works after the errors.
    assert_eq!(model.predict(&[0.0; 40], 1).unwrap().probs.len(), 8);
}

#[test]
fn non_finite_input_is_an_error_not_a_panic() {
    let model = load("test-model.onnx");
    let mut features = pseudo_random(10 * 40, 3, 5.0);
    features[2 * 40 + 17] = f32::NAN;
    let err = model.predict(&features, 10).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::NonFiniteInput {
                frame: 2,
                feature: 17,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "feature window holds NaN at frame 2, feature 17"
    );
    features[2 * 40 + 17] = f32::NEG_INFINITY;
    let err = model.predict(&features, 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        "feature window holds -inf at frame 2, feature 17"
    );
}

#[test]
fn time_axis_is_symbolic_from_1_to_1000_frames() {
    let model = load("test-model.onnx");
    let mut outputs = Vec::new();
    for frames in [1, 7, 100, 299, 300, 1000] {
        let features = pseudo_random(frames * 40, frames as u64, 10.0);
        let p = model.predict(&features, frames).unwrap().probs;
        assert_eq!(p.len(), 8, "{frames} frames");
        outputs.push(p);
    }
    // Different windows give different answers (the time axis is really read).
    for pair in outputs.windows(2) {
        assert_ne!(pair[0], pair[1]);
    }
}

#[test]
fn probabilities_sum_to_one() {
    for name in ["test-model.onnx", "test-model-logits.onnx"] {
        let model = load(name);
        for (seed, scale) in [(1, 0.1), (2, 10.0), (3, 300.0)] {
            let features = pseudo_random(300 * 40, seed, scale);
            let p = model.predict(&features, 300).unwrap().probs;
            let sum: f32 = p.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{name} scale {scale}: sum {sum}");
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{name}: {p:?}");
        }
    }
}

#[test]
fn repeated_and_concurrent_predictions_agree() {
    let model = std::sync::Arc::new(load("test-model.onnx"));
    let features = pseudo_random(300 * 40, 9, 20.0);
    let first = model.predict(&features, 300).unwrap();
    // Pooled run states must carry nothing over from one call to the next.
    let other = pseudo_random(50 * 40, 10, 20.0);
    model.predict(&other, 50).unwrap();
    assert_eq!(model.predict(&features, 300).unwrap(), first);

    let handles: Vec<_> = (0..4)
        .map(|_| {
            let model = std::sync::Arc::clone(&model);
            let features = features.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| model.predict(&features, 300).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        for p in handle.join().unwrap() {
            assert_eq!(p, first);
        }
    }
}

#[test]
fn default_candidates_follow_the_documented_order() {
    let candidates = default_model_candidates();
    assert_eq!(candidates[0], PathBuf::from("models/emotty.onnx"));
    let exe_dir = std::env::current_exe().unwrap().canonicalize().unwrap();
    let exe_dir = exe_dir.parent().unwrap();
    assert_eq!(candidates[1], exe_dir.join("emotty.onnx"));
    assert_eq!(candidates[2], exe_dir.join("models/emotty.onnx"));

    match find_default_model() {
        Ok(found) => {
            assert!(found.is_file());
            let first_existing = candidates.iter().find(|c| c.is_file());
            assert_eq!(Some(&found), first_existing);
        }
        Err(err) => {
            assert!(candidates.iter().all(|c| !c.is_file()));
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            for candidate in &candidates {
                assert!(msg.contains(&candidate.display().to_string()), "{msg}");
            }
        }
    }
}

#[test]
fn a_model_with_an_affect_output_rates_arousal_and_valence() {
    let with = load("test-model-affect.onnx");
    let without = load("test-model.onnx");
    assert!(with.has_affect());
    assert!(!without.has_affect());
    assert_eq!(with.info().meta.affect, ["arousal", "valence"]);
    let mut seen = Vec::new();
    for (seed, frames) in [(1, 300), (2, 100), (3, 7)] {
        let features = pseudo_random(frames * 40, seed, 10.0);
        let p = with.predict(&features, frames).unwrap();
        // The same weights give the same probabilities with or without the second head.
        let q = without.predict(&features, frames).unwrap();
        assert_eq!(q.affect, None);
        for (a, b) in p.probs.iter().zip(&q.probs) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let affect = p.affect.expect("arousal and valence");
        for v in [affect.arousal, affect.valence] {
            assert!((-1.0..=1.0).contains(&v), "{v}");
        }
        seen.push(affect);
    }
    // The second output really depends on the input.
    assert_ne!(seen[0], seen[1]);
}

#[test]
fn affect_outputs_and_metadata_must_agree() {
    let msg = load_error(&fixture("test-model-affect-undeclared.onnx"));
    assert!(
        msg.ends_with("model has 2 outputs; emotty needs exactly one [batch, labels] output"),
        "{msg}"
    );
    let msg = load_error(&fixture("test-model-affect-missing.onnx"));
    assert!(
        msg.ends_with(
            "model has 1 outputs; its metadata lists affect, so emotty needs two: [batch, labels] and [batch, 2]"
        ),
        "{msg}"
    );
}

#[test]
fn an_endless_file_is_refused_not_read_forever() {
    // /dev/zero never ends: reading it whole would take all the memory there is.
    let msg = load_error(Path::new("/dev/zero"));
    assert_eq!(
        msg,
        "/dev/zero: larger than 256 MiB, far beyond any emotion model"
    );
}

/// onnxruntime's outputs of the streaming fixture after each of several calls, the
/// state carried between them (tests/reference/model_reference.py --stream).
#[derive(serde::Deserialize)]
struct StreamReference {
    model: String,
    input_scale: f32,
    input: Vec<i64>,
    calls: Vec<StreamCall>,
}

#[derive(serde::Deserialize)]
struct StreamCall {
    frames: usize,
    probabilities: Vec<f32>,
    affect: Vec<f32>,
}

fn stream_reference() -> (Model, StreamReference, Vec<f32>) {
    let text = std::fs::read_to_string(fixture("reference/model_stream.json")).unwrap();
    let reference: StreamReference = serde_json::from_str(&text).unwrap();
    let model = load(&reference.model);
    let input = reference
        .input
        .iter()
        .map(|&q| q as f32 * reference.input_scale)
        .collect();
    (model, reference, input)
}

#[test]
fn streaming_parity_with_onnxruntime_across_calls() {
    let (model, reference, input) = stream_reference();
    assert!(model.is_streaming());
    assert_eq!(model.step_frames(), Some(8));
    let dim = model.feature_dim();
    let mut state = model.new_stream();
    let mut start = 0;
    let mut max_diff = 0f32;
    for (k, call) in reference.calls.iter().enumerate() {
        let chunk = &input[start * dim..(start + call.frames) * dim];
        let got = model.step(&mut state, chunk, call.frames).unwrap();
        let affect = got.affect.expect("the fixture rates arousal and valence");
        let pairs = got.probs.iter().zip(&call.probabilities).chain([
            (&affect.arousal, &call.affect[0]),
            (&affect.valence, &call.affect[1]),
        ]);
        for (g, w) in pairs {
            assert!(
                (g - w).abs() <= 1e-5,
                "call {k}: tract {g} vs onnxruntime {w}"
            );
            max_diff = max_diff.max((g - w).abs());
        }
        start += call.frames;
        assert_eq!(state.frames(), start as u64);
    }
    // The calls must differ from each other, or a state that is never carried would pass.
    let first = &reference.calls[0].probabilities;
    let last = &reference.calls.last().unwrap().probabilities;
    assert!(first.iter().zip(last).any(|(a, b)| (a - b).abs() > 1e-3));
    println!("max |tract - onnxruntime| over the calls = {max_diff:e}");
}

#[test]
fn streaming_in_one_call_or_step_by_step_agrees() {
    let (model, _, input) = stream_reference();
    let dim = model.feature_dim();
    let frames = input.len() / dim / 8 * 8;
    let whole = model
        .step(&mut model.new_stream(), &input[..frames * dim], frames)
        .unwrap();
    let mut state = model.new_stream();
    let mut last = None;
    for chunk in input[..frames * dim].chunks(8 * dim) {
        last = Some(model.step(&mut state, chunk, 8).unwrap());
    }
    let steps = last.unwrap();
    for (a, b) in whole.probs.iter().zip(&steps.probs) {
        assert!(
            (a - b).abs() <= 1e-5,
            "{:?} vs {:?}",
            whole.probs,
            steps.probs
        );
    }
    // A fresh state forgets: the last step alone says something else.
    let alone = model
        .step(
            &mut model.new_stream(),
            &input[(frames - 8) * dim..frames * dim],
            8,
        )
        .unwrap();
    assert!(
        alone
            .probs
            .iter()
            .zip(&steps.probs)
            .any(|(a, b)| (a - b).abs() > 1e-3)
    );
}

#[test]
fn streaming_and_window_models_refuse_each_others_calls() {
    let (model, _, input) = stream_reference();
    let dim = model.feature_dim();
    let err = model
        .predict(&input[..100 * dim], 100)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a streaming model is fed frame by frame"),
        "{err}"
    );
    let mut state = model.new_stream();
    let err = model
        .step(&mut state, &input[..12 * dim], 12)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "12 frames are not a whole number of the model's 8-frame steps"
    );
    let mut bad = input[..8 * dim].to_vec();
    bad[3] = f32::NAN;
    let err = model.step(&mut state, &bad, 8).unwrap_err().to_string();
    assert!(err.contains("NaN at frame 0, feature 3"), "{err}");
    assert_eq!(state.frames(), 0, "a failed call leaves a fresh state");

    let window = load("test-model.onnx");
    assert!(!window.is_streaming());
    let err = window
        .step(&mut window.new_stream(), &input[..8 * dim], 8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a window model is run on whole windows"),
        "{err}"
    );
}

#[test]
fn bad_streaming_metadata_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "\"format\":2",
            "\"format\":1",
            "streaming models need format 2",
        ),
        (
            "\"step_frames\":8",
            "\"step_frames\":0",
            "step_frames must be between 1",
        ),
        (
            "{\"name\":\"seen\"",
            "{\"name\":\"ctx1\"",
            "state \"ctx1\" appears twice",
        ),
        (
            "\"name\":\"count\",\"shape\":[1]",
            "\"name\":\"count\",\"shape\":[0]",
            "every axis must be at least 1",
        ),
        (
            "\"name\":\"h\",\"shape\":[1,1,16]",
            "\"name\":\"h\",\"shape\":[1,1,17]",
            "model input \"h\" is declared [1, 1, 16]; the metadata's state \"h\" is [1, 1, 17]",
        ),
        (
            "{\"name\":\"recent\",\"shape\":[1,300,40]},",
            "{\"name\":\"recent\",\"shape\":[1,300,40]} ",
            "bad emotty metadata: ",
        ),
    ];
    for (from, to, expected) in cases {
        let path = patched_copy(dir.path(), "test-model-stream.onnx", from, to);
        let msg = load_error(&path);
        assert!(msg.contains(expected), "{msg} should mention {expected:?}");
    }
}
