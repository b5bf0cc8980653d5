//! Voice activity detection.
//!
//! A window with too little speech must be reported as "no speech", never forced into an
//! emotion: silence, breathing and room noise carry no emotion, and a model asked about
//! them answers anyway. earshot is a small neural VAD in pure Rust (no C, no ONNX
//! runtime), robust to noise above about 3 dB SNR and thousands of times faster than real
//! time, so it costs nothing next to the emotion model.
//!
//! earshot works on 256-sample (16 ms) frames at 16 kHz; its network runs here on
//! features computed with realfft instead of earshot's slower portable FFT
//! ([`super::speechnet::SpeechNet`], same scores to 1e-4). This wrapper
//! buffers arbitrary chunks into those frames and adds:
//!
//! - An automatic gain in front of the network. earshot's features are absolute log-mel
//!   energies, so its verdict depends on the input level: measured on a quiet RAVDESS
//!   clip (peaks at -32 dBFS), the speech share fell from 32 % to 19 % at -10 dB and to
//!   0 at -20 dB. A microphone across the room is that quiet. The gain brings the loudest
//!   recent frame (a peak follower that decays by half every two seconds) to -20 dBFS,
//!   by at most +30 dB, so the network judges the shape of the sound, not its loudness.
//! - An absolute level floor: a frame quieter than [`VadConfig::floor_dbfs`] (before
//!   the gain) is never speech, so hiss in a silent room is not amplified into a voice.
//! - A voicing check. earshot takes low-passed noise for speech: fan-like rumble
//!   (white noise through a 270 Hz one-pole low-pass) came out 60 % "speech" at
//!   -20 dBFS. Emotion lives in voiced speech, and noise has no pitch, so a frame only
//!   counts as speech if a voiced frame (a clear autocorrelation peak between 70 and
//!   600 Hz, see [`Voicing`]) occurred within the last quarter second.
//! - A second way in for loud voiced sound. earshot scores intense speech poorly: on
//!   RAVDESS actor 06's strong fearful, angry and happy sentences (a woman shouting at
//!   300–380 Hz, 40–50 dB above the room) it gave 0.12–0.35 throughout the sentence
//!   and 0.4–0.6 to the room noise before it, so shouting came out as "no speech". A
//!   frame that is voiced recently and stands [`VadConfig::snr_db`] above the
//!   background (a noise-floor follower that drops at once and rises 2 dB a second)
//!   counts as speech as long as earshot gives it at least [`VadConfig::min_score`].
//!   Stationary noise cannot pass (it *is* the floor), and unvoiced noise fails the
//!   voicing check.

use std::sync::Arc;

use super::speechnet::SpeechNet;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealToComplex};

/// The sample rate earshot works at.
pub const VAD_RATE: u32 = 16_000;
/// Samples per VAD frame: the network's own frame ([`super::speechnet`] owns it, this
/// module builds on it).
pub use super::speechnet::VAD_FRAME;

/// Settings of the voice activity detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Score at or above which a frame counts as speech (earshot's default is 0.5).
    pub threshold: f32,
    /// Frames quieter than this RMS level (dBFS) are never speech.
    pub floor_dbfs: f32,
    /// Normalised autocorrelation peak at or above which a frame is voiced (Praat's
    /// default is 0.45; on the whitened spectrum used here peaks are sharper).
    pub voicing_threshold: f32,
    /// Level above the background (dB) at which a recently voiced frame is speech even
    /// when earshot's score is below `threshold` (intense speech, shouting).
    pub snr_db: f32,
    /// The lowest earshot score such a loud voiced frame may have.
    pub min_score: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            threshold: 0.5,
            floor_dbfs: -70.0,
            voicing_threshold: 0.5,
            snr_db: 15.0,
            min_score: 0.1,
        }
    }
}

/// A frame is speech only if a voiced frame occurred within this many frames (256 ms).
const VOICED_HANGOVER: u64 = 16;

/// Streaming voice activity detector over 16 kHz mono audio.
pub struct Vad {
    config: VadConfig,
    /// earshot's network (see [`SpeechNet`] for why not earshot's own detector).
    net: SpeechNet,
    frame: [f32; VAD_FRAME],
    filled: usize,
    frames_done: u64,
    /// Peak follower of frame RMS (linear), for the automatic gain.
    peak_rms: f32,
    voicing: Voicing,
    /// Index of the last voiced frame, if any.
    last_voiced: Option<u64>,
    /// Background level (dB) under the signal; `None` before the first frame.
    noise_floor_db: Option<f32>,
}

