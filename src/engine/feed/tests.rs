//! A streaming model through the analyzer: verdicts on whole steps, each the model's
//! output for exactly the frames fed, and the state starting over after a silence.

use std::path::Path;
use std::sync::Arc;

use super::{LEAD_S, RESET_AFTER_S};
use crate::audio::decode;
use crate::dsp::level::BlockLevel;
use crate::engine::analyzer::{CollectFrames, FeatureStream, StreamFrame, StreamSink};
use crate::engine::events::{Event, WindowResult};
use crate::engine::{AnalysisConfig, Analyzer, default_hop_s};
use crate::model::Model;

const ANGRY: &str = "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac";

fn stream_model() -> Arc<Model> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-model-stream.onnx");
    Arc::new(Model::load(&path).unwrap())
}

fn clip() -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(ANGRY);
    let (spec, samples) = decode::read_all(&path).unwrap();
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    samples
}

fn windows(model: &Arc<Model>, samples: &[f32], chunk: usize) -> Vec<WindowResult> {
    let config = AnalysisConfig::for_model(model);
    let mut analyzer = Analyzer::new(model.clone(), 16_000, 1, &config).unwrap();
    let mut out = Vec::new();
    let mut emit = |e: Event| {
        if let Event::Window(w) = e {
            out.push(w)
        }
    };
    for c in samples.chunks(chunk) {
        analyzer.push(c, &mut emit).unwrap();
    }
    analyzer.finish(&mut emit).unwrap();
    out
}

/// Every frame's model input, as the analyzer computes it.
struct Frames(Vec<f32>);

impl StreamSink for Frames {
    fn level(&mut self, _: BlockLevel) {}
    fn frame(&mut self, f: &StreamFrame<'_>) {
        self.0.extend_from_slice(f.features);
    }
}

fn features(model: &Model, samples: &[f32]) -> Vec<f32> {
    let meta = &model.info().meta;
    let config = AnalysisConfig::for_model(model);
    let mut stream =
        FeatureStream::new(meta.frontend.clone(), config.vad, 16_000, 1, None).unwrap();
    let mut frames = Frames(Vec::new());
    stream.push(samples, &mut frames).unwrap();
    stream.finish(&mut frames).unwrap();
    frames.0
}

fn frame_of(s: f64) -> usize {
    (s * 100.0).round() as usize
}

/// The model's verdict on frames [a, b) from a fresh state, in one call.
fn direct(model: &Model, feats: &[f32], a: usize, b: usize) -> Vec<f32> {
    let dim = model.feature_dim();
    let mut state = model.new_stream();
    model
        .step(&mut state, &feats[a * dim..b * dim], b - a)
        .unwrap()
        .probs
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{what}: {got:?} vs {want:?}");
    }
}

#[test]
fn verdicts_come_every_hop_on_whole_steps_and_are_the_models_own() {
    let model = stream_model();
    assert!((default_hop_s(&model) - 0.24).abs() < 1e-9);
    let samples = clip();
    let feats = features(&model, &samples);
    // Small chunks and the whole clip at once give the same verdicts.
    let small = windows(&model, &samples, 160);
    let whole = windows(&model, &samples, samples.len());
    assert_eq!(small.len(), whole.len());
    let mut emotions = 0;
    for (w, v) in small.iter().zip(&whole) {
        assert_eq!((w.start_s, w.end_s), (v.start_s, v.end_s));
        let (a, b) = (frame_of(w.start_s), frame_of(w.end_s));
        assert_eq!(b % 8, 0, "window {a}-{b} ends on a whole step");
        assert_eq!(a, b.saturating_sub(300), "the span pooled: up to a window");
        if let (Some(p), Some(q)) = (w.probs(), v.probs()) {
            assert_close(p, q, "chunked");
            // The clip's leading silence is shorter than the reset: one state from frame 0.
            assert_close(p, &direct(&model, &feats, 0, b), &format!("window {a}-{b}"));
            emotions += 1;
        }
    }
    assert!(emotions >= 8, "{emotions} verdicts with speech");
    let ends: Vec<usize> = small.iter().map(|w| frame_of(w.end_s)).collect();
    // From the 1 s minimum rounded up to the hop (1.2 s), then every 0.24 s.
    assert_eq!(ends[0], 120);
    assert!(
        ends.windows(2).rev().skip(1).all(|e| e[1] - e[0] == 24),
        "{ends:?}"
    );
}

