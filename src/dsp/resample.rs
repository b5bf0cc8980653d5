//! Downmix and resampling: turns whatever the source delivers into the mono 16 kHz
//! stream the model was trained on.
//!
//! Sources do not agree on a format. USB microphones often refuse anything but 48 kHz
//! stereo, files arrive at 44.1 kHz, telephone recordings at 8 kHz, lab hardware at rates
//! like 24414 Hz. Capturing at the device's native format and converting here, on the
//! analysis thread, is the only way to support all of them; asking the device for 16 kHz
//! mono fails on many of them.
//!
//! The conversion has two properties the rest of the engine relies on:
//!
//! * **The band the features use survives, and nothing folds into it.** The MFCC front end
//!   looks at 0–8 kHz. Going to 16 kHz, the anti-aliasing filter is flat to 0.001 dB up to
//!   7.5 kHz (−0.1 dB at 7.8 kHz), and everything that would alias, from 8 kHz up, comes
//!   out more than 120 dB down. Rubato's `Fft::new` defaults put the cutoff at 6.7 kHz for
//!   48 kHz input (−50 dB at 7.5 kHz), which measurably changes the MFCCs the model sees;
//!   the settings here were picked by measuring (see `tests/resample.rs`).
//! * **Timestamps stay right.** Output sample `k` is the signal at input time
//!   `k / output_rate`: the filter's delay is trimmed from the start of every stream, and
//!   [`Resampler::finish`] flushes the tail so the stream is as long as the input was.
//!
//! Two rubato engines are used. Rates with a usable common divisor (every common rate:
//! 8, 11.025, 22.05, 32, 44.1, 48, 88.2, 96, 192 kHz…) go through rubato's synchronous
//! FFT resampler, which is exact in timing and cheap. For rates whose ratio to the output
//! rate only reduces to a huge fraction (24414 → 16000 is 12207 : 8000) the FFT block
//! would be a second long, so those go through rubato's asynchronous windowed-sinc
//! resampler, which has low latency at any ratio and whose delay is compensated to within
//! half an output sample.
//!
//! Latency: output comes in blocks of 32–64 ms of audio (48 kHz: 32 ms), and the filter
//! looks half a block ahead, so a sample reaches the model at most about 1.5 blocks
//! (48 ms at 48 kHz) after it was captured.

use std::fmt;

use audioadapter_buffers::direct::SequentialSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

/// The lowest sample rate [`Resampler::new`] accepts, in Hz.
///
/// Nothing real records below this (telephone audio is 8 kHz); the bound keeps the
/// filter and block sizes derived from the rate ratio within sane limits.
pub const MIN_RATE: u32 = 1_000;

/// The highest sample rate [`Resampler::new`] accepts, in Hz: the highest PCM rate that
/// audio interfaces offer.
pub const MAX_RATE: u32 = 768_000;

/// Window for the anti-aliasing filter.
///
/// Blackman-Harris has about −92 dB side lobes: far below the 60 dB of alias rejection
/// the features need, yet with half the transition width of rubato's default (the squared
/// Blackman-Harris, whose −180 dB side lobes are wasted on f32 samples anyway). A narrow
/// transition is what keeps 7–8 kHz intact with a short filter. Plain Blackman (−58 dB)
/// would not reach 60 dB of rejection.
const WINDOW: WindowFunction = WindowFunction::BlackmanHarris;

/// Length of the anti-aliasing filter in samples at the lower of the two rates.
///
/// A windowed sinc's transition band is about `8 / len` of that rate for this window:
/// 250 Hz at 16 kHz. Rubato places the transition just below the output Nyquist
/// frequency, so the passband is flat up to about 7.8 kHz.
const FILTER_LEN: usize = 512;

/// The FFT resampler processes whole blocks; a block longer than this makes output
/// arrive in bursts too coarse for a live display (24414 → 16000 would need 1 s blocks),
/// so such rate pairs use the sinc resampler instead.
const MAX_FFT_BLOCK_MS: usize = 100;

/// Input frames the sinc resampler takes per call: about 20 ms at 48 kHz, small enough
/// to keep latency low, large enough to amortise the per-call overhead.
const SINC_CHUNK: usize = 1024;

/// Upper bound on the sinc filter length, to keep the cost bounded for extreme ratios.
const SINC_MAX_LEN: usize = 4096;

/// Intermediate sinc phases per input sample; with cubic interpolation between them the
/// interpolation error is far below the filter's own stop band.
const SINC_OVERSAMPLING: usize = 128;

