//! Audio sources: whatever produces samples writes them into one lock-free ring buffer.
//!
//! A microphone, a file and a pipe all end up as the same [`Feed`]: the consumer half of
//! an SPSC ring of interleaved `f32` samples at the source's native rate and channel
//! count, plus a few atomics describing the producer's health. The analysis thread
//! neither knows nor cares which one it is reading; that is what lets the monitor switch
//! sources without restarting and keeps the tests of the file path honest about the
//! microphone path.
//!
//! Files and pipes are read by a small reader thread. A file is paced in real time by
//! default, so it behaves like a live source; with [`Pace::Fast`] it goes as fast as the
//! analysis thread can take it, and then the reader waits for room in the ring instead of
//! dropping samples (only a live microphone may drop, because it cannot wait).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use ringbuf::traits::{Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::{SourceInfo, SourceKind};
use crate::audio::decode::{self, AudioReader, DecodeError, RawFormat};

/// How a file source is fed to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At the speed of the clock, like a live source.
    RealTime,
    /// As fast as the analysis thread consumes it.
    Fast,
}

/// State the producer shares with the consumer. Only atomics are touched on the
/// real-time path; the mutex is written by non-real-time code (reader threads, the
/// device error callback) at most once, when something fails.
#[derive(Debug, Default)]
pub struct SourceShared {
    /// Samples (not frames) thrown away because the ring was full.
    pub dropped: AtomicU64,
    /// Samples written into the ring since the start.
    pub written: AtomicU64,
    /// The producer will write nothing more (end of input, failure or device loss).
    pub finished: AtomicBool,
    /// Set with `finished` when the producer stopped because of a failure.
    failure: Mutex<Option<SourceFailure>>,
    /// The thread that reads the ring, so a reader thread can wake it when it has
    /// written something instead of leaving it to sleep out its idle poll.
    consumer: OnceLock<Thread>,
}

/// Why a producer stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFailure {
    /// The capture device went away or stopped working.
    DeviceLost(String),
    /// The file or stream could not be decoded any further.
    Decode(String),
}

impl SourceShared {
    /// Records a failure and marks the source finished. The first failure wins.
    pub fn fail(&self, failure: SourceFailure) {
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(failure);
        }
        self.finish();
    }

    /// Marks the source finished and wakes the consumer so it sees that at once.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.wake_consumer();
    }

    /// The failure that ended the source, if any.
    pub fn failure(&self) -> Option<SourceFailure> {
        self.failure.lock().ok().and_then(|slot| slot.clone())
    }

    /// Makes the calling thread the one [`wake_consumer`](Self::wake_consumer) wakes.
    /// The first caller wins; the engine calls it once, before it first waits.
    pub fn register_consumer(&self) {
        let _ = self.consumer.set(std::thread::current());
    }

    /// Wakes the consumer if it is waiting in `std::thread::park_timeout`.
    ///
    /// For reader threads and the device's error callback only, never for the real-time
    /// audio callback: waking a parked thread is a system call. Without it, each time a
    /// fast file source's reader is a moment behind, the engine sleeps out a whole idle
    /// poll (10 ms); on a busy machine it then loses its turn to other processes.
    pub fn wake_consumer(&self) {
        if let Some(thread) = self.consumer.get() {
            thread.unpark();
        }
    }
}

/// Keeps the producing side alive; dropping it stops the producer.
pub enum SourceGuard {
    /// A cpal input stream.
    Capture {
        stream: Option<Box<dyn std::any::Any + Send>>,
        shared: Arc<SourceShared>,
    },
    /// A reader thread over a file or a pipe.
    Reader {
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    },
}