/// Above this [`Voicing::peak_share`] a frame is a tone, not a voice. Voiced frames of
/// shouting, the most tone-like speech (one strong harmonic near the first formant),
/// reach 0.90 at their 90th percentile; a sine's power fits in its 5 bins.
const MAX_PEAK_SHARE: f32 = 0.97;

/// How fast the noise floor rises (dB per 16 ms frame): 2 dB a second, so a second of
/// continuous speech lifts it by 2 dB, and the next pause between words brings it down.
const NOISE_FLOOR_RISE_DB: f32 = 2.0 * VAD_FRAME as f32 / VAD_RATE as f32;

/// Level the automatic gain brings the recent peak to (-20 dBFS).
const AGC_TARGET_RMS: f32 = 0.1;
/// Most gain the automatic gain applies (+30 dB).
const AGC_MAX_GAIN: f32 = 31.6;
/// Per-frame decay of the peak follower: half (-6 dB) in two seconds of 16 ms frames.
const AGC_DECAY: f32 = 0.994_47;

/// One decided VAD frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadFrame {
    /// Frame number since the stream started; it covers samples
    /// `[index * 256, index * 256 + 256)` at 16 kHz.
    pub index: u64,
    pub score: f32,
    pub speech: bool,
    /// Strength of periodicity (normalised autocorrelation peak, 0…1).
    pub voicing: f32,
    /// Fundamental frequency of a voiced frame, 0 when unvoiced.
    pub pitch_hz: f32,
    /// Mean square of the frame's samples (full scale = 1).
    pub mean_square: f32,
}

impl Vad {
    pub fn new(config: VadConfig) -> Self {
        Vad {
            config,
            net: SpeechNet::new(),
            frame: [0.0; VAD_FRAME],
            filled: 0,
            frames_done: 0,
            peak_rms: 0.0,
            voicing: Voicing::new(),
            last_voiced: None,
            noise_floor_db: None,
        }
    }

    pub fn config(&self) -> &VadConfig {
        &self.config
    }

    /// Feeds 16 kHz mono samples; calls `on_frame` for each completed 16 ms frame.
    pub fn push(&mut self, mut samples: &[f32], on_frame: &mut dyn FnMut(VadFrame)) {
        while !samples.is_empty() {
            let take = (VAD_FRAME - self.filled).min(samples.len());
            self.frame[self.filled..self.filled + take].copy_from_slice(&samples[..take]);
            self.filled += take;
            samples = &samples[take..];
            if self.filled == VAD_FRAME {
                on_frame(self.decide());
                self.filled = 0;
            }
        }
    }

    /// Starts over for a new stream.
    pub fn reset(&mut self) {
        self.net.reset();
        self.filled = 0;
        self.frames_done = 0;
        self.peak_rms = 0.0;
        self.voicing.reset();
        self.last_voiced = None;
        self.noise_floor_db = None;
    }

