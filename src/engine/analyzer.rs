//! The synchronous core of the analysis thread: samples in, events out.
//!
//! Kept free of threads, clocks and channels so that every number it produces can be
//! tested by pushing a clip through it, and so that the engine thread, `classify` and
//! `features` all run exactly the same computation.
//!
//! Per chunk of interleaved source samples it: meters the level (native rate, all
//! channels), downmixes, resamples to the model's rate, runs the VAD and the front end,
//! assembles each frame's model input (front-end features, optionally the pitch track)
//! with its voice-activity verdict, keeps the last window of frames, and every hop
//! either runs the model or reports "no speech".

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::dsp::frontend::{Frame, Frontend, FrontendConfig, PITCH_FEATURES};
use crate::dsp::level::{BlockLevel, LevelMeter};
use crate::dsp::resample::{Resampler, downmix};
use crate::dsp::vad::{VAD_FRAME, VAD_RATE, Vad, VadConfig, VadFrame};
use crate::engine::adapt::{Adaptation, StreamStats};
use crate::engine::events::{Event, Level, Outcome, SpectrogramColumn, WindowResult};
use crate::engine::feed::StreamFeed;
use crate::engine::schedule::Schedule;
pub use crate::engine::settings::{
    Adapt, AnalysisConfig, AnalysisError, DEFAULT_HOP_S, DEFAULT_MIN_SPEECH_RATIO,
    DEFAULT_STREAM_HOP_S, default_hop_s,
};
use crate::model::{Model, ModelError, Prediction};

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

/// One analysis frame as the model and the training data see it.
#[derive(Debug, Clone, Copy)]
pub struct StreamFrame<'a> {
    /// Frame number since the stream started; centre at `index * hop` samples.
    pub index: u64,
    /// The log-mel power in dB (for the spectrogram).
    pub mel_db: &'a [f32],
    /// The model's input for this frame: front-end features, then the pitch track when
    /// the front end asks for it ([`FrontendConfig::model_dim`] values).
    pub features: &'a [f32],
    /// The VAD's verdict on the 16 ms around the frame's centre.
    pub speech: bool,
    /// Mean square of those 16 ms (full scale = 1).
    pub mean_square: f32,
}

/// Receives what a [`FeatureStream`] computes, in stream order.
pub trait StreamSink {
    /// One level block of the source signal (only when levels are enabled).
    fn level(&mut self, block: BlockLevel);
    /// One assembled frame.
    fn frame(&mut self, frame: &StreamFrame<'_>);
}

/// Keeps every frame's model input and speech verdict: the sink the engine's unit tests
/// read a [`FeatureStream`] through.
#[cfg(test)]
pub(crate) struct CollectFrames(pub(crate) Vec<(Vec<f32>, bool)>);

#[cfg(test)]
impl StreamSink for CollectFrames {
    fn level(&mut self, _: BlockLevel) {}
    fn frame(&mut self, f: &StreamFrame<'_>) {
        self.0.push((f.features.to_vec(), f.speech));
    }
}

/// Source samples → level, downmix, resampling, VAD, front end, and assembled frames.
///
/// This is the whole signal path of the engine minus the model. `emotty features` runs
/// it directly, so training sees exactly what the live engine computes, voice
/// activity and pitch included.
pub struct FeatureStream {
    channels: usize,
    resampler: Resampler,
    meter: Option<LevelMeter>,
    frontend: Frontend,
    vad: Vad,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    audio_samples: u64,
    assembly: Assembly,
}

/// Joins front-end frames with the VAD frames covering their centres. The VAD runs
/// ahead of the front end (which needs 16 ms of look-ahead), so its frames wait here.
struct Assembly {
    pitch: bool,
    hop: u64,
    pending: VecDeque<VadFrame>,
    /// log2(F0 / 100 Hz) of the last voiced frame, held through unvoiced stretches so
    /// the track is continuous (0 until the first voiced frame).
    held_log_pitch: f32,
    buf: Vec<f32>,
}

impl Assembly {
    fn emit(&mut self, frame: &Frame<'_>, sink: &mut dyn StreamSink) {
        let centre = frame.index * self.hop;
        let k = centre / VAD_FRAME as u64;
        while self.pending.front().is_some_and(|v| v.index < k) {
            self.pending.pop_front();
        }
        // Missing only in the last 16 ms of a stream, which the VAD never completes.
        let vad = self.pending.front().filter(|v| v.index == k).copied();
        self.buf.clear();
        self.buf.extend_from_slice(frame.features);
        if self.pitch {
            let (pitch_hz, voicing) = vad.map_or((0.0, 0.0), |v| (v.pitch_hz, v.voicing));
            if pitch_hz > 0.0 {
                self.held_log_pitch = (pitch_hz / 100.0).log2();
            }
            self.buf.push(self.held_log_pitch);
            self.buf.push(voicing);
            debug_assert_eq!(PITCH_FEATURES, 2);
        }
        sink.frame(&StreamFrame {
            index: frame.index,
            mel_db: frame.mel_db,
            features: &self.buf,
            speech: vad.is_some_and(|v| v.speech),
            mean_square: vad.map_or(0.0, |v| v.mean_square),
        });
    }
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
            assembly: Assembly {
                pitch: frontend.pitch,
                hop: frontend.hop_length as u64,
                pending: VecDeque::new(),
                held_log_pitch: 0.0,
                buf: Vec::with_capacity(frontend.model_dim()),
            },
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
        let assembly = &mut self.assembly;
        self.frontend
            .finish(&mut |frame| assembly.emit(frame, sink));
        Ok(())
    }

