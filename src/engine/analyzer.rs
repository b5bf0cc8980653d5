//! The synchronous core of the analysis thread: samples in, events out.
//!
//! Kept free of threads, clocks and channels so that every number it produces can be
//! tested by pushing a clip through it, and so that the engine thread, `classify` and
//! `features` all run exactly the same computation.
//!
//! Per chunk of interleaved source samples it: meters the level (native rate, all
//! channels), downmixes, resamples to the model's rate, runs the VAD and the front end,
//! keeps the last window of feature frames, and every hop either runs the model or
//! reports "no speech".

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::dsp::frontend::{Frame, Frontend, FrontendConfig, FrontendError};
use crate::dsp::level::{BlockLevel, LevelMeter};
use crate::dsp::resample::{ResampleError, Resampler, downmix};
use crate::dsp::vad::{VAD_FRAME, VAD_RATE, Vad, VadConfig, VadFrame};
use crate::engine::events::{Event, Level, Outcome, SpectrogramColumn, WindowResult};
use crate::model::{Model, ModelError};

/// Settings of the analysis, most of them from the command line with defaults from the
/// model's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Window length in seconds (the model's own by default).
    pub window_s: f64,
    /// Time between window ends.
    pub hop_s: f64,
    /// Shortest partial window worth classifying at the start of a stream.
    pub min_window_s: f64,
    /// Windows with a smaller fraction of speech frames are reported as no speech.
    pub min_speech_ratio: f32,
    pub vad: VadConfig,
    /// Send a spectrogram column per frame (the monitor wants them; batch commands not).
    pub spectrogram: bool,
    /// Send level events every `level_block_s`.
    pub levels: bool,
    pub level_block_s: f64,
}

impl AnalysisConfig {
    /// Defaults for a model: its window, a 0.5 s hop.
    pub fn for_model(model: &Model) -> Self {
        let meta = &model.info().meta;
        AnalysisConfig {
            window_s: f64::from(meta.window_s),
            hop_s: 0.5,
            min_window_s: f64::from(meta.min_window_s),
            min_speech_ratio: DEFAULT_MIN_SPEECH_RATIO,
            vad: VadConfig::default(),
            spectrogram: false,
            levels: false,
            level_block_s: 0.05,
        }
    }
}

/// Default for [`AnalysisConfig::min_speech_ratio`]: at least 0.6 s of speech in a
/// 3 s window. Shorter snippets (a cough, a click, one syllable) say too little.
pub const DEFAULT_MIN_SPEECH_RATIO: f32 = 0.2;

/// Errors building or running the analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("invalid analysis settings: {0}")]
    Config(String),
    #[error(transparent)]
    Frontend(#[from] FrontendError),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Running totals, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Seconds of audio analysed (at the model rate).
    pub audio_s: f64,
    /// Seconds judged to be speech by the VAD.
    pub speech_s: f64,
    pub windows: u64,
    pub speech_windows: u64,
}

/// One voice-activity frame as the window bookkeeping needs it.
#[derive(Debug, Clone, Copy)]
struct VadEntry {
    speech: bool,
    mean_square: f32,
}

/// The window machinery, separate from the front end so the front end's frame callback
/// can borrow it mutably.
struct Windows {
    model: Arc<Model>,
    dim: usize,
    frame_s: f64,
    window_frames: usize,
    hop_frames: usize,
    min_frames: usize,
    min_speech_ratio: f32,
    spectrogram: bool,
    /// The last `window_frames` feature frames, as a circular buffer.
    ring: Vec<f32>,
    /// Frames produced since the stream started.
    frames: u64,
    /// End frame of the next regular window.
    next_end: u64,
    /// End frame of the last window sent (0 = none yet).
    last_end: u64,
    /// Scratch for one contiguous window.
    window: Vec<f32>,
    vad: VecDeque<VadEntry>,
    /// Index of `vad[0]`.
    vad_base: u64,
    /// Samples per front-end frame hop at the model rate.
    hop_samples: u64,
    index: u64,
    totals: Totals,
    failure: Option<ModelError>,
}

