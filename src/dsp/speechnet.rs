//! earshot's speech network, fed by realfft.
//!
//! earshot ([`earshot::Detector`]) turns each 16 ms frame into 40 log-mel energies and
//! runs a small recurrent network on the last three. Its features come from its own
//! portable radix-2 FFT (a `no_std` port of microfft, which its author measures at
//! about 2.5 times the time of rustfft); profiled over a corpus run, that FFT was a
//! seventh of everything `classify` did outside the emotion model, as much as the
//! network itself. This module computes the same features the same way (pre-emphasis,
//! the same 768-sample Hann window zero-padded to 1024 points, the same 40 triangular
//! bands, the same normalisation) with the process's shared realfft plan, and hands
//! them to earshot's [`DefaultPredictor`] unchanged. The two FFTs round differently, so
//! scores agree to float precision, not bit for bit (`tests` below compare them on real
//! speech and noise).
//!
//! [`DefaultPredictor`]'s `normalize`/`predict` are public but marked unstable by
//! earshot, which is why `Cargo.toml` pins earshot's exact version: a new earshot must
//! pass these tests before it is let in.

use std::sync::Arc;

use earshot::{DefaultPredictor, Predictor};
use realfft::RealToComplex;
use realfft::num_complex::Complex;

/// Samples per frame of earshot's network: 16 ms at 16 kHz.
pub const VAD_FRAME: usize = 256;

const FFT_SIZE: usize = 1024;
const WINDOW: usize = 768;
const N_BINS: usize = FFT_SIZE / 2 + 1;
const N_MELS: usize = 40;
const CONTEXT: usize = 3;
const PRE_EMPHASIS: f32 = 0.97;
/// earshot works at 16-bit scale: samples in [-1, 1] are multiplied by 32768 before the
/// FFT and the power is scaled back after it.
const SCALE: f32 = 32768.0;
const POWER_FAC: f32 = 1.0 / (SCALE * SCALE);

/// FFT bins at which earshot's 40 triangular bands start, peak and end: band `i` rises
/// from `MEL_EDGES[i]` to 1 at `MEL_EDGES[i + 1]` and falls to 0 at `MEL_EDGES[i + 2]`
/// (read off earshot 1.2.2's `filters::MEL_COEFFS`, which is private).
const MEL_EDGES: [usize; N_MELS + 2] = [
    4, 7, 10, 13, 17, 21, 25, 29, 33, 38, 43, 48, 54, 60, 66, 73, 80, 87, 95, 103, 112, 122, 132,
    142, 153, 165, 178, 191, 205, 220, 236, 253, 270, 289, 309, 330, 353, 376, 402, 428, 456, 486,
];

/// Streaming speech score over 16 kHz frames of 256 samples, like
/// [`earshot::Detector::predict_f32`].
pub struct SpeechNet {
    predictor: DefaultPredictor,
    fft: Arc<dyn RealToComplex<f32>>,
    prev_sample: f32,
    /// The last 768 pre-emphasised samples (the oldest first).
    ring: [f32; WINDOW],
    window: Box<[f32; WINDOW]>,
    /// Band weights, flattened: band `i` has weights for bins
    /// `MEL_EDGES[i]..MEL_EDGES[i + 2]` at `offsets[i]..offsets[i + 1]`.
    weights: Vec<f32>,
    offsets: [usize; N_MELS + 1],
    /// The last three frames' normalised log-mel energies (the oldest first).
    features: [f32; N_MELS * CONTEXT],
    fft_in: Vec<f32>,
    fft_out: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    /// Scratch for the network (the size earshot's detector gives it).
    net_buffer: Box<[f32; 1026]>,
}

impl Default for SpeechNet {
    fn default() -> Self {
        Self::new()
    }
}

