use super::*;
use crate::audio::decode;
use std::path::Path;

fn fixture(rel: &str) -> (u32, u16, Vec<f32>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let (spec, samples) = decode::read_all(&path).unwrap();
    (spec.sample_rate, spec.channels, samples)
}

fn test_model() -> Arc<Model> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-model.onnx");
    Arc::new(Model::load(&path).unwrap())
}

fn run(rel: &str, chunk: usize, config: Option<AnalysisConfig>) -> Vec<WindowResult> {
    let (rate, channels, samples) = fixture(rel);
    let model = test_model();
    let config = config.unwrap_or_else(|| AnalysisConfig::for_model(&model));
    let mut analyzer = Analyzer::new(model, rate, channels, &config).unwrap();
    let mut windows = Vec::new();
    let mut emit = |e: Event| {
        if let Event::Window(w) = e {
            windows.push(w)
        }
    };
    for c in samples.chunks(chunk) {
        analyzer.push(c, &mut emit).unwrap();
    }
    analyzer.finish(&mut emit).unwrap();
    windows
}

const ANGRY: &str = "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac";

#[test]
fn window_speech_ratio_is_the_vad_verdict_at_each_frame_centre() {
    let (_, _, samples) = fixture(ANGRY);
    // Independent count: the VAD alone over the same (16 kHz mono) audio, looked up
    // at each 10 ms frame's centre.
    let mut vad = Vad::new(VadConfig::default());
    let mut frames = Vec::new();
    vad.push(&samples, &mut |f| frames.push(f));
    let speech_at = |frame: u64| {
        frames
            .get((frame * 160 / 256) as usize)
            .is_some_and(|f| f.speech)
    };
    // Small chunks, odd chunks, and the whole clip at once (the VAD then runs far
    // ahead of the front end).
    for chunk in [160, 3000, samples.len()] {
        let windows = run(ANGRY, chunk, None);
        assert!(windows.len() >= 6);
        for w in &windows {
            let (a, b) = (
                (w.start_s * 100.0).round() as u64,
                (w.end_s * 100.0).round() as u64,
            );
            let expected = (a..b).filter(|&f| speech_at(f)).count() as f32 / (b - a) as f32;
            assert!(
                (w.speech_ratio - expected).abs() < 1e-6,
                "chunk {chunk}, window {}-{} s: {} vs {}",
                w.start_s,
                w.end_s,
                w.speech_ratio,
                expected
            );
        }
    }
}