/// Receives what a [`FeatureStream`] computes, in stream order.
pub trait StreamSink {
    /// One level block of the source signal (only when levels are enabled).
    fn level(&mut self, block: BlockLevel);
    /// One 16 ms voice-activity decision.
    fn vad(&mut self, frame: VadFrame);
    /// One front-end frame. VAD decisions covering the frame's centre have already been
    /// delivered, except in the last 16 ms of a stream.
    fn frame(&mut self, frame: &Frame<'_>);
}

/// Source samples → level, downmix, resampling, VAD and front-end frames.
///
/// This is the whole signal path of the engine minus the model. `emotty features` runs
/// it directly, so training sees exactly what the live engine computes.
pub struct FeatureStream {
    channels: usize,
    resampler: Resampler,
    meter: Option<LevelMeter>,
    frontend: Frontend,
    vad: Vad,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    audio_samples: u64,
}

impl FeatureStream {
    /// A stream for a source at `source_rate` Hz with `channels` interleaved channels;
    /// `level_block` source frames per level block, or `None` for no level metering.
    pub fn new(
        frontend: FrontendConfig,
        vad: VadConfig,
        source_rate: u32,
        channels: u16,
        level_block: Option<usize>,
    ) -> Result<Self, AnalysisError> {
        if frontend.sample_rate != VAD_RATE {
            return Err(AnalysisError::Config(format!(
                "the model works at {} Hz but voice activity detection needs {VAD_RATE} Hz",
                frontend.sample_rate
            )));
        }
        if channels == 0 || source_rate == 0 {
            return Err(AnalysisError::Config(format!(
                "source has {channels} channels at {source_rate} Hz"
            )));
        }
        Ok(FeatureStream {
            channels: channels as usize,
            resampler: Resampler::new(source_rate, frontend.sample_rate)?,
            meter: level_block.map(|b| LevelMeter::new(b.max(1), channels as usize)),
            frontend: Frontend::new(frontend)?,
            vad: Vad::new(vad),
            mono: Vec::new(),
            resampled: Vec::new(),
            audio_samples: 0,
        })
    }

    /// Feeds interleaved samples at the source rate (whole frames).
    pub fn push(
        &mut self,
        interleaved: &[f32],
        sink: &mut dyn StreamSink,
    ) -> Result<(), AnalysisError> {
        if let Some(meter) = &mut self.meter {
            meter.push(interleaved, &mut |b| sink.level(b));
        }
        downmix(interleaved, self.channels, &mut self.mono);
        self.resampled.clear();
        self.resampler.process(&self.mono, &mut self.resampled)?;
        self.analyse_resampled(sink);
        Ok(())
    }

    /// End of input: flushes the resampler and the front end (zero padding, as librosa's
    /// centred frames do).
    pub fn finish(&mut self, sink: &mut dyn StreamSink) -> Result<(), AnalysisError> {
        self.resampled.clear();
        self.resampler.finish(&mut self.resampled)?;
        self.analyse_resampled(sink);
        self.frontend.finish(&mut |frame| sink.frame(frame));
        Ok(())
    }

    /// Seconds of audio analysed, at the model rate.
    pub fn audio_s(&self) -> f64 {
        self.audio_samples as f64 / f64::from(VAD_RATE)
    }

    fn analyse_resampled(&mut self, sink: &mut dyn StreamSink) {
        self.audio_samples += self.resampled.len() as u64;
        // VAD first: it is never behind the front end, whose frames need 16 ms of
        // look-ahead, so each frame's (and window's) voice activity is known in time.
        self.vad.push(&self.resampled, &mut |f| sink.vad(f));
        self.frontend
            .push(&self.resampled, &mut |frame| sink.frame(frame));
    }
}

/// Samples in, events out. See the module docs.
pub struct Analyzer {
    stream: FeatureStream,
    level_block_s: f64,
    windows: Windows,
}

/// Adapts [`Windows`] plus an event callback to [`StreamSink`].
struct EventSink<'a> {
    windows: &'a mut Windows,
    emit: &'a mut dyn FnMut(Event),
    level_block_s: f64,
}

impl StreamSink for EventSink<'_> {
    fn level(&mut self, b: BlockLevel) {
        (self.emit)(Event::Level(Level {
            time_s: (b.index + 1) as f64 * self.level_block_s,
            rms_dbfs: b.rms_dbfs,
            peak_dbfs: b.peak_dbfs,
            clipped: b.clipped,
        }));
    }

    fn vad(&mut self, frame: VadFrame) {
        self.windows.on_vad(frame);
    }

    fn frame(&mut self, frame: &Frame<'_>) {
        self.windows.on_frame(frame, self.emit);
    }
}