    /// Seconds of audio analysed, at the model rate.
    pub fn audio_s(&self) -> f64 {
        self.audio_samples as f64 / f64::from(VAD_RATE)
    }

    fn analyse_resampled(&mut self, sink: &mut dyn StreamSink) {
        self.audio_samples += self.resampled.len() as u64;
        // VAD first: it is never behind the front end, whose frames need 16 ms of
        // look-ahead, so each frame's voice activity is known when the frame is.
        let assembly = &mut self.assembly;
        self.vad
            .push(&self.resampled, &mut |f| assembly.pending.push_back(f));
        self.frontend
            .push(&self.resampled, &mut |frame| assembly.emit(frame, sink));
    }
}

/// The window machinery, separate from the signal path so the stream's frame callback
/// can borrow it mutably.
struct Windows {
    model: Arc<Model>,
    dim: usize,
    frame_s: f64,
    window_frames: usize,
    schedule: Schedule,
    min_speech_ratio: f32,
    spectrogram: bool,
    /// The last `window_frames` frames' model input, as a circular buffer (window
    /// models; a streaming model keeps what it needs in its state).
    ring: Vec<f32>,
    /// The last frames' speech verdict and mean square, as a circular buffer: a
    /// window's worth, and a step more for a streaming model's verdict, which may end
    /// up to a step before the last frame.
    activity: Vec<(bool, f32)>,
    /// A streaming model's feed; `None` for a window model.
    feed: Option<StreamFeed>,
    /// Scratch for one frame mapped by adaptation before a streaming model sees it.
    frame: Vec<f32>,
    /// Where the last window sent ended (a streaming model's last verdict may already
    /// cover the stream's tail).
    last_end: u64,
    /// Frames produced since the stream started.
    frames: u64,
    /// Scratch for one contiguous window.
    window: Vec<f32>,
    index: u64,
    totals: Totals,
    failure: Option<ModelError>,
    adaptation: Option<Adaptation>,
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