/// Averages interleaved channels into mono, appending to `out` (cleared first).
///
/// Averaging (rather than summing, or taking the first channel) keeps the level of a
/// centred voice the same as in a mono capture and never clips, and a microphone that
/// only records on one channel of a stereo pair still comes through (6 dB quieter).
/// A trailing partial frame (fewer than `channels` samples) is ignored, as is everything
/// when `channels` is 0: the caller must hand over whole frames.
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    out.clear();
    match channels {
        0 => {}
        1 => out.extend_from_slice(interleaved),
        2 => out.extend(
            interleaved
                .chunks_exact(2)
                .map(|frame| (frame[0] + frame[1]) * 0.5),
        ),
        _ => {
            let scale = 1.0 / channels as f32;
            out.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// Why a resampler could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// The source reported a rate of 0 Hz (a broken header or device description).
    #[error("cannot resample from 0 Hz")]
    ZeroInputRate,
    /// The requested output rate was 0 Hz.
    #[error("cannot resample to 0 Hz")]
    ZeroOutputRate,
    /// A rate outside [`MIN_RATE`]..=[`MAX_RATE`].
    #[error("cannot resample at {rate} Hz: supported rates are {min} to {max} Hz", min = MIN_RATE, max = MAX_RATE)]
    UnsupportedRate {
        /// The offending rate, in Hz.
        rate: u32,
    },
    /// Rubato rejected the settings derived from the two rates.
    #[error("cannot set up resampling from {input_rate} Hz to {output_rate} Hz")]
    Setup {
        /// Input rate, in Hz.
        input_rate: u32,
        /// Output rate, in Hz.
        output_rate: u32,
        /// What rubato said.
        #[source]
        source: rubato::ResamplerConstructionError,
    },
    /// Rubato failed while processing a block.
    #[error("resampling failed")]
    Process(#[from] rubato::ResampleError),
    /// An internal buffer did not fit the block size (a bug in this module).
    #[error("resampling buffer has the wrong size")]
    Buffer(#[from] audioadapter_buffers::SizeError),
    /// Flushing the end of a stream did not produce the expected output (a bug).
    #[error("resampler stopped producing output while flushing the end of the stream")]
    Stalled,
}

/// Which rubato engine a [`Resampler`] uses, and how it was configured.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Design {
    /// Equal rates: samples are copied.
    Identity,
    /// Rubato's FFT resampler on fixed blocks of `block_in` input samples.
    Fft {
        block_in: usize,
        block_out: usize,
        cutoff_hz: f64,
    },
    /// Rubato's windowed-sinc resampler with a `sinc_len`-tap filter at the input rate.
    Sinc { sinc_len: usize, cutoff_hz: f64 },
}

/// The state of a non-identity resampler.
struct Stage {
    kernel: Box<dyn rubato::Resampler<f32>>,
    /// Input samples waiting for a full block; capacity `chunk_in`, never grows.
    pending: Vec<f32>,
    /// Input samples the kernel takes per call (fixed for the chosen modes).
    chunk_in: usize,
    /// Kernel output for one call, sized to the kernel's maximum.
    scratch: Vec<f32>,
    /// Output samples of filter delay to drop at the start of a stream.
    delay: usize,
    /// Delay samples still to drop in this stream.
    to_trim: usize,
    /// Filter length in input samples, to bound the flush loop.
    filter_len_in: usize,
    /// Input samples taken in this stream.
    consumed: u64,
    /// Output samples handed out in this stream.
    produced: u64,
}

/// Streaming mono resampler from the source rate to the model rate.
///
/// Construction allocates everything; [`process`](Self::process) and
/// [`finish`](Self::finish) only ever grow the caller's `out` (which stops once it has
/// enough capacity), so the analysis thread does not touch the allocator in steady
/// state. Output depends only on the samples fed, not on how they were chunked.
pub struct Resampler {
    input_rate: u32,
    output_rate: u32,
    design: Design,
    stage: Option<Stage>,
}

impl fmt::Debug for Resampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Resampler");
        s.field("input_rate", &self.input_rate)
            .field("output_rate", &self.output_rate)
            .field("design", &self.design);
        if let Some(stage) = &self.stage {
            s.field("chunk_in", &stage.chunk_in)
                .field("delay_out", &stage.delay);
        }
        s.finish()
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler {
    /// Builds a resampler from `input_rate` to `output_rate` (Hz).
    ///
    /// Fails on a 0 Hz rate (a broken header or device) or one outside
    /// [`MIN_RATE`]..=[`MAX_RATE`], rather than producing garbage.
    pub fn new(input_rate: u32, output_rate: u32) -> Result<Self, ResampleError> {
        if input_rate == 0 {
            return Err(ResampleError::ZeroInputRate);
        }
        if output_rate == 0 {
            return Err(ResampleError::ZeroOutputRate);
        }
        for rate in [input_rate, output_rate] {
            if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                return Err(ResampleError::UnsupportedRate { rate });
            }
        }
        if input_rate == output_rate {
            return Ok(Self {
                input_rate,
                output_rate,
                design: Design::Identity,
                stage: None,
            });
        }
        let setup = |source| ResampleError::Setup {
            input_rate,
            output_rate,
            source,
        };
        let (fs_in, fs_out) = (input_rate as usize, output_rate as usize);
        let g = gcd(fs_in, fs_out);
        let (step_in, step_out) = (fs_in / g, fs_out / g);
        // The FFT block must be a whole number of `step_in : step_out` units, long enough
        // for a FILTER_LEN filter. An even number of units makes both block sizes even,
        // so the filter delay (half a block) is a whole number of samples on both sides
        // and can be trimmed exactly.
        let mut units = FILTER_LEN.div_ceil(step_in.min(step_out));
        units += units % 2;
        // A block lasts `units * step_in / fs_in = units / g` seconds.
        let (kernel, design, filter_len_in): (Box<dyn rubato::Resampler<f32>>, _, _) =
            if units * 1000 <= MAX_FFT_BLOCK_MS * g {
                let fft = Fft::<f32>::new_custom(
                    fs_in,
                    fs_out,
                    units * step_in,
                    1,
                    1,
                    WINDOW,
                    FixedSync::Both,
                )
                .map_err(setup)?;
                let design = Design::Fft {
                    block_in: fft.fft_size_in(),
                    block_out: fft.fft_size_out(),
                    cutoff_hz: f64::from(fft.cutoff()) * fs_in as f64 / 2.0,
                };
                let len = fft.fft_size_in();
                (Box::new(fft), design, len)
            } else {
                // Same relative transition width as the FFT path: FILTER_LEN taps at the
                // lower rate, which for downsampling means proportionally more taps at
                // the input rate.
                let sinc_len = (FILTER_LEN * fs_in)
                    .div_ceil(fs_out)
                    .clamp(FILTER_LEN, SINC_MAX_LEN)
                    .next_multiple_of(8);
                let params = SincInterpolationParameters {
                    sinc_len,
                    f_cutoff: None,
                    oversampling_factor: SINC_OVERSAMPLING,
                    interpolation: SincInterpolationType::Cubic,
                    window: WINDOW,
                };
                let ratio = fs_out as f64 / fs_in as f64;
                let sinc =
                    Async::<f32>::new_sinc(ratio, 1.0, &params, SINC_CHUNK, 1, FixedAsync::Input)
                        .map_err(setup)?;
                let cutoff = sinc.cutoff().map_or(f64::NAN, f64::from);
                let design = Design::Sinc {
                    sinc_len,
                    cutoff_hz: cutoff * fs_in as f64 / 2.0,
                };
                (Box::new(sinc), design, sinc_len)
            };
        let delay = match design {
            Design::Sinc { sinc_len, .. } => sinc_delay(sinc_len, fs_out as f64 / fs_in as f64),
            _ => kernel.output_delay(),
        };
        let chunk_in = kernel.input_frames_next();
        let scratch = vec![0.0; kernel.output_frames_max()];
        Ok(Self {
            input_rate,
            output_rate,
            design,
            stage: Some(Stage {
                kernel,
                pending: Vec::with_capacity(chunk_in),
                chunk_in,
                scratch,
                delay,
                to_trim: delay,
                filter_len_in,
                consumed: 0,
                produced: 0,
            }),
        })
    }

    /// The source rate this resampler was built for, in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// The rate of the samples it produces, in Hz.
    pub fn output_rate(&self) -> u32 {
        self.output_rate
    }

    /// Consumes any number of input samples; appends every output sample that is ready to
    /// `out` (does NOT clear it). Identity copy when rates are equal. Output is
    /// delay-compensated: output sample k corresponds to input time k / output_rate (the
    /// filter's initial delay is trimmed), so timestamps downstream stay right.
    ///
    /// Output comes in blocks (32–64 ms of audio), so a call may append nothing; the samples are not lost, they come out with a later call or
    /// [`finish`](Self::finish).
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let Some(stage) = &mut self.stage else {
            out.extend_from_slice(input);
            return Ok(());
        };
        let mut rest = input;
        while !rest.is_empty() {
            let take = (stage.chunk_in - stage.pending.len()).min(rest.len());
            let (head, tail) = rest.split_at(take);
            stage.pending.extend_from_slice(head);
            stage.consumed += take as u64;
            rest = tail;
            if stage.pending.len() == stage.chunk_in {
                stage.run(None, u64::MAX, out)?;
                stage.pending.clear();
            }
        }
        Ok(())
    }

    /// End of stream: flushes the tail so that the total output length is
    /// round(total_input * output_rate / input_rate) (±1), then resets for a new stream.
    ///
    /// The length is exact here (no ±1), so a file resampled in one go has exactly the
    /// duration it had at the source rate.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let (fs_in, fs_out) = (u128::from(self.input_rate), u128::from(self.output_rate));
        let Some(stage) = &mut self.stage else {
            return Ok(());
        };
        let expected = (u128::from(stage.consumed) * fs_out + fs_in / 2) / fs_in;
        // consumed < 2^64 and the ratio is at most 768, so this fits.
        let expected = expected as u64;
        let result = stage.flush(expected, fs_out as f64 / fs_in as f64, out);
        self.reset();
        result
    }

    /// Forgets the current stream (buffered input and filter history), so the next
    /// sample fed starts a new stream at time zero.
    pub fn reset(&mut self) {
        if let Some(stage) = &mut self.stage {
            stage.kernel.reset();
            stage.pending.clear();
            stage.to_trim = stage.delay;
            stage.consumed = 0;
            stage.produced = 0;
        }
    }
}