impl Analyzer {
    /// An analyzer for a source with `source_rate` Hz and `channels` interleaved channels.
    pub fn new(
        model: Arc<Model>,
        source_rate: u32,
        channels: u16,
        config: &AnalysisConfig,
    ) -> Result<Self, AnalysisError> {
        let frontend_config = model.info().meta.frontend.clone();
        let fps = frontend_config.frames_per_second();
        let frames_of = |s: f64| (s * fps).round() as usize;
        let check = |name: &str, s: f64| {
            if s.is_finite() && s > 0.0 && s <= 600.0 {
                Ok(())
            } else {
                Err(AnalysisError::Config(format!(
                    "{name} must be between 0 and 600 seconds, not {s}"
                )))
            }
        };
        check("window", config.window_s)?;
        check("hop", config.hop_s)?;
        check("minimum window", config.min_window_s)?;
        if !(0.0..=1.0).contains(&config.min_speech_ratio) {
            return Err(AnalysisError::Config(format!(
                "minimum speech ratio must be between 0 and 1, not {}",
                config.min_speech_ratio
            )));
        }
        let window_frames = frames_of(config.window_s).max(1);
        let hop_frames = frames_of(config.hop_s).max(1);
        let min_frames = frames_of(config.min_window_s).clamp(1, window_frames);
        let level_block = config
            .levels
            .then(|| (config.level_block_s * f64::from(source_rate)).round() as usize);
        let dim = model.feature_dim();
        let hop_samples = frontend_config.hop_length as u64;
        let stream = FeatureStream::new(
            frontend_config,
            config.vad,
            source_rate,
            channels,
            level_block,
        )?;
        // First regular window: the first hop multiple that is long enough.
        let first_end = min_frames.div_ceil(hop_frames) * hop_frames;
        Ok(Analyzer {
            stream,
            level_block_s: config.level_block_s,
            windows: Windows {
                model,
                dim,
                frame_s: 1.0 / fps,
                window_frames,
                hop_frames,
                min_frames,
                min_speech_ratio: config.min_speech_ratio,
                spectrogram: config.spectrogram,
                ring: vec![0.0; window_frames * dim],
                frames: 0,
                next_end: first_end as u64,
                last_end: 0,
                window: Vec::with_capacity(window_frames * dim),
                vad: VecDeque::new(),
                vad_base: 0,
                hop_samples,
                index: 0,
                totals: Totals::default(),
                failure: None,
            },
        })
    }

    /// Feeds interleaved samples at the source rate (whole frames).
    pub fn push(
        &mut self,
        interleaved: &[f32],
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), AnalysisError> {
        let mut sink = EventSink {
            windows: &mut self.windows,
            emit,
            level_block_s: self.level_block_s,
        };
        self.stream.push(interleaved, &mut sink)?;
        self.windows.totals.audio_s = self.stream.audio_s();
        self.windows.take_failure()?;
        Ok(())
    }

    /// End of input: flushes the signal path and sends the last window if the stream's
    /// tail has not been covered yet. The analyzer is then spent.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Event)) -> Result<(), AnalysisError> {
        let mut sink = EventSink {
            windows: &mut self.windows,
            emit,
            level_block_s: self.level_block_s,
        };
        self.stream.finish(&mut sink)?;
        self.windows.totals.audio_s = self.stream.audio_s();
        self.windows.take_failure()?;
        self.windows.final_window(emit)?;
        Ok(())
    }

    /// Time between window ends, in seconds.
    pub fn hop_s(&self) -> f64 {
        self.windows.hop_frames as f64 * self.windows.frame_s
    }

    /// Totals so far.
    pub fn totals(&self) -> Totals {
        self.windows.totals
    }
}

impl Windows {
    fn on_vad(&mut self, f: VadFrame) {
        let mean_square = f.mean_square;
        self.vad.push_back(VadEntry {
            speech: f.speech,
            mean_square,
        });
        if f.speech {
            self.totals.speech_s += VAD_FRAME as f64 / f64::from(VAD_RATE);
        }
        // The VAD runs ahead of the front end by up to a whole input chunk, so history
        // is trimmed by the front end's position: any window still to come starts at or
        // after `frames - window_frames`.
        let oldest_start = self.frames.saturating_sub(self.window_frames as u64) * self.hop_samples;
        let keep_from = oldest_start.saturating_sub(VAD_FRAME as u64 / 2) / VAD_FRAME as u64;
        while self.vad_base < keep_from && !self.vad.is_empty() {
            self.vad.pop_front();
            self.vad_base += 1;
        }
    }