    fn decide(&mut self) -> VadFrame {
        let mut energy = 0.0f32;
        for s in self.frame.iter_mut() {
            // earshot wants [-1, 1]; resampling can overshoot full scale slightly.
            *s = s.clamp(-1.0, 1.0);
            energy += *s * *s;
        }
        let mean_square = energy / VAD_FRAME as f32;
        let rms_db = power_db(mean_square);
        let (mut voicing, period) = self.voicing.measure(&self.frame);
        if rms_db < self.config.floor_dbfs {
            // Periodicity found in near-silence (a hum at -80 dBFS) says nothing.
            voicing = 0.0;
        }
        let index = self.frames_done;
        let voiced = voicing >= self.config.voicing_threshold;
        if voiced {
            self.last_voiced = Some(index);
        }
        let pitch_hz = if voiced && period > 0.0 {
            VAD_RATE as f32 / period
        } else {
            0.0
        };
        let voiced_recently = self
            .last_voiced
            .is_some_and(|v| index - v < VOICED_HANGOVER);
        let rms = mean_square.sqrt();
        self.peak_rms = (self.peak_rms * AGC_DECAY).max(rms);
        if self.peak_rms > 0.0 {
            let gain = (AGC_TARGET_RMS / self.peak_rms).min(AGC_MAX_GAIN);
            for s in self.frame.iter_mut() {
                *s = (*s * gain).clamp(-1.0, 1.0);
            }
        }
        let score = self.net.predict(&self.frame);
        let floor = match self.noise_floor_db {
            Some(f) if rms_db >= f => f + NOISE_FLOOR_RISE_DB,
            _ => rms_db,
        };
        self.noise_floor_db = Some(floor);
        // A pure tone (a beep, a whistle, a hum) is periodic and can be loud, and earshot
        // scores a 440 Hz beep 0.7-0.9; a voice spreads its power over many harmonics.
        let tonal = self.voicing.peak_share() > MAX_PEAK_SHARE;
        let loud = rms_db - floor >= self.config.snr_db && score >= self.config.min_score;
        let speech = (score >= self.config.threshold || loud)
            && rms_db >= self.config.floor_dbfs
            && voiced_recently
            && !tonal;
        self.frames_done += 1;
        VadFrame {
            index,
            score,
            speech,
            voicing,
            pitch_hz,
            mean_square,
        }
    }
}

/// Periodicity of the last 32 ms, by normalised autocorrelation.
///
/// Boersma's method (the one Praat uses): the autocorrelation of the Hann-windowed
/// signal divided by the window's own autocorrelation, searched for its highest local
/// maximum between lags of 1.7 ms (600 Hz: shouting and children reach it) and
/// 14.3 ms (70 Hz). Requiring a local
/// maximum matters: low-passed noise has a high but monotonically falling
/// autocorrelation at short lags, and no peak. Computed by FFT (768 points: 512
/// samples plus the longest lag, so the circular correlation does not wrap), on a
/// whitened spectrum (see `measure`).
pub struct Voicing {
    history: [f32; Self::LEN],
    window: [f32; Self::LEN],
    /// The window's normalised autocorrelation at each lag up to MAX_LAG.
    window_acf: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    buf: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    prefix: Vec<f32>,
    /// Normalised autocorrelation by lag (scratch for `measure`).
    norm: Vec<f32>,
    /// Share of the 60 Hz-4 kHz power in the strongest 100 Hz (5 bins) of the last
    /// measured frame: near 1 for a pure tone, well below for a voice's harmonics.
    peak_share: f32,
}

impl Voicing {
    const LEN: usize = 512;
    const MIN_LAG: usize = 27;
    const MAX_LAG: usize = 228;
    const FFT: usize = 768;
    /// 20.8 Hz per bin: 60 Hz to 4 kHz.
    const LOW_BIN: usize = 3;
    const HIGH_BIN: usize = 192;
    const SMOOTH: usize = 8;

    pub fn new() -> Self {
        let fft = crate::dsp::fft::forward::<f32>(Self::FFT);
        let ifft = crate::dsp::fft::inverse::<f32>(Self::FFT);
        let mut window = [0.0f32; Self::LEN];
        for (i, w) in window.iter_mut().enumerate() {
            *w = 0.5 - 0.5 * (std::f32::consts::TAU * (i as f32 + 0.5) / Self::LEN as f32).cos();
        }
        let r0: f32 = window.iter().map(|w| w * w).sum();
        let window_acf = (0..=Self::MAX_LAG)
            .map(|lag| {
                window[..Self::LEN - lag]
                    .iter()
                    .zip(&window[lag..])
                    .map(|(a, b)| a * b)
                    .sum::<f32>()
                    / r0
            })
            .collect();
        let scratch_len = fft.get_scratch_len().max(ifft.get_scratch_len());
        Voicing {
            history: [0.0; Self::LEN],
            window,
            window_acf,
            buf: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: vec![Complex::default(); scratch_len],
            power: vec![0.0; Self::FFT / 2 + 1],
            prefix: vec![0.0; Self::FFT / 2 + 2],
            norm: vec![0.0; Self::MAX_LAG + 1],
            peak_share: 0.0,
            fft,
            ifft,
        }
    }

