//! The feature front end: mono samples in, one log-mel / MFCC frame out every hop.
//!
//! The model was trained on features computed by librosa 0.11, so this module's job
//! is to reproduce exactly that computation, but incrementally: audio arrives in
//! chunks of any size (a microphone callback, a pipe, a whole file), and every frame
//! must come out the moment its last sample has arrived, identical to what librosa
//! computes for the same frame of the whole clip. The settings are those of
//!
//! ```python
//! S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, win_length=400,
//!         hop_length=160, window='hann', center=True, pad_mode='constant', power=2.0,
//!         n_mels=40, fmin=0, fmax=8000, htk=False, norm='slaney')
//! librosa.feature.mfcc(S=librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None),
//!         n_mfcc=40, dct_type=2, norm='ortho')
//! ```
//!
//! but every number above comes from [`FrontendConfig`], which is read from a model's
//! metadata, so a model trained with another front end needs no code change.
//!
//! Two choices differ from a textbook MFCC and are deliberate:
//!
//! * There is no `top_db` clamp. librosa's default clamps each value to 80 dB below
//!   the *whole clip's* peak, which a stream cannot know; instead the floor is the
//!   fixed `amin` of 1e-10 (-100 dB), which needs no look-ahead.
//! * The FFT runs in `f64`, as librosa's does (it multiplies the float32 frame by a
//!   float64 window). A loud frame can hold bins 120 dB below its peak (a pure tone
//!   next to int16 quantisation noise), and an `f32` FFT's rounding noise is not far
//!   enough below the peak for those: on the parity fixture's full-scale 200 Hz tone
//!   an `f32` FFT puts c0 off by 0.024, 24 times the tolerance. Everything after the
//!   power spectrum is relative-error friendly and stays in `f32`, except the DCT
//!   sums, which are accumulated in `f64` so that our error is negligible next to
//!   librosa's own float32 rounding (about 1e-4).
//!
//! The per-frame path does no allocation: the window, a sparse mel filterbank (only
//! each filter's non-zero bins), the DCT matrix, the FFT plan and all scratch buffers
//! are built once in [`Frontend::new`]. Memory is bounded on an endless stream: only
//! the last `n_fft` samples are kept.

use std::sync::Arc;

use realfft::RealToComplex;
use realfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

/// The power floor of `power_to_db` (librosa's `amin`): -100 dB. Also what pure
/// digital silence maps to.
const AMIN: f32 = 1e-10;

/// Upper bound on `n_fft`. Settings come from model metadata, i.e. from a file; a
/// typo such as an extra zero must give an error, not a multi-gigabyte allocation.
const MAX_N_FFT: usize = 1 << 16;

/// What a frame's `features` hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// Mel-frequency cepstral coefficients: the orthonormal DCT-II of the log-mel
    /// frame, first `n_mfcc` coefficients.
    Mfcc,
    /// The log-mel frame itself (`n_mels` values in dB).
    Logmel,
}

/// Front-end settings.
///
/// These are read from a model's metadata (JSON via serde), so that a model trained
/// with another front end runs without a code change. Missing fields take the
/// defaults (the settings in the module docs); unknown fields are an error, because a
/// misspelt setting silently replaced by its default would give a model the wrong
/// features without any symptom other than bad predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    /// Sample rate (Hz) of the samples given to [`Frontend::push`].
    pub sample_rate: u32,
    /// FFT size in samples; also the span of the zero padding (`n_fft / 2` at each
    /// end of a stream, as librosa's `center=True`).
    pub n_fft: usize,
    /// Length of the periodic Hann window, centred in the `n_fft` frame.
    pub win_length: usize,
    /// Samples between frame starts.
    pub hop_length: usize,
    /// Number of mel bands (Slaney mel scale, Slaney area normalisation).
    pub n_mels: usize,
    /// Number of cepstral coefficients kept; unused for [`FeatureKind::Logmel`].
    pub n_mfcc: usize,
    /// Lower edge of the lowest mel band (Hz).
    pub fmin: f32,
    /// Upper edge of the highest mel band (Hz); at most `sample_rate / 2`.
    pub fmax: f32,
    /// What [`Frame::features`] holds.
    pub features: FeatureKind,
    /// Append a pitch track to each frame for the model: log2(F0 / 100 Hz), held
    /// through unvoiced stretches, and the voicing strength (see
    /// `engine::analyzer::FeatureStream`). The front end itself does not compute it;
    /// the flag lives here because it is part of what a model's input frames are.
    pub pitch: bool,
}

