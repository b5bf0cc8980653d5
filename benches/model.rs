//! How long the model runner takes: one `predict` per analysis hop in the live
//! engine (every 0.5 s of audio) and thousands in `classify`, plus the one-off
//! `load` at startup. Runs the shipped model (`models/emotty.onnx`, when present) on
//! the real features of a fixture sentence, and the seeded TEST model
//! (LSTM(40→32) → mean → linear → softmax); tract runs on the calling thread only.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use emotty::model::Model;

fn test_model_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-model.onnx")
}

/// MFCC-like frames: c0 around -200, the other coefficients within about ±50.
fn mfcc_like(frames: usize, dim: usize) -> Vec<f32> {
    (0..frames * dim)
        .map(|i| {
            let (t, k) = ((i / dim) as f32, (i % dim) as f32);
            if k == 0.0 {
                -200.0 + 100.0 * (0.02 * t).sin()
            } else {
                50.0 / (1.0 + 0.15 * k) * (0.05 * t + k).sin()
            }
        })
        .collect()
}

fn shipped_model_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/emotty.onnx")
}

/// The model's own features of a real sentence (RAVDESS actor 19, angry), 300 frames.
fn sentence_features(model: &Model) -> Vec<f32> {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac");
    let f = emotty::dataset::features::clip_features(
        &clip,
        &model.info().meta.frontend,
        emotty::dsp::vad::VadConfig::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dim = model.feature_dim();
    // Frames 70..370: the sentence with a little room before it.
    f.features[70 * dim..370 * dim].to_vec()
}

fn predict(c: &mut Criterion) {
    let test = match Model::load(&test_model_path()) {
        Ok(model) => model,
        Err(e) => panic!("{e}"),
    };
    let dim = test.feature_dim();
    let mut group = c.benchmark_group("model/predict");
    // 300 frames is the full 3 s window; shorter ones are the partial windows at
    // the start of a stream.
    for frames in [100, 300] {
        let features = mfcc_like(frames, dim);
        group.bench_with_input(BenchmarkId::new("test", frames), &features, |b, f| {
            b.iter(|| test.predict(black_box(f), frames))
        });
    }
    if let Ok(shipped) = Model::load(&shipped_model_path()) {
        let features = sentence_features(&shipped);
        let dim = shipped.feature_dim();
        for frames in [100, 300] {
            let window = &features[..frames * dim];
            group.bench_with_input(BenchmarkId::new("shipped", frames), window, |b, f| {
                b.iter(|| shipped.predict(black_box(f), frames))
            });
        }
    } else {
        eprintln!("models/emotty.onnx not found: only the test model is measured");
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let path = test_model_path();
    let mut group = c.benchmark_group("model");
    group.sample_size(20);
    group.bench_function("load", |b| b.iter(|| Model::load(black_box(&path))));
    group.finish();
}

criterion_group!(benches, predict, load);
criterion_main!(benches);