impl Drop for SourceGuard {
    fn drop(&mut self) {
        if let SourceGuard::Capture { stream, shared } = self
            && let Some(stream) = stream.take()
            && shared.failure().is_some()
        {
            // A stream whose device went away can block forever in its destructor
            // (cpal joins a worker stuck in a poll on a dead sound server). Drop it on a
            // thread nobody waits for, so quitting or switching devices never hangs.
            let _ = std::thread::Builder::new()
                .name("emotty-drop-stream".into())
                .spawn(move || drop(stream));
        }
        if let SourceGuard::Reader { stop, thread } = self {
            stop.store(true, Ordering::Release);
            if let Some(thread) = thread.take() {
                // A reader blocked on stdin cannot be interrupted; do not wait for it.
                if thread.is_finished() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// The consumer side of a source, ready for the engine.
pub struct Feed {
    pub info: SourceInfo,
    pub consumer: HeapCons<f32>,
    pub shared: Arc<SourceShared>,
}

/// Ring capacity for a source: `seconds` of audio, in whole frames.
pub fn ring_capacity(sample_rate: u32, channels: u16, seconds: f32) -> usize {
    let frames = (sample_rate as f32 * seconds).ceil().max(1024.0) as usize;
    frames * channels.max(1) as usize
}

/// Errors opening a file or pipe source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("cannot start the reader thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Opens an audio file as a source.
pub fn open_file(path: &Path, pace: Pace) -> Result<(Feed, SourceGuard), SourceError> {
    let reader = decode::open_file(path)?;
    let info = SourceInfo {
        kind: SourceKind::File,
        name: path.display().to_string(),
        sample_rate: reader.spec().sample_rate,
        channels: reader.spec().channels,
        format: reader.describe(),
    };
    spawn_reader(reader, info, pace)
}

/// Opens standard input (or any byte stream) as a source: a WAV stream, or raw PCM as
/// described by `raw`. A pipe is never paced: its writer sets the pace.
pub fn open_stream(
    input: Box<dyn Read + Send + Sync>,
    raw: Option<RawFormat>,
    name: &str,
) -> Result<(Feed, SourceGuard), SourceError> {
    let reader = decode::open_stream(input, raw, name)?;
    let info = SourceInfo {
        kind: SourceKind::Pipe,
        name: name.to_string(),
        sample_rate: reader.spec().sample_rate,
        channels: reader.spec().channels,
        format: reader.describe(),
    };
    spawn_reader(reader, info, Pace::Fast)
}

fn spawn_reader(
    reader: Box<dyn AudioReader>,
    info: SourceInfo,
    pace: Pace,
) -> Result<(Feed, SourceGuard), SourceError> {
    // Fast readers get a few seconds of slack so neither side waits on the other often;
    // paced readers need little.
    let seconds = match pace {
        Pace::Fast => 4.0,
        Pace::RealTime => 2.0,
    };
    let rb = HeapRb::<f32>::new(ring_capacity(info.sample_rate, info.channels, seconds));
    let (producer, consumer) = rb.split();
    let shared = Arc::new(SourceShared::default());
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let shared = shared.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("emotty-reader".into())
            .spawn(move || read_loop(reader, producer, &shared, &stop, pace))
            .map_err(SourceError::Thread)?
    };
    Ok((
        Feed {
            info,
            consumer,
            shared,
        },
        SourceGuard::Reader {
            stop,
            thread: Some(thread),
        },
    ))
}

/// Moves decoded blocks into the ring until the input ends, fails or we are stopped.
fn read_loop(
    mut reader: Box<dyn AudioReader>,
    mut producer: HeapProd<f32>,
    shared: &SourceShared,
    stop: &AtomicBool,
    pace: Pace,
) {
    let spec = reader.spec();
    let channels = spec.channels.max(1) as usize;
    // Paced sources are released in 10 ms slices so the engine sees a smooth stream.
    let slice = match pace {
        Pace::RealTime => (spec.sample_rate as usize / 100).max(1) * channels,
        Pace::Fast => usize::MAX,
    };
    let started = Instant::now();
    let mut frames_sent: u64 = 0;
    let mut block = Vec::new();
    loop {
        if stop.load(Ordering::Acquire) {
            break;
        }
        match reader.read_block(&mut block) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                shared.fail(SourceFailure::Decode(e.to_string()));
                return;
            }
        }
        for piece in block.chunks(slice.min(block.len().max(1))) {
            if pace == Pace::RealTime {
                let due = Duration::from_secs_f64(frames_sent as f64 / spec.sample_rate as f64);
                let elapsed = started.elapsed();
                if due > elapsed {
                    std::thread::sleep(due - elapsed);
                }
            }
            if !push_all(&mut producer, piece, stop) {
                shared.finish();
                return;
            }
            shared
                .written
                .fetch_add(piece.len() as u64, Ordering::Relaxed);
            shared.wake_consumer();
            frames_sent += (piece.len() / channels) as u64;
        }
    }
    shared.finish();
}

/// Pushes every sample, waiting for room; false if stopped meanwhile.
fn push_all(producer: &mut HeapProd<f32>, mut samples: &[f32], stop: &AtomicBool) -> bool {
    while !samples.is_empty() {
        let n = producer.push_slice(samples);
        samples = &samples[n..];
        if !samples.is_empty() {
            if stop.load(Ordering::Acquire) {
                return false;
            }
            // The ring holds seconds of audio: a millisecond of sleep never starves the
            // consumer, and waiting is what a fast file source must do instead of dropping.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    true
}

/// Fraction of the ring currently occupied, for stats.
pub fn ring_fill(consumer: &HeapCons<f32>) -> f32 {
    consumer.occupied_len() as f32 / consumer.capacity().get() as f32
}
