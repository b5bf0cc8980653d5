//! Cost of turning captured audio into model input: downmix plus resampling to 16 kHz.
//!
//! Every iteration converts exactly one second of interleaved stereo audio, fed in 10 ms
//! callbacks the way the capture ring buffer hands it over, so the reported time per
//! iteration *is* the real-time factor on one core (e.g. 1 ms means 1/1000 of a core).
//!
//! `cargo bench --bench resample`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emotty::dsp::resample::{Resampler, downmix};

const CHANNELS: usize = 2;

/// Deterministic noise, so the numbers do not depend on denormals or silence.
fn stereo_noise(frames: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..frames * CHANNELS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn bench_rate(c: &mut Criterion, rate: u32) {
    let second = stereo_noise(rate as usize);
    let callback = rate as usize / 100 * CHANNELS;
    let mut resampler = match Resampler::new(rate, 16_000) {
        Ok(r) => r,
        Err(e) => panic!("cannot build the resampler under test: {e}"),
    };
    let mut mono = Vec::with_capacity(callback);
    let mut out = Vec::with_capacity(16_000);
    let mut group = c.benchmark_group("downmix+resample, 1 s of stereo audio");
    group.throughput(Throughput::Elements(u64::from(rate)));
    group.bench_function(format!("{rate} Hz -> 16 kHz"), |b| {
        b.iter(|| {
            for chunk in second.chunks(callback) {
                downmix(black_box(chunk), CHANNELS, &mut mono);
                out.clear();
                if let Err(e) = resampler.process(&mono, &mut out) {
                    panic!("resampling failed: {e}");
                }
                black_box(&out);
            }
        });
    });
    group.finish();
}

fn resample(c: &mut Criterion) {
    // The microphone case the issue asks about, then a file rate, then a rate that
    // needs the sinc resampler.
    for rate in [48_000, 44_100, 24_414] {
        bench_rate(c, rate);
    }
    let second = stereo_noise(48_000);
    let mut mono = Vec::with_capacity(48_000);
    c.bench_function("downmix only, 1 s of 48 kHz stereo", |b| {
        b.iter(|| downmix(black_box(&second), CHANNELS, &mut mono));
    });
}

criterion_group!(benches, resample);
criterion_main!(benches);