/// Values per frame the pitch track adds when [`FrontendConfig::pitch`] is set.
pub const PITCH_FEATURES: usize = 2;

impl Default for FrontendConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 512,
            win_length: 400,
            hop_length: 160,
            n_mels: 40,
            n_mfcc: 40,
            fmin: 0.0,
            fmax: 8_000.0,
            features: FeatureKind::Mfcc,
            pitch: false,
        }
    }
}

impl FrontendConfig {
    /// Checks that the settings describe a computable front end.
    ///
    /// Settings come from files, so every way they can be wrong is an error here
    /// rather than a panic or a silent garbage feature later.
    pub fn validate(&self) -> Result<(), FrontendError> {
        let bad = |reason: String| Err(FrontendError::InvalidConfig(reason));
        if self.sample_rate == 0 {
            return bad("sample_rate must be positive".into());
        }
        if self.win_length == 0 {
            return bad("win_length must be positive".into());
        }
        if self.win_length > self.n_fft {
            return bad(format!(
                "win_length ({}) exceeds n_fft ({})",
                self.win_length, self.n_fft
            ));
        }
        if self.n_fft > MAX_N_FFT {
            return bad(format!(
                "n_fft ({}) exceeds the supported maximum ({MAX_N_FFT})",
                self.n_fft
            ));
        }
        if self.hop_length == 0 {
            return bad("hop_length must be positive".into());
        }
        if self.n_mels == 0 {
            return bad("n_mels must be positive".into());
        }
        let n_bins = self.n_fft / 2 + 1;
        if self.n_mels > n_bins {
            return bad(format!(
                "n_mels ({}) exceeds the {n_bins} frequency bins of n_fft ({})",
                self.n_mels, self.n_fft
            ));
        }
        if self.features == FeatureKind::Mfcc {
            if self.n_mfcc == 0 {
                return bad("n_mfcc must be positive".into());
            }
            if self.n_mfcc > self.n_mels {
                return bad(format!(
                    "n_mfcc ({}) exceeds n_mels ({})",
                    self.n_mfcc, self.n_mels
                ));
            }
        }
        if !self.fmin.is_finite() || self.fmin < 0.0 {
            return bad(format!(
                "fmin ({}) must be a non-negative number",
                self.fmin
            ));
        }
        let nyquist = self.sample_rate as f32 / 2.0;
        if !self.fmax.is_finite() || self.fmax > nyquist {
            return bad(format!(
                "fmax ({}) must be at most half the sample rate ({nyquist})",
                self.fmax
            ));
        }
        if self.fmin >= self.fmax {
            return bad(format!(
                "fmin ({}) must be below fmax ({})",
                self.fmin, self.fmax
            ));
        }
        Ok(())
    }

    /// Length of [`Frame::features`]: `n_mfcc` for MFCCs, `n_mels` for log-mel.
    pub fn feature_dim(&self) -> usize {
        match self.features {
            FeatureKind::Mfcc => self.n_mfcc,
            FeatureKind::Logmel => self.n_mels,
        }
    }

    /// Values per frame the model receives: [`Self::feature_dim`] plus the pitch track
    /// when enabled.
    pub fn model_dim(&self) -> usize {
        self.feature_dim() + if self.pitch { PITCH_FEATURES } else { 0 }
    }

    /// Frames per second of audio (`sample_rate / hop_length`), e.g. to turn a model's
    /// window length in seconds into frames.
    pub fn frames_per_second(&self) -> f64 {
        f64::from(self.sample_rate) / self.hop_length as f64
    }

    /// Centre frequency (Hz) of each mel band, lowest first (for spectrogram axis
    /// labels). Empty if the settings are invalid.
    pub fn mel_center_frequencies(&self) -> Vec<f32> {
        if self.validate().is_err() {
            return Vec::new();
        }
        let edges = mel_band_edges(self);
        edges[1..=self.n_mels].iter().map(|&f| f as f32).collect()
    }