    fn frame(&mut self, frame: &StreamFrame<'_>) {
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
        config.check(&model)?;
        let window_frames = frames_of(config.window_s).max(1);
        let hop_frames = frames_of(config.hop_s).max(1);
        let min_frames = frames_of(config.min_window_s).clamp(1, window_frames);
        let level_block = config
            .levels
            .then(|| (config.level_block_s * f64::from(source_rate)).round() as usize);
        let dim = model.feature_dim();
        let stream = FeatureStream::new(
            frontend_config,
            config.vad,
            source_rate,
            channels,
            level_block,
        )?;
        let adaptation = match (&config.adapt, &model.info().meta.adaptation) {
            (Adapt::Off, _) => None,
            (adapt, Some(prior)) => {
                let mut a = Adaptation::new(prior);
                if let Adapt::Resume(stats) = adapt {
                    a.resume(stats.clone());
                }
                Some(a)
            }
            // Refused by `check` above.
            (_, None) => None,
        };
        let feed = model
            .is_streaming()
            .then(|| StreamFeed::new(&model, window_frames, hop_frames, 1.0 / fps));
        let activity = window_frames + model.step_frames().unwrap_or(0);
        let ring = if feed.is_some() {
            0
        } else {
            window_frames * dim
        };
        Ok(Analyzer {
            stream,
            level_block_s: config.level_block_s,
            windows: Windows {
                model,
                dim,
                frame_s: 1.0 / fps,
                window_frames,
                schedule: Schedule::new(window_frames, hop_frames, min_frames),
                min_speech_ratio: config.min_speech_ratio,
                spectrogram: config.spectrogram,
                ring: vec![0.0; ring],
                activity: vec![(false, 0.0); activity],
                feed,
                frame: Vec::with_capacity(dim),
                last_end: 0,
                frames: 0,
                window: Vec::with_capacity(ring),
                index: 0,
                totals: Totals::default(),
                failure: None,
                adaptation,
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

    /// Length of a full window, in seconds (whole frames).
    pub fn window_s(&self) -> f64 {
        self.windows.window_frames as f64 * self.windows.frame_s
    }

    /// Time between window ends, in seconds (whole frames).
    pub fn hop_s(&self) -> f64 {
        self.windows.schedule.hop_frames() as f64 * self.windows.frame_s
    }

    /// Totals so far.
    pub fn totals(&self) -> Totals {
        self.windows.totals
    }

    /// What the stream's adaptation has heard (None when it does not adapt).
    pub fn adaptation(&self) -> Option<&StreamStats> {
        self.windows.adaptation.as_ref().map(Adaptation::stats)
    }

    /// Starts the stream's adaptation over, as if nothing had been heard.
    pub fn reset_adaptation(&mut self) {
        if let Some(a) = &mut self.windows.adaptation {
            a.reset();
        }
    }
}

impl Windows {
    fn on_frame(&mut self, frame: &StreamFrame<'_>, emit: &mut dyn FnMut(Event)) {
        let slot = (self.frames % self.activity.len() as u64) as usize;
        self.activity[slot] = (frame.speech, frame.mean_square);
        if frame.speech {
            self.totals.speech_s += self.frame_s;
            if let Some(a) = &mut self.adaptation {
                a.observe(frame.features);
            }
        }
        if let Some(feed) = &mut self.feed {
            // Each frame is mapped once, with what the stream had heard by then.
            let features = match &mut self.adaptation {
                Some(a) => {
                    self.frame.clear();
                    self.frame.extend_from_slice(frame.features);
                    a.apply(&mut self.frame);
                    &self.frame[..]
                }
                None => frame.features,
            };
            if let Err(e) = feed.push(&self.model, features, frame.speech) {
                self.failure.get_or_insert(e);
            }
        } else {
            let slot = (self.frames % self.window_frames as u64) as usize;
            self.ring[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(frame.features);
        }
        self.frames += 1;
        if self.spectrogram {
            emit(Event::Spectrogram(SpectrogramColumn {
                time_s: frame.index as f64 * self.frame_s,
                mel_db: frame.mel_db.to_vec(),
            }));
        }
        if let Some(w) = self.schedule.after(self.frames)
            && let Err(e) = self.send_window(w, emit)
        {
            self.failure.get_or_insert(e);
        }
    }

    fn take_failure(&mut self) -> Result<(), ModelError> {
        match self.failure.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// After the last frame: the schedule's last window, if the tail is worth one.
    fn final_window(&mut self, emit: &mut dyn FnMut(Event)) -> Result<(), ModelError> {
        match self.schedule.at_end(self.frames) {
            Some(w) => self.send_window(w, emit),
            None => Ok(()),
        }
    }

    /// Sends the window of frames `span` (the end exclusive): a window model's verdict
    /// on it, or a streaming model's verdict on the stream so far, with the span that
    /// verdict pools.
    fn send_window(
        &mut self,
        span: std::ops::Range<u64>,
        emit: &mut dyn FnMut(Event),
    ) -> Result<(), ModelError> {
        let (span, prediction) = match &mut self.feed {
            None => {
                let (speech_ratio, _) = self.activity_over(&span);
                let heard = speech_ratio >= self.min_speech_ratio && speech_ratio > 0.0;
                let prediction = if heard {
                    Some(self.predict_window(&span)?)
                } else {
                    None
                };
                (span, prediction)
            }
            Some(feed) => match feed.verdict(&self.model)? {
                // The tail after the last verdict is shorter than a step: nothing new.
                Some(v) if v.span.end <= self.last_end => return Ok(()),
                Some(v) => (v.span, Some(v.prediction.clone())),
                None => (span, None),
            },
        };
        let (speech_ratio, mean_square) = self.activity_over(&span);
        let outcome = match prediction {
            Some(p) if speech_ratio >= self.min_speech_ratio && speech_ratio > 0.0 => {
                self.totals.speech_windows += 1;
                Outcome::Emotion {
                    top: argmax(&p.probs),
                    probs: p.probs,
                    affect: p.affect,
                }
            }
            _ => Outcome::NoSpeech,
        };
        self.totals.windows += 1;
        self.last_end = span.end;
        emit(Event::Window(WindowResult {
            index: self.index,
            start_s: span.start as f64 * self.frame_s,
            end_s: span.end as f64 * self.frame_s,
            speech_ratio,
            rms_dbfs: crate::dsp::vad::power_db(mean_square),
            outcome,
            emitted_at: Instant::now(),
        }));
        self.index += 1;
        Ok(())
    }

    /// The share of speech frames in `span` and their mean square (frames still in the
    /// activity ring).
    fn activity_over(&self, span: &std::ops::Range<u64>) -> (f32, f32) {
        let len = (span.end - span.start).max(1);
        let (mut speech, mut energy) = (0u32, 0f64);
        for f in span.clone() {
            let (s, e) = self.activity[(f % self.activity.len() as u64) as usize];
            speech += u32::from(s);
            energy += f64::from(e);
        }
        (speech as f32 / len as f32, (energy / len as f64) as f32)
    }

    /// A window model's prediction on the frames of `span`, adapted to the stream.
    fn predict_window(&mut self, span: &std::ops::Range<u64>) -> Result<Prediction, ModelError> {
        let slot = |f: u64| (f % self.window_frames as u64) as usize;
        self.window.clear();
        for f in span.clone() {
            let s = slot(f);
            self.window
                .extend_from_slice(&self.ring[s * self.dim..(s + 1) * self.dim]);
        }
        if let Some(a) = &mut self.adaptation {
            a.apply(&mut self.window);
        }
        self.model
            .predict(&self.window, (span.end - span.start) as usize)
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
mod tests;