/// Delay of rubato's sinc resampler in output samples, rounded to the nearest sample.
///
/// Worked out from rubato 5.0.1's indexing (`asynchro.rs`, `sinc.rs`): the filter is
/// centred `sinc_len / 2` taps into its window, the first output is taken one output step
/// after index `-(sinc_len - 1)`, and each of the `SINC_OVERSAMPLING` phases sits
/// `1 / SINC_OVERSAMPLING` input samples later than its index suggests. Output `j` is
/// thus the input at time `(j - d) / ratio` with
/// `d = ratio * sinc_len / 2 - 1 - ratio / SINC_OVERSAMPLING`. The onset and phase tests
/// measure this.
fn sinc_delay(sinc_len: usize, ratio: f64) -> usize {
    let d = ratio * sinc_len as f64 / 2.0 - 1.0 - ratio / SINC_OVERSAMPLING as f64;
    d.round().max(0.0) as usize
}

impl Stage {
    /// Runs the kernel on `pending` (a full block, or `Some(valid)` samples followed by
    /// silence) and appends its output, minus the startup delay, to `out`, never letting
    /// the stream's output exceed `cap` samples.
    fn run(
        &mut self,
        partial: Option<usize>,
        cap: u64,
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        let frames = partial.unwrap_or(self.chunk_in);
        let input = SequentialSlice::new(&self.pending[..frames], 1, frames)?;
        let scratch_len = self.scratch.len();
        let mut output = SequentialSlice::new_mut(&mut self.scratch[..], 1, scratch_len)?;
        let indexing = partial.map(|valid| Indexing::new().partial_len(valid));
        let (_, produced) =
            self.kernel
                .process_into_buffer(&input, &mut output, indexing.as_ref())?;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        let room = cap.saturating_sub(self.produced);
        let take = ((produced - skip) as u64).min(room) as usize;
        out.extend_from_slice(&self.scratch[skip..skip + take]);
        self.produced += take as u64;
        Ok(())
    }

