//! Training-data augmentation in the audio domain.
//!
//! The shipped model has to survive real microphones: laptop fans, cheap USB mics with
//! thin bass, echoing rooms, people speaking faster or higher than the actors did. The
//! corpora are studio-clean, so training sees each clip several times through a random
//! chain of what real rooms do to speech: speed and pitch changes, a microphone's
//! frequency response, reverberation, gain, and noise at 5–30 dB SNR.
//!
//! It runs in Rust, before the engine's own front end, so that augmented features are
//! computed by exactly the code the live engine runs (`emotty features --augment N`).
//! Every variant is a pure function of (clip, variant number, seed): runs reproduce.

use crate::dsp::resample::Resampler;

/// The rate augmentation works at (the model's).
pub const RATE: u32 = 16_000;

/// A small, fast, seedable generator (SplitMix64). Statistical quality is ample for
/// augmentation, and it keeps runs reproducible without another dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A generator for (seed, a, b): independent streams per clip and variant.
    pub fn for_item(seed: u64, a: u64, b: u64) -> Self {
        let mut r = Rng(seed
            ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// What one augmented variant did, for the training log.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Recipe {
    pub speed: f64,
    pub pitch_semitones: f64,
    pub highpass_hz: Option<f64>,
    pub lowpass_hz: Option<f64>,
    pub reverb_rt60_s: Option<f64>,
    pub gain_db: f64,
    pub noise: Option<String>,
    pub snr_db: Option<f64>,
}

/// Applies one random chain to 16 kHz mono speech.
pub fn augment(speech: &[f32], rng: &mut Rng) -> (Vec<f32>, Recipe) {
    let mut recipe = Recipe {
        speed: 1.0,
        ..Recipe::default()
    };
    let mut x = speech.to_vec();
    if rng.chance(0.5) {
        let speeds = [0.9, 0.95, 1.05, 1.1];
        recipe.speed = speeds[rng.below(speeds.len())];
        x = change_speed(&x, recipe.speed);
    }
    if rng.chance(0.4) {
        let semitones = rng.uniform(-2.5, 2.5);
        recipe.pitch_semitones = (semitones * 10.0).round() / 10.0;
        x = shift_pitch(&x, recipe.pitch_semitones);
    }
    if rng.chance(0.5) {
        let hz = rng.uniform(80.0, 400.0);
        recipe.highpass_hz = Some(hz.round());
        biquad(&mut x, Biquad::highpass(hz, 0.707));
    }
    if rng.chance(0.4) {
        let hz = rng.uniform(3400.0, 7500.0);
        recipe.lowpass_hz = Some(hz.round());
        biquad(&mut x, Biquad::lowpass(hz, 0.707));
    }
    if rng.chance(0.35) {
        let rt60 = rng.uniform(0.15, 0.8);
        recipe.reverb_rt60_s = Some((rt60 * 100.0).round() / 100.0);
        x = reverberate(&x, rt60, rng);
    }
    if rng.chance(0.8) {
        let snr = rng.uniform(5.0, 30.0);
        let kind = NOISES[rng.below(NOISES.len())];
        recipe.snr_db = Some((snr * 10.0).round() / 10.0);
        recipe.noise = Some(kind.to_string());
        let noise = make_noise(kind, x.len(), rng);
        add_at_snr(&mut x, &noise, snr);
    }
    let gain_db = rng.uniform(-12.0, 6.0);
    recipe.gain_db = (gain_db * 10.0).round() / 10.0;
    let g = 10f32.powf(gain_db as f32 / 20.0);
    // A real converter clips: keep that, rather than handing the front end values no
    // microphone can produce.
    for s in &mut x {
        *s = (*s * g).clamp(-1.0, 1.0);
    }
    (x, recipe)
}

/// Noise colours on offer.
pub const NOISES: [&str; 5] = ["white", "pink", "brown", "hum", "fan"];

/// Speeds speech up (factor > 1) or down, changing pitch with it, like a tape.
pub fn change_speed(x: &[f32], factor: f64) -> Vec<f32> {
    // Treat the clip as if it had been recorded at RATE*factor and convert to RATE.
    let from = (f64::from(RATE) * factor).round() as u32;
    resample(x, from, RATE)
}

fn resample(x: &[f32], from: u32, to: u32) -> Vec<f32> {
    let Ok(mut r) = Resampler::new(from, to) else {
        return x.to_vec();
    };
    let mut out = Vec::with_capacity(x.len() * to as usize / from as usize + 64);
    if r.process(x, &mut out).is_err() || r.finish(&mut out).is_err() {
        return x.to_vec();
    }
    out
}

/// Shifts pitch by `semitones` keeping the duration: stretch in time (WSOLA), then
/// resample back to the original length.
pub fn shift_pitch(x: &[f32], semitones: f64) -> Vec<f32> {
    if semitones.abs() < 0.05 {
        return x.to_vec();
    }
    let factor = 2f64.powf(semitones / 12.0);
    let stretched = time_stretch(x, factor);
    // Playing the stretched clip `factor` times faster restores the length and raises
    // the pitch by `factor`. Rates are rounded to 10 Hz to keep the resampler's FFTs
    // small; the pitch error is below 0.1 %.
    let from = ((f64::from(RATE) * factor / 10.0).round() * 10.0) as u32;
    let mut y = resample(&stretched, from, RATE);
    y.resize(x.len(), 0.0);
    y
}

/// WSOLA time stretch: the output is `factor` times longer, at the same pitch.
pub fn time_stretch(x: &[f32], factor: f64) -> Vec<f32> {
    const FRAME: usize = 512;
    const HOP: usize = FRAME / 2;
    const SEARCH: usize = 160;
    if x.len() < FRAME * 2 {
        return x.to_vec();
    }
    let window: Vec<f32> = (0..FRAME)
        .map(|i| {
            (std::f32::consts::PI * (i as f32 + 0.5) / FRAME as f32)
                .sin()
                .powi(2)
        })
        .collect();
    let out_len = (x.len() as f64 * factor) as usize;
    let mut out = vec![0.0f32; out_len + FRAME];
    let mut norm = vec![0.0f32; out_len + FRAME];
    let mut prev_start: Option<usize> = None;
    let mut k = 0usize;
    loop {
        let out_pos = k * HOP;
        if out_pos >= out_len {
            break;
        }
        let nominal = (out_pos as f64 / factor) as usize;
        if nominal + FRAME + SEARCH >= x.len() {
            break;
        }
        // Pick the input segment near `nominal` that best continues the previous one.
        let start = match prev_start {
            None => nominal,
            Some(p) => {
                let natural = p + HOP;
                let lo = nominal.saturating_sub(SEARCH);
                let hi = (nominal + SEARCH).min(x.len() - FRAME);
                let target = &x[natural.min(x.len() - FRAME)..][..FRAME / 2];
                let mut best = nominal;
                let mut best_score = f32::NEG_INFINITY;
                for s in (lo..=hi).step_by(2) {
                    let cand = &x[s..s + FRAME / 2];
                    let score: f32 = cand.iter().zip(target).map(|(a, b)| a * b).sum();
                    if score > best_score {
                        best_score = score;
                        best = s;
                    }
                }
                best
            }
        };
        for i in 0..FRAME {
            out[out_pos + i] += x[start + i] * window[i];
            norm[out_pos + i] += window[i];
        }
        prev_start = Some(start);
        k += 1;
    }
    for (o, n) in out.iter_mut().zip(&norm) {
        if *n > 1e-3 {
            *o /= n;
        }
    }
    out.truncate(out_len);
    out
}

/// RBJ-cookbook biquad coefficients.
#[derive(Debug, Clone, Copy)]
pub struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    pub fn highpass(hz: f64, q: f64) -> Self {
        let (c, alpha) = Self::prewarp(hz, q);
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(1.0 + c) / 2.0 / a0, -(1.0 + c) / a0, (1.0 + c) / 2.0 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
        }
    }

    pub fn lowpass(hz: f64, q: f64) -> Self {
        let (c, alpha) = Self::prewarp(hz, q);
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(1.0 - c) / 2.0 / a0, (1.0 - c) / a0, (1.0 - c) / 2.0 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
        }
    }

    fn prewarp(hz: f64, q: f64) -> (f64, f64) {
        let w = std::f64::consts::TAU * hz.min(f64::from(RATE) * 0.49) / f64::from(RATE);
        (w.cos(), w.sin() / (2.0 * q))
    }
}