    fn on_frame(&mut self, frame: &Frame<'_>, emit: &mut dyn FnMut(Event)) {
        let slot = (self.frames % self.window_frames as u64) as usize;
        self.ring[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(frame.features);
        self.frames += 1;
        if self.spectrogram {
            emit(Event::Spectrogram(SpectrogramColumn {
                time_s: frame.index as f64 * self.frame_s,
                mel_db: frame.mel_db.to_vec(),
            }));
        }
        if self.frames == self.next_end {
            self.next_end += self.hop_frames as u64;
            if let Err(e) = self.send_window(self.frames, emit) {
                self.failure.get_or_insert(e);
            }
        }
    }

    fn take_failure(&mut self) -> Result<(), ModelError> {
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After the last frame: covers a tail longer than a quarter hop, and makes sure a
    /// clip shorter than the minimum window still gets one verdict.
    fn final_window(&mut self, emit: &mut dyn FnMut(Event)) -> Result<(), ModelError> {
        let tail = self.frames - self.last_end;
        let worth = if self.last_end == 0 {
            self.frames >= (self.min_frames as u64 / 10).max(10)
        } else {
            tail * 4 >= self.hop_frames as u64
        };
        if worth && tail > 0 {
            self.send_window(self.frames, emit)?;
        }
        Ok(())
    }

    /// Sends the window of frames ending (exclusive) at `end`.
    fn send_window(&mut self, end: u64, emit: &mut dyn FnMut(Event)) -> Result<(), ModelError> {
        let len = (end as usize).min(self.window_frames);
        let start = end - len as u64;
        let (speech_ratio, mean_square) = self.vad_stats(start, end);
        let outcome = if speech_ratio < self.min_speech_ratio || speech_ratio == 0.0 {
            Outcome::NoSpeech
        } else {
            self.window.clear();
            for f in start..end {
                let slot = (f % self.window_frames as u64) as usize;
                self.window
                    .extend_from_slice(&self.ring[slot * self.dim..(slot + 1) * self.dim]);
            }
            let probs = self.model.predict(&self.window, len)?;
            let top = argmax(&probs);
            self.totals.speech_windows += 1;
            Outcome::Emotion { probs, top }
        };
        self.totals.windows += 1;
        emit(Event::Window(WindowResult {
            index: self.index,
            start_s: start as f64 * self.frame_s,
            end_s: end as f64 * self.frame_s,
            speech_ratio,
            rms_dbfs: crate::dsp::vad::power_db(mean_square),
            outcome,
            emitted_at: Instant::now(),
        }));
        self.index += 1;
        self.last_end = end;
        Ok(())
    }

    /// Speech ratio and mean power of the VAD frames whose centre lies in the frames
    /// `[start, end)`.
    fn vad_stats(&self, start: u64, end: u64) -> (f32, f32) {
        let first_sample = start * self.hop_samples;
        let last_sample = end * self.hop_samples;
        let frame = VAD_FRAME as u64;
        // Centre of VAD frame k is k*256 + 128; keep the centres in [first, last).
        let first_k = |sample: u64| (sample.saturating_sub(frame / 2)).div_ceil(frame);
        let (k0, k1) = (first_k(first_sample), first_k(last_sample));
        let mut n = 0u32;
        let mut speech = 0u32;
        let mut energy = 0f64;
        for k in k0.max(self.vad_base)..k1 {
            let Some(entry) = self.vad.get((k - self.vad_base) as usize) else {
                break;
            };
            n += 1;
            speech += u32::from(entry.speech);
            energy += f64::from(entry.mean_square);
        }
        if n == 0 {
            return (0.0, 0.0);
        }
        (speech as f32 / n as f32, (energy / f64::from(n)) as f32)
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
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
    fn window_speech_ratio_matches_the_vad_frames_inside_it() {
        let (_, _, samples) = fixture(ANGRY);
        // Independent count: the VAD alone over the same (16 kHz mono) audio.
        let mut vad = Vad::new(VadConfig::default());
        let mut frames = Vec::new();
        vad.push(&samples, &mut |f| frames.push(f));
        // Small chunks, odd chunks, and the whole clip at once (the VAD then runs far
        // ahead of the front end).
        for chunk in [160, 3000, samples.len()] {
            let windows = run(ANGRY, chunk, None);
            assert!(windows.len() >= 6);
            for w in &windows {
                let (a, b) = (w.start_s * 16_000.0, w.end_s * 16_000.0);
                let inside: Vec<&VadFrame> = frames
                    .iter()
                    .filter(|f| {
                        let centre = f.index as f64 * 256.0 + 128.0;
                        centre >= a && centre < b
                    })
                    .collect();
                let expected =
                    inside.iter().filter(|f| f.speech).count() as f32 / inside.len().max(1) as f32;
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
                Outcome::Emotion { probs, top } => {
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
            let direct = model.predict(&feats[a * dim..b * dim], b - a).unwrap();
            for (x, y) in probs.iter().zip(&direct) {
                assert!(
                    (x - y).abs() < 1e-6,
                    "window {a}-{b}: {probs:?} vs {direct:?}"
                );
            }
        }
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
}
