//! Cost of the feature front end per frame, on real speech.
//!
//! The analysis thread must keep up with 100 frames a second on one core while also
//! running the model, so the budget for the front end is 3 µs a frame. Two shapes of
//! input are measured: one hop (160 samples) per `push`, as a 10 ms microphone
//! callback delivers it, which is exactly one frame per iteration, so criterion's
//! time is the per-frame cost; and a whole second per `push` (100 frames, reported
//! with a throughput of 100 elements), as when decoding a file.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emotty::dsp::frontend::{FeatureKind, Frame, Frontend, FrontendConfig};

/// The real speech excerpt from the parity fixtures (about 2 s, loud speech).
fn speech() -> Vec<f32> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference/speech.wav"
    );
    let mut reader = hound::WavReader::open(path).expect("speech fixture");
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("16-bit sample")) / 32768.0)
        .collect()
}

fn per_frame(c: &mut Criterion) {
    let samples = speech();
    let mut group = c.benchmark_group("frontend");
    for kind in [FeatureKind::Mfcc, FeatureKind::Logmel] {
        let config = FrontendConfig {
            features: kind,
            ..FrontendConfig::default()
        };
        let hop = config.hop_length;
        let usable = samples.len() / hop * hop;

        // One hop per push: one frame per iteration once the stream is running.
        let mut frontend = Frontend::new(config.clone()).expect("valid settings");
        let mut sink = |f: &Frame<'_>| {
            black_box(f.features);
        };
        frontend.push(&samples[..config.n_fft], &mut sink);
        let mut at = 0;
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{kind:?}/one_frame_per_push_of_one_hop"), |b| {
            b.iter(|| {
                frontend.push(black_box(&samples[at..at + hop]), &mut sink);
                at = (at + hop) % usable;
            })
        });

        // One second per push: 100 frames per iteration.
        let second = &samples[..16_000];
        let mut frontend = Frontend::new(config).expect("valid settings");
        frontend.push(second, &mut sink);
        group.throughput(Throughput::Elements(100));
        group.bench_function(format!("{kind:?}/100_frames_per_push_of_1s"), |b| {
            b.iter(|| frontend.push(black_box(second), &mut sink))
        });
    }
    group.finish();
}

criterion_group!(benches, per_frame);
criterion_main!(benches);
