//! How long the model runner takes: one `predict` per analysis hop in the live
//! engine (every 0.5 s of audio) and thousands in `classify`, plus the one-off
//! `load` at startup. Runs the shipped model (`models/emotty.onnx`, when present) on
//! the real features of a fixture sentence, and the seeded TEST model
//! (LSTM(40→32) → mean → linear → softmax); tract runs on the calling thread only.
//!
//! `EMOTTY_CANDIDATE=path/to/model.onnx cargo bench --bench model -- candidate` times a
//! candidate model against the shipped one per 3 s window of the same sentence, in
//! alternating rounds, and prints each round and the median ratio (a new model may be
//! at most 20 % slower than the one it replaces).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

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

/// A candidate model against the shipped one, alternating rounds (see the module docs);
/// a streaming candidate per second of audio instead of per window.
fn candidate(c: &mut Criterion) {
    let Some(path) = std::env::var_os("EMOTTY_CANDIDATE") else {
        return;
    };
    let load = |p: &Path| Model::load(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let shipped = load(&shipped_model_path());
    let candidate = load(Path::new(&path));
    let window = |m: &Model| sentence_features(m)[..300 * m.feature_dim()].to_vec();
    let (a, b) = (window(&shipped), window(&candidate));
    if candidate.is_streaming() {
        return streaming_candidate(&shipped, &a, &candidate, &b);
    }
    // Seconds per window over `n` runs.
    let time = |m: &Model, f: &[f32], n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            let _ = black_box(m.predict(black_box(f), 300));
        }
        t.elapsed().as_secs_f64() / f64::from(n)
    };
    time(&shipped, &a, 50);
    time(&candidate, &b, 50);
    let mut ratios = Vec::new();
    for round in 1..=5 {
        let ts = time(&shipped, &a, 300);
        let tc = time(&candidate, &b, 300);
        println!(
            "round {round}: shipped {:.3} ms, candidate {:.3} ms per 3 s window ({:.2}x)",
            ts * 1e3,
            tc * 1e3,
            tc / ts
        );
        ratios.push(tc / ts);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "candidate / shipped, median of 5 alternating rounds: {:.2}",
        ratios[2]
    );
    let _ = c;
}

/// A streaming candidate against the shipped window model: model time per second of
/// audio, each at its default hop (the shipped model: a 3 s window every 0.5 s; the
/// candidate: the 3 s fed in one call per hop, its state carried).
fn streaming_candidate(shipped: &Model, a: &[f32], candidate: &Model, b: &[f32]) {
    let shipped_hop = emotty::engine::DEFAULT_HOP_S;
    let hop = (emotty::engine::default_hop_s(candidate) * 100.0).round() as usize;
    let dim = candidate.feature_dim();
    let per_second_shipped = |n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            let _ = black_box(shipped.predict(black_box(a), 300));
        }
        t.elapsed().as_secs_f64() / f64::from(n) / shipped_hop
    };
    let per_second_candidate = |n: u32| {
        let t = Instant::now();
        for _ in 0..n {
            let mut state = candidate.new_stream();
            for chunk in b[..300 / hop * hop * dim].chunks(hop * dim) {
                let _ = black_box(candidate.step(&mut state, black_box(chunk), hop));
            }
        }
        t.elapsed().as_secs_f64() / f64::from(n) / (300 / hop * hop) as f64 * 100.0
    };
    per_second_shipped(50);
    per_second_candidate(20);
    let mut ratios = Vec::new();
    for round in 1..=5 {
        let ts = per_second_shipped(300);
        let tc = per_second_candidate(100);
        println!(
            "round {round}: shipped {:.3} ms, streaming candidate {:.3} ms of model time per \
             second of audio ({:.2}x; hops {shipped_hop} s and {} s)",
            ts * 1e3,
            tc * 1e3,
            tc / ts,
            hop as f64 / 100.0
        );
        ratios.push(tc / ts);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "candidate / shipped, median of 5 alternating rounds: {:.2}",
        ratios[2]
    );
}

criterion_group!(benches, predict, load, candidate);
criterion_main!(benches);