/// Filters in place (direct form I).
pub fn biquad(x: &mut [f32], f: Biquad) {
    let (mut x1, mut x2, mut y1, mut y2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for s in x.iter_mut() {
        let x0 = f64::from(*s);
        let y0 = f.b[0] * x0 + f.b[1] * x1 + f.b[2] * x2 - f.a[0] * y1 - f.a[1] * y2;
        x2 = x1;
        x1 = x0;
        y2 = y1;
        y1 = y0;
        *s = y0 as f32;
    }
}

/// Convolves with a synthetic room impulse response: a direct path, a few early
/// reflections and an exponentially decaying diffuse tail with the given RT60.
pub fn reverberate(x: &[f32], rt60: f64, rng: &mut Rng) -> Vec<f32> {
    let len = ((rt60 * 1.2) * f64::from(RATE)) as usize;
    let mut rir = vec![0.0f32; len.max(2)];
    rir[0] = 1.0;
    for _ in 0..6 {
        let at = rng.uniform(0.002, 0.03) * f64::from(RATE);
        if let Some(r) = rir.get_mut(at as usize) {
            *r += rng.uniform(-0.6, 0.6) as f32;
        }
    }
    // -60 dB after rt60 seconds: amplitude decays as exp(-6.9 t / rt60).
    let decay = -6.907_755 / (rt60 * f64::from(RATE));
    let start = (0.005 * f64::from(RATE)) as usize;
    let diffuse_level = rng.uniform(0.05, 0.25);
    for (i, r) in rir.iter_mut().enumerate().skip(start) {
        *r += (rng.normal() * diffuse_level * (decay * i as f64).exp()) as f32;
    }
    let mut y = convolve(x, &rir);
    y.truncate(x.len());
    // Keep the level: reverberation should change the sound, not the loudness.
    let (ex, ey) = (energy(x), energy(&y));
    if ey > 0.0 {
        let g = (ex / ey).sqrt() as f32;
        for s in &mut y {
            *s *= g;
        }
    }
    y
}

/// Linear convolution by FFT.
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let fwd = crate::dsp::fft::forward::<f32>(n);
    let inv = crate::dsp::fft::inverse::<f32>(n);
    let mut a = vec![0.0f32; n];
    a[..x.len()].copy_from_slice(x);
    let mut b = vec![0.0f32; n];
    b[..h.len()].copy_from_slice(h);
    let mut fa = fwd.make_output_vec();
    let mut fb = fwd.make_output_vec();
    if fwd.process(&mut a, &mut fa).is_err() || fwd.process(&mut b, &mut fb).is_err() {
        return x.to_vec();
    }
    for (p, q) in fa.iter_mut().zip(&fb) {
        *p *= q;
    }
    let mut y = inv.make_output_vec();
    if inv.process(&mut fa, &mut y).is_err() {
        return x.to_vec();
    }
    let scale = 1.0 / n as f32;
    y.truncate(x.len() + h.len() - 1);
    for s in &mut y {
        *s *= scale;
    }
    y
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
}