#[test]
fn a_long_silence_starts_the_state_over_from_the_last_second_of_it() {
    let model = stream_model();
    let one = clip();
    let gap = 4 * 16_000;
    let mut samples = one.clone();
    samples.extend(std::iter::repeat_n(0.0, gap));
    samples.extend_from_slice(&one);
    let feats = features(&model, &samples);
    let second = frame_of(one.len() as f64 / 16_000.0 + 4.0);
    let all = windows(&model, &samples, 4096);
    let after: Vec<&WindowResult> = all
        .iter()
        .filter(|w| w.probs().is_some() && w.start_s * 100.0 > second as f64 - 200.0)
        .collect();
    assert!(!after.is_empty());
    // In the silence, after the reset: nothing heard, nothing fed.
    assert!(
        all.iter()
            .filter(|w| frame_of(w.end_s) > second - 150 && frame_of(w.end_s) < second)
            .all(|w| w.probs().is_none())
    );
    let a = frame_of(after[0].start_s);
    let b = frame_of(after[0].end_s);
    // The fresh state began at most a second before the second clip's speech, well
    // after the first clip's last speech.
    let lead = frame_of(LEAD_S);
    assert!(
        a + lead >= second - frame_of(RESET_AFTER_S),
        "state from frame {a}"
    );
    assert!(a <= second + 100, "state from frame {a}");
    for w in &after {
        let (wa, wb) = (frame_of(w.start_s), frame_of(w.end_s));
        if wb - a > 300 {
            break;
        }
        assert_eq!(wa, a, "the span starts where the fresh state did");
        assert_close(
            w.probs().unwrap(),
            &direct(&model, &feats, a, wb),
            &format!("{a}-{wb}"),
        );
    }
    assert!(b > a);
}

#[test]
fn a_hop_that_is_not_whole_steps_is_refused_with_the_nearest_ones() {
    let model = stream_model();
    let mut config = AnalysisConfig::for_model(&model);
    config.hop_s = 0.5;
    let err = Analyzer::new(model.clone(), 16_000, 1, &config)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "invalid analysis settings: hop 0.5 s is not a whole number of the streaming \
         model's 80 ms steps (use 0.48 or 0.56)"
    );
    config.hop_s = 0.05;
    let err = Analyzer::new(model, 16_000, 1, &config)
        .err()
        .unwrap()
        .to_string();
    assert!(err.ends_with("(use 0.08)"), "{err}");
}

#[test]
fn a_fresh_state_starts_on_the_step_grid_even_right_after_a_reset() {
    use super::StreamFeed;
    let model = stream_model();
    let dim = model.feature_dim();
    let frame: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin() * 20.0).collect();
    let reset = frame_of(RESET_AFTER_S) as u64;
    // Speech for 3 frames, silence until the reset, then speech again at once and after
    // a few more silent frames: each fresh state must begin on a multiple of 8.
    for gap in [0, 1, 5, 30, 200] {
        let mut feed = StreamFeed::new(&model, 300, 24, 0.01);
        let mut index = 0u64;
        let mut push = |feed: &mut StreamFeed, speech: bool| {
            feed.push(&model, &frame, speech).unwrap();
            index += 1;
        };
        for _ in 0..3 {
            push(&mut feed, true);
        }
        for _ in 0..reset + gap {
            push(&mut feed, false);
        }
        for _ in 0..40 {
            push(&mut feed, true);
        }
        let verdict = feed.verdict(&model).unwrap().expect("speech was fed");
        assert_eq!(verdict.span.start % 8, 0, "gap {gap}: {:?}", verdict.span);
        assert_eq!(verdict.span.end % 8, 0, "gap {gap}: {:?}", verdict.span);
        assert!(verdict.span.end <= index && index - verdict.span.end < 8);
        // Never before the last reset, at most the lead before the speech.
        let speech_from = 3 + reset + gap;
        assert!(
            verdict.span.start + frame_of(LEAD_S) as u64 + 8 > speech_from,
            "gap {gap}"
        );
        assert!(verdict.span.start > reset, "gap {gap}: {:?}", verdict.span);
    }
}

#[test]
fn adaptation_maps_each_frame_once_with_what_was_heard_by_then() {
    use crate::engine::adapt::Adaptation;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-model-stream-adapt.onnx");
    let model = Arc::new(Model::load(&path).unwrap());
    let samples = clip();
    let config = AnalysisConfig::for_model(&model);
    assert_eq!(config.adapt, crate::engine::Adapt::Fresh);
    let mut stream = FeatureStream::new(
        model.info().meta.frontend.clone(),
        config.vad,
        16_000,
        1,
        None,
    )
    .unwrap();
    let mut frames = CollectFrames(Vec::new());
    stream.push(&samples, &mut frames).unwrap();
    stream.finish(&mut frames).unwrap();
    // Independently: each frame mapped with the speech statistics up to and including it.
    let mut adaptation = Adaptation::new(model.info().meta.adaptation.as_ref().unwrap());
    let mut mapped = Vec::new();
    let mut raw = Vec::new();
    for (features, speech) in &frames.0 {
        if *speech {
            adaptation.observe(features);
        }
        let mut frame = features.clone();
        adaptation.apply(&mut frame);
        mapped.extend(frame);
        raw.extend_from_slice(features);
    }
    let (mut compared, mut differ) = (0, 0);
    for w in windows(&model, &samples, 4096) {
        let Some(p) = w.probs() else { continue };
        let b = frame_of(w.end_s);
        assert_close(
            p,
            &direct(&model, &mapped, 0, b),
            &format!("window ending {b}"),
        );
        let unadapted = direct(&model, &raw, 0, b);
        if p.iter().zip(&unadapted).any(|(x, y)| (x - y).abs() > 1e-3) {
            differ += 1;
        }
        compared += 1;
    }
    assert!(compared >= 8);
    // The mapping is not the identity: the verdicts move.
    assert!(differ > 0, "{differ} of {compared} verdicts moved");
}