    /// Number of frames librosa (and [`features_of_clip`]) gives for a clip of
    /// `num_samples` samples: the clip padded by `n_fft / 2` zeros at both ends, cut
    /// into every full `n_fft` frame at a `hop_length` stride. Zero for an empty clip.
    fn frames_in_clip(&self, num_samples: usize) -> usize {
        if num_samples == 0 {
            return 0;
        }
        let padded = num_samples + 2 * (self.n_fft / 2);
        if padded < self.n_fft {
            0
        } else {
            1 + (padded - self.n_fft) / self.hop_length
        }
    }
}

/// Why a front end could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// The settings (usually from a model's metadata) are inconsistent or out of range.
    #[error("invalid front-end settings: {0}")]
    InvalidConfig(String),
}

/// One analysis frame, borrowed from the front end's internal buffers, so that
/// producing a frame allocates nothing. Copy what you need before the next frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Frame number since the stream (re)started. The frame is centred on input
    /// sample `index * hop_length`, i.e. at `index * hop_length / sample_rate` s.
    pub index: u64,
    /// `n_mels` values: the mel power in dB (`10 log10(max(1e-10, power))`), lowest
    /// band first. Used for the spectrogram view whatever the feature kind.
    pub mel_db: &'a [f32],
    /// `feature_dim` values: the MFCCs, or the same values as `mel_db` for
    /// [`FeatureKind::Logmel`].
    pub features: &'a [f32],
}

/// Where the samples fed to [`Frontend::feed`] come from: the caller's slice, or the
/// end-of-stream zero padding (generated, so that `finish` does not allocate).
#[derive(Clone, Copy)]
enum Source<'a> {
    Samples(&'a [f32]),
    Zeros(usize),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Samples(s) => s.len(),
            Source::Zeros(n) => *n,
        }
    }
}

/// One mel filter, stored sparsely: its weights for the contiguous run of FFT bins
/// where it is non-zero (a triangle covers a handful of bins out of `n_fft / 2 + 1`).
#[derive(Debug, Clone, Copy)]
struct MelFilter {
    /// First FFT bin covered.
    first_bin: usize,
    /// Offset of this filter's weights in `Frontend::mel_weights`.
    offset: usize,
    /// Number of bins covered (0 for a filter that falls between two bins).
    len: usize,
}