/// Generates `n` samples of a noise kind at roughly unit RMS.
pub fn make_noise(kind: &str, n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut v: Vec<f32> = match kind {
        "pink" => {
            // Paul Kellet's economy pink filter.
            let (mut b0, mut b1, mut b2) = (0.0f64, 0.0f64, 0.0f64);
            (0..n)
                .map(|_| {
                    let w = rng.normal();
                    b0 = 0.99765 * b0 + w * 0.0990460;
                    b1 = 0.96300 * b1 + w * 0.2965164;
                    b2 = 0.57000 * b2 + w * 1.0526913;
                    (b0 + b1 + b2 + w * 0.1848) as f32
                })
                .collect()
        }
        "brown" => {
            let mut acc = 0.0f64;
            (0..n)
                .map(|_| {
                    acc = 0.995 * acc + rng.normal() * 0.1;
                    acc as f32
                })
                .collect()
        }
        "hum" => {
            let f0 = if rng.chance(0.5) { 50.0 } else { 60.0 };
            let phases: Vec<f64> = (0..5)
                .map(|_| rng.uniform(0.0, std::f64::consts::TAU))
                .collect();
            (0..n)
                .map(|i| {
                    let t = i as f64 / f64::from(RATE);
                    let tone: f64 = (1..=5)
                        .map(|h| {
                            (std::f64::consts::TAU * f0 * h as f64 * t + phases[h - 1]).sin()
                                / h as f64
                        })
                        .sum();
                    (tone + 0.05 * rng.normal()) as f32
                })
                .collect()
        }
        "fan" => {
            // Low-passed noise with a slow wobble, like a laptop fan or air conditioning.
            let mut v: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            biquad(&mut v, Biquad::lowpass(rng.uniform(300.0, 1500.0), 0.707));
            let rate = rng.uniform(0.2, 2.0);
            for (i, s) in v.iter_mut().enumerate() {
                let t = i as f64 / f64::from(RATE);
                *s *= (1.0 + 0.3 * (std::f64::consts::TAU * rate * t).sin()) as f32;
            }
            v
        }
        _ => (0..n).map(|_| rng.normal() as f32).collect(),
    };
    let rms = (energy(&v) / n.max(1) as f64).sqrt();
    if rms > 0.0 {
        for s in &mut v {
            *s /= rms as f32;
        }
    }
    v
}