    /// See the field: how much of the last frame's power one narrow peak holds.
    pub fn peak_share(&self) -> f32 {
        self.peak_share
    }

    pub fn reset(&mut self) {
        self.history = [0.0; Self::LEN];
        self.peak_share = 0.0;
    }

    /// Adds a 256-sample frame and returns the voicing strength of the last 512 samples
    /// and the period of its peak in samples (fractional, by parabolic interpolation;
    /// 0 when there is no peak).
    pub fn measure(&mut self, frame: &[f32; VAD_FRAME]) -> (f32, f32) {
        self.history.copy_within(VAD_FRAME.., 0);
        self.history[Self::LEN - VAD_FRAME..].copy_from_slice(frame);
        let mean = self.history.iter().sum::<f32>() / Self::LEN as f32;
        for ((b, h), w) in self.buf.iter_mut().zip(&self.history).zip(&self.window) {
            *b = (h - mean) * w;
        }
        self.buf[Self::LEN..].fill(0.0);
        if self
            .fft
            .process_with_scratch(&mut self.buf, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            return (0.0, 0.0);
        }
        // Whiten: divide the power spectrum by its envelope (a moving average over
        // ±8 bins, ±170 Hz), and keep 60 Hz-4 kHz. Harmonics stand above their
        // envelope; a noise's smooth spectrum becomes flat and its autocorrelation
        // loses the slow, pitch-like ripple that low-frequency rumble has.
        let n = self.spectrum.len();
        for (p, c) in self.power.iter_mut().zip(self.spectrum.iter()) {
            *p = c.norm_sqr();
        }
        // Running sums kept in a register: reading each sum back from `prefix` made
        // every step wait on the previous store (the same additions, in the same order).
        self.prefix[0] = 0.0;
        let mut sum = 0.0f32;
        for (s, &p) in self.prefix[1..].iter_mut().zip(&self.power) {
            sum += p;
            *s = sum;
        }
        let band = self.prefix[Self::HIGH_BIN + 1] - self.prefix[Self::LOW_BIN];
        let strongest = self.prefix[Self::LOW_BIN + 5..=Self::HIGH_BIN + 1]
            .iter()
            .zip(&self.prefix[Self::LOW_BIN..=Self::HIGH_BIN - 4])
            .map(|(hi, lo)| hi - lo)
            .fold(0.0f32, f32::max);
        self.peak_share = if band > 0.0 { strongest / band } else { 0.0 };
        let floor = self.prefix[n] / n as f32 * 1e-6 + 1e-20;
        // The bins outside the band are zeroed; inside, each bin is divided by the mean
        // power of the bins within ±SMOOTH of it (fewer at the spectrum's low edge).
        // Written as straight loops over slices, without branches, so that they
        // vectorise: this runs 62.5 times a second of audio and was the VAD's largest
        // cost after earshot itself.
        let zero = Complex::new(0.0, 0.0);
        self.spectrum[..Self::LOW_BIN].fill(zero);
        self.spectrum[Self::HIGH_BIN + 1..].fill(zero);
        let edge = Self::SMOOTH.min(Self::HIGH_BIN + 1);
        for k in Self::LOW_BIN..edge {
            let b = k + Self::SMOOTH + 1;
            let envelope = (self.prefix[b] - self.prefix[0]) / b as f32;
            self.spectrum[k] = Complex::new(self.power[k] / (envelope + floor), 0.0);
        }
        // From bin SMOOTH on, the span is [k - SMOOTH, k + SMOOTH + 1): 2 * SMOOTH + 1
        // bins (HIGH_BIN + SMOOTH + 1 <= n, so the top never clips it).
        const { assert!(Self::HIGH_BIN + Self::SMOOTH < Self::FFT / 2 + 1) };
        let width = (2 * Self::SMOOTH + 1) as f32;
        let body = edge.max(Self::LOW_BIN)..Self::HIGH_BIN + 1;
        let lows = &self.prefix[body.start - Self::SMOOTH..body.end - Self::SMOOTH];
        let highs = &self.prefix[body.start + Self::SMOOTH + 1..body.end + Self::SMOOTH + 1];
        for (((c, &p), &hi), &lo) in self.spectrum[body.clone()]
            .iter_mut()
            .zip(&self.power[body])
            .zip(highs)
            .zip(lows)
        {
            let envelope = (hi - lo) / width;
            *c = Complex::new(p / (envelope + floor), 0.0);
        }
        if self
            .ifft
            .process_with_scratch(&mut self.spectrum, &mut self.buf, &mut self.scratch)
            .is_err()
        {
            return (0.0, 0.0);
        }
        let r0 = self.buf[0];
        if r0 <= 1e-12 {
            return (0.0, 0.0);
        }
        // The normalised autocorrelation at every lag searched (and one either side),
        // in one vectorisable pass, then the peak search over it.
        let lags = Self::MIN_LAG - 1..Self::MAX_LAG + 1;
        for ((v, &r), &w) in self.norm[lags.clone()]
            .iter_mut()
            .zip(&self.buf[lags.clone()])
            .zip(&self.window_acf[lags])
        {
            *v = r / r0 / w;
        }
        let norm = &self.norm;
        let (mut best, mut best_lag) = (0.0f32, 0.0f32);
        for lag in Self::MIN_LAG..Self::MAX_LAG {
            let (prev, here, next) = (norm[lag - 1], norm[lag], norm[lag + 1]);
            if here > prev && here >= next && here > best {
                best = here;
                // Vertex of the parabola through the three points.
                let curvature = prev - 2.0 * here + next;
                let shift = if curvature < 0.0 {
                    (0.5 * (prev - next) / curvature).clamp(-0.5, 0.5)
                } else {
                    0.0
                };
                best_lag = lag as f32 + shift;
            }
        }
        (best.min(1.0), best_lag)
    }
}