    /// Pushes the buffered input and then silence through the kernel until the stream has
    /// produced `expected` samples.
    fn flush(
        &mut self,
        expected: u64,
        ratio: f64,
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        if self.produced >= expected {
            return Ok(());
        }
        // Enough input to cover the missing output, the delay and the filter's reach, in
        // blocks, with slack; more pumps than this means the kernel stopped advancing.
        let missing = (expected - self.produced) as f64 + self.to_trim as f64 + 1.0;
        let input_needed = missing / ratio + (self.filter_len_in + self.chunk_in) as f64;
        let max_pumps = (input_needed / self.chunk_in as f64).ceil() as usize + 4;
        let valid = self.pending.len();
        self.run(Some(valid), expected, out)?;
        self.pending.clear();
        for _ in 0..max_pumps {
            if self.produced >= expected {
                return Ok(());
            }
            self.run(Some(0), expected, out)?;
        }
        if self.produced >= expected {
            Ok(())
        } else {
            Err(ResampleError::Stalled)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_units_give_even_blocks_and_exact_delay() {
        for rate in [
            8000, 11025, 22050, 32000, 44100, 48000, 88200, 96000, 192000,
        ] {
            let r = Resampler::new(rate, 16000).unwrap();
            let Design::Fft {
                block_in,
                block_out,
                ..
            } = r.design
            else {
                panic!("{rate} Hz should use the FFT resampler, got {:?}", r.design);
            };
            assert_eq!(block_in % 2, 0, "{rate}");
            assert_eq!(block_out % 2, 0, "{rate}");
            assert_eq!(block_in as u64 * 16000, block_out as u64 * u64::from(rate));
            assert_eq!(r.stage.as_ref().unwrap().delay, block_out / 2);
        }
    }

    #[test]
    fn awkward_ratios_use_the_sinc_resampler() {
        for rate in [24414, 44056, 11127] {
            let r = Resampler::new(rate, 16000).unwrap();
            assert!(matches!(r.design, Design::Sinc { .. }), "{rate}: {r:?}");
        }
    }
}