impl SpeechNet {
    pub fn new() -> Self {
        let fft = super::fft::forward::<f32>(FFT_SIZE);
        let mut window = Box::new([0.0f32; WINDOW]);
        // Periodic Hann, as earshot's table.
        for (i, w) in window.iter_mut().enumerate() {
            *w = (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / WINDOW as f64).cos()) as f32;
        }
        let mut weights = Vec::new();
        let mut offsets = [0usize; N_MELS + 1];
        for band in 0..N_MELS {
            let (lo, mid, hi) = (MEL_EDGES[band], MEL_EDGES[band + 1], MEL_EDGES[band + 2]);
            let (rise, fall) = ((mid - lo) as f32, (hi - mid) as f32);
            weights.extend((lo..mid).map(|k| (k - lo) as f32 / rise));
            weights.extend((mid..hi).map(|k| (hi - k) as f32 / fall));
            offsets[band + 1] = weights.len();
        }
        SpeechNet {
            predictor: DefaultPredictor::new(),
            prev_sample: 0.0,
            ring: [0.0; WINDOW],
            window,
            weights,
            offsets,
            features: [0.0; N_MELS * CONTEXT],
            fft_in: fft.make_input_vec(),
            fft_out: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; N_BINS],
            net_buffer: Box::new([0.0; 1026]),
            fft,
        }
    }

    /// Starts over for a new stream.
    pub fn reset(&mut self) {
        self.predictor.reset();
        self.prev_sample = 0.0;
        self.ring = [0.0; WINDOW];
        self.features = [0.0; N_MELS * CONTEXT];
    }

    /// The speech score (0 to 1) of the next 256-sample frame, samples in [-1, 1].
    /// Never allocates.
    pub fn predict(&mut self, frame: &[f32; VAD_FRAME]) -> f32 {
        self.ring.copy_within(VAD_FRAME.., 0);
        let fresh = &mut self.ring[WINDOW - VAD_FRAME..];
        for (slot, &sample) in fresh.iter_mut().zip(frame) {
            let sample = sample * SCALE;
            *slot = sample - PRE_EMPHASIS * self.prev_sample;
            self.prev_sample = sample;
        }
        for ((x, r), w) in self
            .fft_in
            .iter_mut()
            .zip(&self.ring)
            .zip(self.window.iter())
        {
            *x = r * w;
        }
        self.fft_in[WINDOW..].fill(0.0);
        if self
            .fft
            .process_with_scratch(&mut self.fft_in, &mut self.fft_out, &mut self.scratch)
            .is_err()
        {
            // Only a buffer of the wrong length fails, and they are sized by the plan.
            return 0.0;
        }
        for (p, c) in self.power.iter_mut().zip(&self.fft_out) {
            *p = c.norm_sqr() * POWER_FAC;
        }
        self.features.copy_within(N_MELS.., 0);
        let current = &mut self.features[N_MELS * (CONTEXT - 1)..];
        for (band, out) in current.iter_mut().enumerate() {
            let weights = &self.weights[self.offsets[band]..self.offsets[band + 1]];
            let bins = &self.power[MEL_EDGES[band]..MEL_EDGES[band + 2]];
            let energy: f32 = weights.iter().zip(bins).map(|(w, p)| w * p).sum();
            *out = (energy + 1e-20).ln();
        }
        self.predictor.normalize(current);
        self.predictor
            .predict(&self.features, &mut self.net_buffer[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// earshot's own detector and this one on the same frames: scores within `tol`,
    /// and the same side of 0.5 wherever earshot is not itself on the fence.
    fn compare(samples: &[f32], tol: f32) -> (usize, f32) {
        let mut ours = SpeechNet::new();
        let mut theirs = earshot::Detector::default_boxed();
        let mut worst = 0.0f32;
        let mut frames = 0;
        for chunk in samples.chunks_exact(VAD_FRAME) {
            let frame: &[f32; VAD_FRAME] = chunk.try_into().expect("256 samples");
            let a = ours.predict(frame);
            let b = theirs.predict_f32(frame);
            worst = worst.max((a - b).abs());
            assert!(
                (a - b).abs() <= tol,
                "frame {frames}: ours {a}, earshot {b}"
            );
            if (b - 0.5).abs() > 0.05 {
                assert_eq!(a >= 0.5, b >= 0.5, "frame {frames}: ours {a}, earshot {b}");
            }
            frames += 1;
        }
        (frames, worst)
    }

    #[test]
    fn scores_match_earshot_on_real_speech() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
        let mut checked = 0;
        for clip in [
            "ravdess/Actor_19/03-01-05-02-01-01-19.flac",
            "tess/OAF_angry/OAF_bath_angry.flac",
        ] {
            let (spec, samples) =
                crate::audio::decode::read_all(&root.join(clip)).expect("fixture decodes");
            assert_eq!((spec.sample_rate, spec.channels), (16_000, 1), "{clip}");
            // As recorded, and 20 dB louder (clipped), as the VAD's gain may feed it.
            let loud: Vec<f32> = samples
                .iter()
                .map(|s| (s * 10.0).clamp(-1.0, 1.0))
                .collect();
            for audio in [&samples, &loud] {
                let (frames, _) = compare(audio, 1e-3);
                assert!(frames > 50, "{clip}: {frames} frames");
                checked += frames;
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn scores_match_earshot_on_noise_and_silence() {
        let mut state = 0x2545_f491_u32;
        let mut noise = vec![0.0f32; 16_000];
        for s in &mut noise {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *s = (state as f32 / u32::MAX as f32 - 0.5) * 0.2;
        }
        noise.extend(std::iter::repeat_n(0.0, 8_000));
        let (frames, _) = compare(&noise, 1e-3);
        assert_eq!(frames, 24_000 / VAD_FRAME);
    }
}