impl Default for Voicing {
    fn default() -> Self {
        Self::new()
    }
}

/// Mean power of a full-scale-1.0 signal, in dB, floored at -120 dB.
pub fn power_db(mean_square: f32) -> f32 {
    10.0 * mean_square.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(samples: &[f32], chunk: usize) -> Vec<VadFrame> {
        let mut vad = Vad::new(VadConfig::default());
        let mut out = Vec::new();
        for c in samples.chunks(chunk) {
            vad.push(c, &mut |f| out.push(f));
        }
        out
    }

    #[test]
    fn silence_is_not_speech() {
        let frames = decisions(&vec![0.0; 16_000], 1000);
        assert_eq!(frames.len(), 16_000 / VAD_FRAME);
        assert!(frames.iter().all(|f| !f.speech));
    }

    #[test]
    fn frames_are_numbered_in_order_whatever_the_chunking() {
        let signal: Vec<f32> = (0..10_000).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
        let a = decisions(&signal, 1);
        let b = decisions(&signal, 4096);
        assert_eq!(a.len(), 10_000 / VAD_FRAME);
        assert_eq!(a, b);
        for (i, f) in a.iter().enumerate() {
            assert_eq!(f.index, i as u64);
        }
    }

    /// Deterministic white noise with the given RMS.
    fn noise(rms: f32, n: usize) -> Vec<f32> {
        let mut x = 12345u32;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                // Uniform in [-0.5, 0.5) has RMS 1/sqrt(12).
                ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * rms * 12f32.sqrt()
            })
            .collect()
    }

    fn speech_ratio(samples: &[f32]) -> f32 {
        let d = decisions(samples, 1000);
        d.iter().filter(|f| f.speech).count() as f32 / d.len() as f32
    }

    #[test]
    fn quiet_hiss_is_below_the_floor() {
        // -80 dBFS: the automatic gain must not turn it into a voice.
        assert!(
            decisions(&noise(1e-4, 32_000), 512)
                .iter()
                .all(|f| !f.speech)
        );
    }

    #[test]
    fn noise_is_not_speech_at_any_level() {
        for db in [-10.0f32, -30.0, -50.0] {
            let r = speech_ratio(&noise(10f32.powf(db / 20.0), 48_000));
            assert!(r < 0.1, "noise at {db} dBFS: speech ratio {r}");
        }
    }

    /// White noise through a one-pole low-pass: the rumble of a fan or a car.
    fn rumble(rms: f32, cutoff_coeff: f32, n: usize) -> Vec<f32> {
        let white = noise(1.0, n);
        let mut lp = 0.0f32;
        let mut x: Vec<f32> = white
            .iter()
            .map(|w| {
                lp += cutoff_coeff * (w - lp);
                lp
            })
            .collect();
        let r = (x.iter().map(|s| s * s).sum::<f32>() / n as f32).sqrt();
        x.iter_mut().for_each(|s| *s *= rms / r);
        x
    }

    #[test]
    fn low_passed_noise_is_not_speech() {
        // earshot alone calls this 40-65 % speech; the voicing check must not.
        for coeff in [0.02f32, 0.1, 0.3] {
            for db in [-20.0f32, -35.0, -50.0] {
                let r = speech_ratio(&rumble(10f32.powf(db / 20.0), coeff, 80_000));
                assert!(r < 0.05, "rumble {coeff} at {db} dBFS: speech ratio {r}");
            }
        }
    }

    #[test]
    fn voicing_finds_the_pitch_of_a_vowel_like_tone_and_not_noise() {
        let mut v = Voicing::new();
        // A 120 Hz pulse train through a resonance: a crude vowel.
        let mut vowel = Vec::new();
        let mut y = [0.0f32; 2];
        for i in 0..4096 {
            let pulse = if i % 133 == 0 { 1.0 } else { 0.0 };
            let out = pulse + 1.6 * y[0] - 0.8 * y[1];
            y = [out, y[0]];
            vowel.push(out * 0.05);
        }
        let mut last = (0.0, 0.0);
        for f in vowel.chunks_exact(VAD_FRAME) {
            last = v.measure(f.try_into().unwrap());
        }
        assert!(last.0 > 0.8, "vowel voicing {last:?}");
        // 133 samples at 16 kHz: 120.3 Hz.
        assert!((last.1 - 133.0).abs() < 0.5, "period {last:?}");
        let mut v = Voicing::new();
        for f in noise(0.1, 4096).chunks_exact(VAD_FRAME) {
            last = v.measure(f.try_into().unwrap());
        }
        assert!(last.0 < 0.3, "noise voicing {last:?}");
    }

    #[test]
    fn speech_is_found_in_a_real_clip_even_when_quiet() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac");
        let (spec, samples) = crate::audio::decode::read_all(&path).unwrap();
        assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
        // The sentence lasts about 1.9 s of the 4 s clip.
        let loud = speech_ratio(&samples);
        assert!((0.35..0.65).contains(&loud), "speech ratio {loud}");
        // Quieter, as from a microphone across the room: the gain keeps it speech.
        // (Without the gain, -40 dB gives 0.4 % speech frames.)
        for (db, keep) in [(-20.0f32, 0.8f32), (-40.0, 0.5)] {
            let g = 10f32.powf(db / 20.0);
            let quiet: Vec<f32> = samples.iter().map(|s| s * g).collect();
            let r = speech_ratio(&quiet);
            assert!(r > keep * loud, "at {db} dB: {r} vs {loud}");
        }
    }

    #[test]
    fn shouting_is_speech() {
        // RAVDESS actor 06, fearful, strong intensity: a woman shouting at 300-380 Hz.
        // earshot alone scores the sentence 0.12-0.35 and called 0 % of it speech.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/loud/03-01-06-02-01-01-06-excerpt.flac");
        let (_, samples) = crate::audio::decode::read_all(&path).unwrap();
        let r = speech_ratio(&samples);
        assert!(r > 0.5, "speech ratio {r}");
    }

    #[test]
    fn beeps_are_not_speech() {
        // Periodic, far above the background and switching like syllables, but one
        // spectral line: not a voice.
        let rate = VAD_RATE as f32;
        for hz in [150.0f32, 440.0, 1000.0] {
            let mut signal = noise(1e-3, 16_000);
            signal.extend((0..48_000).map(|i| {
                let t = i as f32 / rate;
                // On for 0.3 s, off for 0.2 s: an alarm.
                let on = (t % 0.5) < 0.3;
                if on {
                    0.3 * (std::f32::consts::TAU * hz * t).sin()
                } else {
                    0.0
                }
            }));
            // earshot alone scores the 440 Hz beeps 0.7-0.9 and called 46 % of them speech.
            let r = speech_ratio(&signal);
            assert!(r < 0.05, "{hz} Hz beeps: speech ratio {r}");
        }
    }
}
