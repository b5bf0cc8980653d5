//! The analysis engine: the thread that turns samples into events.
//!
//! ```text
//! source ──ring buffer──▶ engine thread (Analyzer) ──channel of Event──▶ consumers
//! ```
//!
//! The thread owns the ring's consumer and an [`Analyzer`]. It drains the ring, times
//! its own work (for the real-time factor), adds the source's health (dropped samples,
//! device loss) and sends everything as [`Event`]s. It sleeps a few milliseconds when
//! the ring is empty rather than being woken by the producer, because the producer may
//! be a real-time audio callback that must not make system calls.

pub mod adapt;
pub mod analyzer;
pub mod events;
mod feed;
pub mod schedule;
pub mod settings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer};

pub use adapt::StreamStats;
pub use analyzer::{Analyzer, Totals};
pub use events::*;
pub use feed::RESET_AFTER_S;
pub use settings::{
    Adapt, AnalysisConfig, AnalysisError, DEFAULT_HOP_S, DEFAULT_STREAM_HOP_S, default_hop_s,
};

use crate::audio::source::{Feed, SourceFailure, SourceGuard, ring_fill};
use crate::model::Model;

/// How long the thread waits when the ring is empty, unless a reader thread wakes it
/// first ([`SourceShared::wake_consumer`](crate::audio::source::SourceShared::wake_consumer)):
/// one 10 ms block of audio, the unit microphones deliver, so a block waits at most its
/// own length. Each wake-up also wakes every consumer with the events it produced;
/// polling faster only spends CPU on the scheduler.
const IDLE_SLEEP: Duration = Duration::from_millis(10);

/// How long the thread waits for the source's first audio: short, so that a source
/// that cannot wake it (a microphone) starts without losing most of a 10 ms poll.
const FIRST_AUDIO_POLL: Duration = Duration::from_millis(1);

/// A microphone that delivers nothing for this long is reported as stalled.
const STALL_AFTER: Duration = Duration::from_secs(2);

/// ... and after this long, as gone. A running capture stream delivers buffers even in
/// silence, so a long stall means the device or its sound server went away: ALSA's
/// PulseAudio plugin, for one, reports no error when the server dies, it just stops.
const LOST_AFTER: Duration = Duration::from_secs(5);

/// Seconds of audio between two [`Stats`] events.
const STATS_EVERY_S: f64 = 1.0;

/// Errors starting the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The analysis cannot run on this source (a rate the resampler does not take,
    /// say); the message starts with the source's name, as every input error does.
    #[error("{name}: {error}")]
    Analysis { name: String, error: AnalysisError },
    #[error("cannot start the analysis thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// A copy of the source's audio as the engine read it: interleaved, at the source's
/// native rate and channel count. Recordings and `--keep-audio` are written from these,
/// so they hold what the microphone delivered, not the resampled model input.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// Index of the chunk's first frame since the source started.
    pub first_frame: u64,
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

/// A running engine. Dropping it stops the thread and the source.
pub struct Engine {
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    reset_adaptation: Arc<AtomicBool>,
    /// Returns what the stream's adaptation heard, when it adapts.
    thread: Option<JoinHandle<Option<StreamStats>>>,
    // Dropped after the thread is joined (see Drop), so the ring's producer outlives
    // its consumer's last read.
    guard: Option<SourceGuard>,
}

impl Engine {
    /// Starts analysing `feed` with `model`. The first event is [`Event::Started`], the
    /// last [`Event::Ended`].
    pub fn start(
        feed: Feed,
        guard: SourceGuard,
        model: Arc<Model>,
        config: AnalysisConfig,
    ) -> Result<Engine, EngineError> {
        Self::start_with_tap(feed, guard, model, config, None)
    }