/// Streaming log-mel / MFCC extractor. See the module docs for what it computes.
pub struct Frontend {
    config: FrontendConfig,
    /// The last `n_fft` samples of the zero-padded stream, as a circular buffer:
    /// padded sample `p` lives at `ring[p % n_fft]`.
    ring: Vec<f32>,
    /// Padded samples received since the stream started, including the virtual
    /// `n_fft / 2` leading zeros.
    filled: u64,
    /// Value of `filled` at which the next frame is complete.
    next_frame_end: u64,
    /// Index of the next frame to emit.
    next_index: u64,
    /// Whether any real sample has arrived since the stream started (an empty
    /// stream gives no frames, not one frame of padding).
    has_samples: bool,
    /// Offset of the window inside the `n_fft` frame (`(n_fft - win_length) / 2`).
    win_offset: usize,
    /// The periodic Hann window of `win_length`, exactly as scipy computes it.
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    fft_in: Vec<f64>,
    fft_out: Vec<Complex<f64>>,
    fft_scratch: Vec<Complex<f64>>,
    /// Power spectrum, `n_fft / 2 + 1` bins.
    power: Vec<f32>,
    mel_filters: Vec<MelFilter>,
    mel_weights: Vec<f32>,
    /// Orthonormal DCT-II basis, transposed: `n_mels` rows of `n_mfcc` (empty for
    /// log-mel), so that the transform is a sum of scaled rows whose lanes are
    /// independent (a dot product per coefficient would be one long serial chain
    /// of f64 additions: it measured 1.5 µs a frame).
    dct_t: Vec<f64>,
    /// The DCT's f64 accumulators, `n_mfcc` long.
    dct_acc: Vec<f64>,
    mel_db: Vec<f32>,
    mfcc: Vec<f32>,
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontend")
            .field("config", &self.config)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl Frontend {
    /// Builds a front end: validates the settings and precomputes the window, the
    /// mel filterbank, the DCT matrix, the FFT plan and every buffer the per-frame
    /// path needs.
    pub fn new(config: FrontendConfig) -> Result<Self, FrontendError> {
        config.validate()?;
        let n_fft = config.n_fft;
        let n_bins = n_fft / 2 + 1;

        let fft = crate::dsp::fft::forward::<f64>(n_fft);
        let fft_in = fft.make_input_vec();
        let fft_out = fft.make_output_vec();
        let fft_scratch = fft.make_scratch_vec();

        let (mel_filters, mel_weights) = sparse_mel_filterbank(&config);
        let dct_t = match config.features {
            FeatureKind::Mfcc => dct_ortho_matrix_transposed(config.n_mfcc, config.n_mels),
            FeatureKind::Logmel => Vec::new(),
        };
        let mfcc_len = match config.features {
            FeatureKind::Mfcc => config.n_mfcc,
            FeatureKind::Logmel => 0,
        };

        let mut frontend = Self {
            ring: vec![0.0; n_fft],
            filled: 0,
            next_frame_end: 0,
            next_index: 0,
            has_samples: false,
            win_offset: (n_fft - config.win_length) / 2,
            window: periodic_hann(config.win_length),
            fft,
            fft_in,
            fft_out,
            fft_scratch,
            power: vec![0.0; n_bins],
            mel_filters,
            mel_weights,
            dct_t,
            dct_acc: vec![0.0; mfcc_len],
            mel_db: vec![0.0; config.n_mels],
            mfcc: vec![0.0; mfcc_len],
            config,
        };
        frontend.reset();
        Ok(frontend)
    }

    /// The settings this front end was built with.
    pub fn config(&self) -> &FrontendConfig {
        &self.config
    }

    /// Feeds mono samples at `config.sample_rate`, in chunks of any size (one sample
    /// to minutes), and calls `on_frame` for every frame that became complete.
    ///
    /// Results do not depend on how the stream is chunked. Never allocates.
    /// Non-finite samples (NaN, infinities) are treated as silence, so that one bad
    /// sample from a decoder cannot poison the model's state.
    pub fn push(&mut self, samples: &[f32], on_frame: &mut dyn FnMut(&Frame<'_>)) {
        if samples.is_empty() {
            return;
        }
        self.has_samples = true;
        self.feed(Source::Samples(samples), on_frame);
    }

    /// Ends the stream: appends `n_fft / 2` zeros, exactly like librosa's
    /// `center=True` constant padding, and emits the remaining frames, so a whole
    /// clip of `len` samples gives `1 + len / hop_length` frames (for even `n_fft`),
    /// identical to librosa. A stream that received no samples gives no frames
    /// (librosa would give one frame of padding for an empty clip; a stream that
    /// never started has nothing to say). Leaves the front end reset for a new stream.
    pub fn finish(&mut self, on_frame: &mut dyn FnMut(&Frame<'_>)) {
        if self.has_samples {
            self.feed(Source::Zeros(self.config.n_fft / 2), on_frame);
        }
        self.reset();
    }

    /// Drops the current stream (e.g. on a device change) and starts a new one: the
    /// next sample pushed is the first of a clip, preceded by the virtual padding,
    /// and frame numbering restarts at 0.
    pub fn reset(&mut self) {
        let left_pad = (self.config.n_fft / 2) as u64;
        self.ring.fill(0.0);
        self.filled = left_pad;
        self.next_frame_end = self.config.n_fft as u64;
        self.next_index = 0;
        self.has_samples = false;
    }

    /// Appends samples to the ring, emitting each frame as soon as its last sample is
    /// in. Only the last `n_fft` samples before a frame end matter, so a long run is
    /// skipped down to those (this also handles `hop_length > n_fft`).
    fn feed(&mut self, source: Source<'_>, on_frame: &mut dyn FnMut(&Frame<'_>)) {
        let n_fft = self.config.n_fft;
        let total = source.len();
        let mut consumed = 0;
        while consumed < total {
            let to_frame_end = self.next_frame_end - self.filled;
            let take = usize::try_from(to_frame_end)
                .map_or(total - consumed, |need| need.min(total - consumed));
            let skip = take.saturating_sub(n_fft);
            let start = consumed + skip;
            let end = consumed + take;
            let mut pos = ((self.filled + skip as u64) % n_fft as u64) as usize;
            let mut at = start;
            while at < end {
                let run = (n_fft - pos).min(end - at);
                let dst = &mut self.ring[pos..pos + run];
                match source {
                    Source::Samples(s) => {
                        for (d, &x) in dst.iter_mut().zip(&s[at..at + run]) {
                            *d = if x.is_finite() { x } else { 0.0 };
                        }
                    }
                    Source::Zeros(_) => dst.fill(0.0),
                }
                at += run;
                pos = (pos + run) % n_fft;
            }
            consumed = end;
            self.filled += take as u64;
            if self.filled == self.next_frame_end {
                self.compute_frame();
                let features = match self.config.features {
                    FeatureKind::Mfcc => &self.mfcc[..],
                    FeatureKind::Logmel => &self.mel_db[..],
                };
                on_frame(&Frame {
                    index: self.next_index,
                    mel_db: &self.mel_db,
                    features,
                });
                self.next_index += 1;
                self.next_frame_end += self.config.hop_length as u64;
            }
        }
    }

    /// Computes `mel_db` (and `mfcc`) for the frame that ends at `filled`, i.e. the
    /// `n_fft` samples in the ring, oldest at `filled % n_fft`.
    fn compute_frame(&mut self) {
        let n_fft = self.config.n_fft;
        let oldest = (self.filled % n_fft as u64) as usize;

        // Window: zero outside [win_offset, win_offset + win_length). The FFT uses
        // its input as scratch, so the zeros are rewritten every frame.
        let (lead, rest) = self.fft_in.split_at_mut(self.win_offset);
        lead.fill(0.0);
        let (body, tail) = rest.split_at_mut(self.window.len());
        tail.fill(0.0);
        // The windowed span starts at ring[start] and may wrap around the ring's end.
        let start = (oldest + self.win_offset) % n_fft;
        let first_run = (n_fft - start).min(body.len());
        let (body_a, body_b) = body.split_at_mut(first_run);
        let (win_a, win_b) = self.window.split_at(first_run);
        let ring_a = &self.ring[start..start + first_run];
        let ring_b = &self.ring[..body_b.len()];
        for ((out, &w), &x) in body_a.iter_mut().zip(win_a).zip(ring_a) {
            *out = w * f64::from(x);
        }
        for ((out, &w), &x) in body_b.iter_mut().zip(win_b).zip(ring_b) {
            *out = w * f64::from(x);
        }

        let fft_ok = self
            .fft
            .process_with_scratch(&mut self.fft_in, &mut self.fft_out, &mut self.fft_scratch)
            .is_ok();
        // The buffers were sized by the plan itself in `new`, so this cannot fail;
        // if it somehow did, emit silence rather than stale or garbage values.
        debug_assert!(fft_ok, "FFT buffers sized by the plan were rejected");
        if fft_ok {
            for (p, c) in self.power.iter_mut().zip(&self.fft_out) {
                *p = (c.re * c.re + c.im * c.im) as f32;
            }
        } else {
            self.power.fill(0.0);
        }

        for (db, filter) in self.mel_db.iter_mut().zip(&self.mel_filters) {
            let weights = &self.mel_weights[filter.offset..filter.offset + filter.len];
            let bins = &self.power[filter.first_bin..filter.first_bin + filter.len];
            *db = 10.0 * dot(weights, bins).max(AMIN).log10();
        }

        if !self.mfcc.is_empty() {
            let n_mfcc = self.mfcc.len();
            self.dct_acc.fill(0.0);
            for (&x, row) in self.mel_db.iter().zip(self.dct_t.chunks_exact(n_mfcc)) {
                let x = f64::from(x);
                for (acc, &b) in self.dct_acc.iter_mut().zip(row) {
                    *acc += b * x;
                }
            }
            for (c, &acc) in self.mfcc.iter_mut().zip(&self.dct_acc) {
                *c = acc as f32;
            }
        }
    }
}

/// Features of a whole clip, as librosa computes them: `frames × feature_dim` values,
/// row-major. For tests and tools; the live path streams through [`Frontend`].
pub fn features_of_clip(
    config: &FrontendConfig,
    samples: &[f32],
) -> Result<Vec<f32>, FrontendError> {
    let mut frontend = Frontend::new(config.clone())?;
    let mut out = Vec::with_capacity(config.frames_in_clip(samples.len()) * config.feature_dim());
    let mut collect = |frame: &Frame<'_>| out.extend_from_slice(frame.features);
    frontend.push(samples, &mut collect);
    frontend.finish(&mut collect);
    Ok(out)
}

/// Dot product with four independent partial sums: a mel filter spans up to a few
/// dozen bins, and a single running sum would be one serial chain of additions.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let mut a4 = a.chunks_exact(4);
    let mut b4 = b.chunks_exact(4);
    for (x, y) in a4.by_ref().zip(b4.by_ref()) {
        for lane in 0..4 {
            acc[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Periodic ("fftbins") Hann window of `len` samples, computed the way scipy's
/// `get_window('hann', len, fftbins=True)` does (a symmetric window of `len + 1`
/// points from `0.5 + 0.5 cos(linspace(-pi, pi))`, last point dropped), so that the
/// window matches librosa's to the last bit.
fn periodic_hann(len: usize) -> Vec<f64> {
    linspace(-std::f64::consts::PI, std::f64::consts::PI, len + 1)
        .into_iter()
        .take(len)
        .map(|x| 0.5 + 0.5 * x.cos())
        .collect()
}

/// `numpy.linspace(start, stop, num)` (endpoint included), with numpy's arithmetic:
/// `i * step + start`, and the last point set to `stop` exactly.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = out.last_mut() {
        *last = stop;
    }
    out
}

/// Slaney's mel scale (librosa's `hz_to_mel(htk=False)`): linear below 1 kHz,
/// logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`] (librosa's `mel_to_hz(htk=False)`).
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// The `n_mels + 2` band edges (Hz) of librosa's `mel_frequencies`: band `i` rises
/// from edge `i`, peaks at edge `i + 1` and falls to zero at edge `i + 2`.
fn mel_band_edges(config: &FrontendConfig) -> Vec<f64> {
    let lo = hz_to_mel(f64::from(config.fmin));
    let hi = hz_to_mel(f64::from(config.fmax));
    linspace(lo, hi, config.n_mels + 2)
        .into_iter()
        .map(mel_to_hz)
        .collect()
}

/// librosa's `filters.mel(htk=False, norm='slaney')`, stored sparsely. The weights
/// are computed in `f64` and rounded to `f32` at the same two points as librosa
/// (the triangle, then the area normalisation).
fn sparse_mel_filterbank(config: &FrontendConfig) -> (Vec<MelFilter>, Vec<f32>) {
    let n_bins = config.n_fft / 2 + 1;
    // numpy.fft.rfftfreq: k * (1 / (n * d)) with d = 1 / sr.
    let bin_hz_step = 1.0 / (config.n_fft as f64 * (1.0 / f64::from(config.sample_rate)));
    let edges = mel_band_edges(config);
    let mut filters = Vec::with_capacity(config.n_mels);
    let mut weights = Vec::new();
    for band in 0..config.n_mels {
        let (left, centre, right) = (edges[band], edges[band + 1], edges[band + 2]);
        let enorm = 2.0 / (right - left);
        let offset = weights.len();
        let mut first_bin = None;
        for k in 0..n_bins {
            let hz = k as f64 * bin_hz_step;
            let lower = -(left - hz) / (centre - left);
            let upper = (right - hz) / (right - centre);
            let w = (0.0f64.max(lower.min(upper)) as f32) as f64;
            let w = (w * enorm) as f32;
            if w > 0.0 {
                let first = *first_bin.get_or_insert(k);
                // A triangle is contiguous; pad any (theoretical) interior gap.
                weights.resize(offset + (k - first), 0.0);
                weights.push(w);
            }
        }
        filters.push(MelFilter {
            first_bin: first_bin.unwrap_or(0),
            offset,
            len: weights.len() - offset,
        });
    }
    (filters, weights)
}

/// Orthonormal DCT-II basis (scipy's `dct(type=2, norm='ortho')`) for the first
/// `n_out` coefficients of an `n_in`-point transform, transposed: row `i` holds input
/// `i`'s weight in each coefficient.
fn dct_ortho_matrix_transposed(n_out: usize, n_in: usize) -> Vec<f64> {
    let n = n_in as f64;
    let mut m = Vec::with_capacity(n_out * n_in);
    for i in 0..n_in {
        for k in 0..n_out {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n);
            m.push(scale * angle.cos());
        }
    }
    m
}

#[cfg(test)]
mod tests;