#[test]
fn windows_follow_the_hop_from_the_minimum_window_and_cover_the_tail() {
    // 3.97 s clip, 3 s window, 0.5 s hop, 1 s minimum: ends at 1.0, 1.5 … 3.5 and a
    // last one at the end of the clip (its tail after 3.5 s is more than a quarter hop).
    let windows = run(ANGRY, 4096, None);
    let spans: Vec<(f64, f64)> = windows
        .iter()
        .map(|w| {
            (
                (w.start_s * 100.0).round() / 100.0,
                (w.end_s * 100.0).round() / 100.0,
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            (0.0, 1.0),
            (0.0, 1.5),
            (0.0, 2.0),
            (0.0, 2.5),
            (0.0, 3.0),
            (0.5, 3.5),
            (0.98, 3.98)
        ]
    );
    for (i, w) in windows.iter().enumerate() {
        assert_eq!(w.index, i as u64);
    }
}

#[test]
fn windows_without_enough_speech_are_not_classified() {
    let windows = run(ANGRY, 4096, None);
    // The actor starts speaking 1.04 s in: the first window has no speech at all.
    assert_eq!(windows[0].outcome, Outcome::NoSpeech);
    for w in &windows {
        match &w.outcome {
            Outcome::NoSpeech => assert!(w.speech_ratio < DEFAULT_MIN_SPEECH_RATIO),
            Outcome::Emotion { probs, top, .. } => {
                assert!(w.speech_ratio >= DEFAULT_MIN_SPEECH_RATIO);
                assert_eq!(probs.len(), 8);
                assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
                assert_eq!(*top, argmax(probs));
            }
        }
    }
    // A stricter threshold turns more windows into no-speech.
    let model = test_model();
    let mut strict = AnalysisConfig::for_model(&model);
    strict.min_speech_ratio = 0.9;
    let strict = run(ANGRY, 4096, Some(strict));
    let count = |ws: &[WindowResult]| ws.iter().filter(|w| w.top().is_some()).count();
    assert!(count(&strict) < count(&windows));
}

#[test]
fn classifying_a_window_gives_what_the_model_gives_for_its_frames() {
    // The analyzer's window must be exactly the front end's frames [start, end).
    let (_, _, samples) = fixture(ANGRY);
    let model = test_model();
    let feats =
        crate::dsp::frontend::features_of_clip(&model.info().meta.frontend, &samples).unwrap();
    let dim = model.feature_dim();
    for w in run(ANGRY, 1000, None) {
        let Some(probs) = w.probs() else { continue };
        let (a, b) = (
            (w.start_s * 100.0).round() as usize,
            (w.end_s * 100.0).round() as usize,
        );
        let direct = model
            .predict(&feats[a * dim..b * dim], b - a)
            .unwrap()
            .probs;
        for (x, y) in probs.iter().zip(&direct) {
            assert!(
                (x - y).abs() < 1e-6,
                "window {a}-{b}: {probs:?} vs {direct:?}"
            );
        }
    }
}

#[test]
fn the_pitch_track_follows_the_voice() {
    let (rate, channels, samples) = fixture(ANGRY);
    let config = FrontendConfig {
        pitch: true,
        ..FrontendConfig::default()
    };
    let mut stream =
        FeatureStream::new(config.clone(), VadConfig::default(), rate, channels, None).unwrap();
    let mut frames = CollectFrames(Vec::new());
    stream.push(&samples, &mut frames).unwrap();
    stream.finish(&mut frames).unwrap();
    assert_eq!(frames.0.len(), samples.len() / 160 + 1);
    assert!(frames.0.iter().all(|(f, _)| f.len() == config.model_dim()));
    // The spectral part is exactly the front end's.
    let plain =
        crate::dsp::frontend::features_of_clip(&FrontendConfig::default(), &samples).unwrap();
    for (i, (f, _)) in frames.0.iter().enumerate() {
        assert_eq!(&f[..40], &plain[i * 40..(i + 1) * 40]);
    }
    // Before the actor speaks the track is 0 and unvoiced; in speech, a shouting man
    // sits between about 100 and 400 Hz (log2 0..2) and mostly voiced.
    for (i, (f, _)) in frames.0[..90].iter().enumerate() {
        assert!(f[40] == 0.0 && f[41] < 0.5, "frame {i}: {:?}", &f[40..]);
    }
    let speech: Vec<&Vec<f32>> = frames
        .0
        .iter()
        .filter(|(_, s)| *s)
        .map(|(f, _)| f)
        .collect();
    assert!(speech.len() > 100);
    let pitch: Vec<f32> = speech.iter().map(|f| 100.0 * 2f32.powf(f[40])).collect();
    let median = {
        let mut p = pitch.clone();
        p.sort_by(f32::total_cmp);
        p[p.len() / 2]
    };
    assert!((100.0..400.0).contains(&median), "median F0 {median} Hz");
    let voiced = speech.iter().filter(|f| f[41] >= 0.5).count();
    eprintln!(
        "median F0 {median} Hz, {voiced} of {} speech frames voiced",
        speech.len()
    );
    assert!(
        voiced * 3 > speech.len(),
        "{voiced} of {} voiced",
        speech.len()
    );
}

#[test]
fn bad_settings_are_errors() {
    let model = test_model();
    let mut c = AnalysisConfig::for_model(&model);
    c.hop_s = 0.0;
    let e = Analyzer::new(model.clone(), 16_000, 1, &c).err().unwrap();
    assert!(
        e.to_string()
            .contains("hop must be between 0 and 600 seconds"),
        "{e}"
    );
    let mut c = AnalysisConfig::for_model(&model);
    c.min_speech_ratio = 1.5;
    assert!(Analyzer::new(model.clone(), 16_000, 1, &c).is_err());
    let c = AnalysisConfig::for_model(&model);
    assert!(Analyzer::new(model, 0, 1, &c).is_err());
}

#[test]
fn adaptation_maps_each_window_with_the_speech_heard_up_to_its_end() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-model-adapt.onnx");
    let model = Arc::new(Model::load(&path).unwrap());
    let prior = model.info().meta.adaptation.clone().unwrap();
    let (rate, channels, samples) = fixture(ANGRY);
    let mut frames = CollectFrames(Vec::new());
    let mut stream = FeatureStream::new(
        model.info().meta.frontend.clone(),
        VadConfig::default(),
        rate,
        channels,
        None,
    )
    .unwrap();
    stream.push(&samples, &mut frames).unwrap();
    stream.finish(&mut frames).unwrap();
    let frames = frames.0;

    let config = AnalysisConfig::for_model(&model);
    assert_eq!(
        config.adapt,
        Adapt::Fresh,
        "on by default for a model that has statistics"
    );
    let analyse = |config: &AnalysisConfig| {
        let mut analyzer = Analyzer::new(model.clone(), rate, channels, config).unwrap();
        let mut windows = Vec::new();
        let mut emit = |e: Event| {
            if let Event::Window(w) = e {
                windows.push(w)
            }
        };
        for c in samples.chunks(1000) {
            analyzer.push(c, &mut emit).unwrap();
        }
        analyzer.finish(&mut emit).unwrap();
        let heard = analyzer.adaptation().map(StreamStats::frames);
        (windows, heard)
    };
    let (adapted, heard) = analyse(&config);
    let speech_frames = frames.iter().filter(|(_, s)| *s).count();
    assert_eq!(heard, Some(speech_frames as f64));
    let (plain, none) = analyse(&AnalysisConfig {
        adapt: Adapt::Off,
        ..config.clone()
    });
    assert_eq!(none, None);
    assert_eq!(adapted.len(), plain.len());

    // Each window by hand: the statistics of the speech frames before its end,
    // blended with the prior, map the window's frames; the model runs on those.
    let dim = model.feature_dim();
    let mut checked = 0;
    let mut moved = 0f32;
    for (w, p) in adapted.iter().zip(&plain) {
        let (
            Outcome::Emotion { probs, .. },
            Outcome::Emotion {
                probs: plain_probs, ..
            },
        ) = (&w.outcome, &p.outcome)
        else {
            continue;
        };
        let (start, end) = (
            (w.start_s * 100.0).round() as usize,
            (w.end_s * 100.0).round() as usize,
        );
        let heard: Vec<&Vec<f32>> = frames[..end]
            .iter()
            .filter(|(_, s)| *s)
            .map(|(f, _)| f)
            .collect();
        let n0 = prior.prior_frames;
        let n = heard.len() as f64;
        let mut window = Vec::new();
        for (f, _) in &frames[start..end] {
            window.extend_from_slice(f);
        }
        for d in 0..dim {
            let (m0, s0) = (f64::from(prior.mean[d]), f64::from(prior.std[d]));
            let sum: f64 = heard.iter().map(|f| f64::from(f[d])).sum();
            let sq: f64 = heard.iter().map(|f| f64::from(f[d]).powi(2)).sum();
            let m = (n0 * m0 + sum) / (n0 + n);
            let v = ((n0 * (s0 * s0 + m0 * m0) + sq) / (n0 + n) - m * m).max(0.05 * s0 * s0);
            let scale = s0 / v.sqrt();
            for x in window.iter_mut().skip(d).step_by(dim) {
                *x = *x * scale as f32 + (m0 - m * scale) as f32;
            }
        }
        let expected = model.predict(&window, end - start).unwrap().probs;
        for (a, b) in probs.iter().zip(&expected) {
            assert!(
                (a - b).abs() < 1e-4,
                "window {}: {probs:?} against {expected:?}",
                w.index
            );
        }
        for (a, b) in probs.iter().zip(plain_probs) {
            moved = moved.max((a - b).abs());
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} speech windows");
    assert!(
        moved > 1e-3,
        "adapting changed no probability by more than {moved}"
    );
}

#[test]
fn a_model_without_statistics_cannot_adapt() {
    let model = test_model();
    let config = AnalysisConfig::for_model(&model);
    assert_eq!(config.adapt, Adapt::Off);
    let e = Analyzer::new(
        model,
        16_000,
        1,
        &AnalysisConfig {
            adapt: Adapt::Fresh,
            ..config
        },
    )
    .err()
    .unwrap();
    assert!(
        e.to_string()
            .contains("trained without adaptation statistics"),
        "{e}"
    );
}