    /// Like [`Engine::start`], and also sends every block of source audio to `tap`.
    pub fn start_with_tap(
        feed: Feed,
        guard: SourceGuard,
        model: Arc<Model>,
        config: AnalysisConfig,
        tap: Option<Sender<AudioChunk>>,
    ) -> Result<Engine, EngineError> {
        let analyzer = Analyzer::new(
            model.clone(),
            feed.info.sample_rate,
            feed.info.channels,
            &config,
        )
        .map_err(|error| {
            // The front end and the model come from the model file; the rest from the
            // source. The message names whichever is at fault.
            let name = match error {
                AnalysisError::Frontend(_) | AnalysisError::Model(_) => {
                    model.info().path.display().to_string()
                }
                _ => feed.info.name.clone(),
            };
            EngineError::Analysis { name, error }
        })?;
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let reset_adaptation = Arc::new(AtomicBool::new(false));
        let meta = &model.info().meta;
        let start = StartInfo {
            source: feed.info.clone(),
            model_name: meta.name.clone(),
            labels: meta.labels.clone(),
            affect: model.has_affect(),
            adapting: analyzer.adaptation().is_some(),
            sample_rate: meta.sample_rate,
            window_s: analyzer.window_s(),
            hop_s: analyzer.hop_s(),
            mel_frequencies: meta.frontend.mel_center_frequencies(),
            started_at: Instant::now(),
        };
        let thread = {
            let stop = stop.clone();
            let reset = reset_adaptation.clone();
            std::thread::Builder::new()
                .name("emotty-engine".into())
                .spawn(move || run(feed, analyzer, start, &tx, &stop, &reset, tap))
                .map_err(EngineError::Thread)?
        };
        Ok(Engine {
            events: rx,
            stop,
            reset_adaptation,
            thread: Some(thread),
            guard: Some(guard),
        })
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Asks the thread to stop; it sends [`EndReason::Stopped`] and exits.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Asks the thread to start the stream's adaptation over (a new voice at the
    /// microphone); it does so before the next block of audio.
    pub fn reset_adaptation(&self) {
        self.reset_adaptation.store(true, Ordering::Release);
    }

    /// Waits for the thread to end (after [`Event::Ended`], or after [`Engine::stop`])
    /// and returns what the stream's adaptation heard, to carry into the next file of
    /// the same stream; None when it did not adapt.
    pub fn finish(mut self) -> Option<StreamStats> {
        self.stop();
        let stats = self.thread.take().and_then(|t| t.join().ok()).flatten();
        self.guard.take();
        stats
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.guard.take();
    }
}

fn run(
    mut feed: Feed,
    mut analyzer: Analyzer,
    start: StartInfo,
    tx: &Sender<Event>,
    stop: &AtomicBool,
    reset_adaptation: &AtomicBool,
    mut tap: Option<Sender<AudioChunk>>,
) -> Option<StreamStats> {
    let channels = start.source.channels.max(1) as usize;
    let (rate, channel_count) = (start.source.sample_rate, start.source.channels);
    let mut frames_read: u64 = 0;
    let is_mic = start.source.kind == SourceKind::Microphone;
    let _ = tx.send(Event::Started(StartInfo {
        started_at: Instant::now(),
        ..start
    }));
    // Whatever fits in the ring fits in one read.
    let mut buf = vec![0.0f32; feed.consumer.capacity().get()];
    let mut busy = Duration::ZERO;
    let mut audio_at_last_stats = 0.0;
    let mut busy_at_last_stats = Duration::ZERO;
    let mut last_data = Instant::now();
    let mut stalled = false;
    let mut emit = |e: Event| {
        let _ = tx.send(e);
    };
    feed.shared.register_consumer();
    let reason = loop {
        if stop.load(Ordering::Acquire) {
            break EndReason::Stopped;
        }
        if reset_adaptation.swap(false, Ordering::AcqRel) {
            analyzer.reset_adaptation();
        }
        // Read whole frames only; a partial frame stays for the next round.
        let available = feed.consumer.occupied_len();
        let n = available - available % channels;
        if n > 0 {
            let got = feed.consumer.pop_slice(&mut buf[..n]);
            if let Some(t) = &tap {
                let chunk = AudioChunk {
                    first_frame: frames_read,
                    sample_rate: rate,
                    channels: channel_count,
                    samples: buf[..got].to_vec(),
                };
                if t.send(chunk).is_err() {
                    // The listener is gone; stop copying.
                    tap = None;
                }
            }
            frames_read += (got / channels) as u64;
            let t0 = Instant::now();
            let result = analyzer.push(&buf[..got], &mut emit);
            busy += t0.elapsed();
            if let Err(e) = result {
                break EndReason::Failed(e.to_string());
            }
            last_data = Instant::now();
            if stalled {
                stalled = false;
                emit(Event::Warning {
                    message: "audio is flowing again".into(),
                });
            }
            let audio_s = analyzer.totals().audio_s;
            if audio_s - audio_at_last_stats >= STATS_EVERY_S {
                emit(Event::Stats(stats(
                    &analyzer,
                    &feed,
                    busy - busy_at_last_stats,
                    audio_s - audio_at_last_stats,
                    analyzer.hop_s(),
                )));
                audio_at_last_stats = audio_s;
                busy_at_last_stats = busy;
            }
            continue;
        }
        if feed.shared.finished.load(Ordering::Acquire) && feed.consumer.occupied_len() < channels {
            match feed.shared.failure() {
                Some(SourceFailure::DeviceLost(msg)) => break EndReason::DeviceLost(msg),
                Some(SourceFailure::Decode(msg)) => break EndReason::Failed(msg),
                None => {
                    let t0 = Instant::now();
                    let result = analyzer.finish(&mut emit);
                    busy += t0.elapsed();
                    if let Err(e) = result {
                        break EndReason::Failed(e.to_string());
                    }
                    break EndReason::EndOfInput;
                }
            }
        }
        if is_mic && last_data.elapsed() > LOST_AFTER {
            let message = format!(
                "no audio from the device for {} s: it was disconnected or its sound server stopped",
                LOST_AFTER.as_secs()
            );
            feed.shared.fail(SourceFailure::DeviceLost(message.clone()));
            break EndReason::DeviceLost(message);
        }
        if is_mic && !stalled && last_data.elapsed() > STALL_AFTER {
            stalled = true;
            emit(Event::Warning {
                message: format!("no audio from the device for {} s", STALL_AFTER.as_secs()),
            });
        }
        // A reader thread wakes us as soon as it has written (or finished); a
        // microphone's callback may not, so its audio waits for the timeout.
        std::thread::park_timeout(if frames_read == 0 {
            FIRST_AUDIO_POLL
        } else {
            IDLE_SLEEP
        });
    };
    let audio_s = analyzer.totals().audio_s;
    emit(Event::Stats(stats(
        &analyzer,
        &feed,
        busy - busy_at_last_stats,
        audio_s - audio_at_last_stats,
        analyzer.hop_s(),
    )));
    emit(Event::Ended(reason));
    analyzer.adaptation().cloned()
}

fn stats(analyzer: &Analyzer, feed: &Feed, busy: Duration, audio_s: f64, hop_s: f64) -> Stats {
    let totals = analyzer.totals();
    let rtf = if audio_s > 0.0 {
        busy.as_secs_f64() / audio_s
    } else {
        0.0
    };
    Stats {
        time_s: totals.audio_s,
        speech_s: totals.speech_s,
        dropped_samples: feed.shared.dropped.load(Ordering::Relaxed),
        hop_ms: (rtf * hop_s * 1000.0) as f32,
        real_time_factor: rtf as f32,
        ring_fill: ring_fill(&feed.consumer),
    }
}