/// Adds `noise` to `x` so that the speech-to-noise ratio is `snr_db`. Speech power is
/// measured over the loudest half of 20 ms blocks, so a clip's silent lead-in does not
/// make the noise quieter than intended.
pub fn add_at_snr(x: &mut [f32], noise: &[f32], snr_db: f64) {
    let p_speech = active_power(x);
    let p_noise = energy(noise) / noise.len().max(1) as f64;
    if p_speech <= 0.0 || p_noise <= 0.0 {
        return;
    }
    let g = (p_speech / (p_noise * 10f64.powf(snr_db / 10.0))).sqrt() as f32;
    for (s, n) in x.iter_mut().zip(noise) {
        *s += g * n;
    }
}

/// Mean power of the louder half of 20 ms blocks.
pub fn active_power(x: &[f32]) -> f64 {
    let mut blocks: Vec<f64> = x.chunks(320).map(|c| energy(c) / c.len() as f64).collect();
    if blocks.is_empty() {
        return 0.0;
    }
    blocks.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
    let half = blocks.len().div_ceil(2);
    blocks[..half].iter().sum::<f64>() / half as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, seconds: f64) -> Vec<f32> {
        (0..(seconds * f64::from(RATE)) as usize)
            .map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / f64::from(RATE)).sin()) as f32)
            .collect()
    }

    /// Frequency of the strongest FFT bin.
    fn peak_hz(x: &[f32]) -> f64 {
        let n = x.len().next_power_of_two();
        let mut buf = vec![0.0f32; n];
        buf[..x.len()].copy_from_slice(x);
        let fft = crate::dsp::fft::forward::<f32>(n);
        let mut spec = fft.make_output_vec();
        fft.process(&mut buf, &mut spec).unwrap();
        let (bin, _) = spec
            .iter()
            .enumerate()
            .skip(1)
            .max_by(|a, b| a.1.norm().partial_cmp(&b.1.norm()).unwrap())
            .unwrap();
        bin as f64 * f64::from(RATE) / n as f64
    }

    #[test]
    fn noise_is_added_at_the_requested_snr() {
        let speech = tone(300.0, 1.0);
        let mut rng = Rng::new(7);
        for kind in NOISES {
            let noise = make_noise(kind, speech.len(), &mut rng);
            let mut mixed = speech.clone();
            add_at_snr(&mut mixed, &noise, 10.0);
            let added: Vec<f32> = mixed.iter().zip(&speech).map(|(m, s)| m - s).collect();
            let snr =
                10.0 * (active_power(&speech) / (energy(&added) / added.len() as f64)).log10();
            assert!((snr - 10.0).abs() < 0.01, "{kind}: {snr}");
        }
    }

    #[test]
    fn speed_changes_length_and_pitch_together() {
        let x = tone(440.0, 1.0);
        let y = change_speed(&x, 1.1);
        let expected = (x.len() as f64 / 1.1).round() as i64;
        assert!(
            (y.len() as i64 - expected).abs() <= 2,
            "{} vs {expected}",
            y.len()
        );
        let f = peak_hz(&y);
        assert!((f - 484.0).abs() < 3.0, "{f}");
    }

    #[test]
    fn pitch_shift_keeps_the_length_and_moves_the_pitch() {
        let x = tone(400.0, 1.0);
        let y = shift_pitch(&x, 2.0);
        assert_eq!(y.len(), x.len());
        let expected = 400.0 * 2f64.powf(2.0 / 12.0);
        let f = peak_hz(&y[2000..14000]);
        assert!((f - expected).abs() < 4.0, "{f} vs {expected}");
    }

    #[test]
    fn time_stretch_keeps_pitch() {
        let x = tone(300.0, 1.0);
        let y = time_stretch(&x, 1.25);
        assert!((y.len() as f64 - 1.25 * x.len() as f64).abs() < 2.0);
        let f = peak_hz(&y[1000..y.len() - 1000]);
        assert!((f - 300.0).abs() < 3.0, "{f}");
    }

    #[test]
    fn filters_cut_where_they_should() {
        let rms = |x: &[f32]| (energy(&x[4000..]) / (x.len() - 4000) as f64).sqrt();
        let mut low = tone(100.0, 1.0);
        biquad(&mut low, Biquad::highpass(400.0, 0.707));
        assert!(
            rms(&low) < 0.5 / 2f64.sqrt() * 0.1,
            "100 Hz through a 400 Hz high-pass"
        );
        let mut high = tone(7000.0, 1.0);
        biquad(&mut high, Biquad::lowpass(3400.0, 0.707));
        assert!(
            rms(&high) < 0.5 / 2f64.sqrt() * 0.25,
            "7 kHz through a 3.4 kHz low-pass"
        );
        let mut pass = tone(1000.0, 1.0);
        biquad(&mut pass, Biquad::highpass(100.0, 0.707));
        assert!((rms(&pass) - 0.5 / 2f64.sqrt()).abs() < 0.02);
    }

    #[test]
    fn reverb_adds_a_decaying_tail_and_keeps_the_level() {
        // A click followed by silence: after reverberation the silence is not silent.
        let mut x = vec![0.0f32; 16_000];
        x[100..120].iter_mut().for_each(|s| *s = 0.8);
        let y = reverberate(&x, 0.5, &mut Rng::new(3));
        assert_eq!(y.len(), x.len());
        let tail = energy(&y[2000..6000]);
        assert!(tail > 1e-4, "tail energy {tail}");
        assert!((energy(&y) / energy(&x) - 1.0).abs() < 1e-3);
    }

    #[test]
    fn variants_are_reproducible_and_differ() {
        let x = tone(220.0, 1.5);
        let (a, ra) = augment(&x, &mut Rng::for_item(1, 5, 1));
        let (b, rb) = augment(&x, &mut Rng::for_item(1, 5, 1));
        let (c, _) = augment(&x, &mut Rng::for_item(1, 5, 2));
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        assert_ne!(a, c);
        assert!(a.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
    }
}
