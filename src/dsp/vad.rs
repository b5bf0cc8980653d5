//! Voice activity detection.
//!
//! A window with too little speech must be reported as "no speech", never forced into an
//! emotion: silence, breathing and room noise carry no emotion, and a model asked about
//! them answers anyway. earshot is a small neural VAD in pure Rust (no C, no ONNX
//! runtime), robust to noise above about 3 dB SNR and thousands of times faster than real
//! time, so it costs nothing next to the emotion model.
//!
//! earshot works on 256-sample (16 ms) frames at 16 kHz. This wrapper buffers arbitrary
//! chunks into those frames and adds two things:
//!
//! - An automatic gain in front of the network. earshot's features are absolute log-mel
//!   energies, so its verdict depends on the input level: measured on a quiet RAVDESS
//!   clip (peaks at -32 dBFS), the speech share fell from 32 % to 19 % at -10 dB and to
//!   0 at -20 dB. A microphone across the room is that quiet. The gain brings the loudest
//!   recent frame (a peak follower that decays by half every two seconds) to -20 dBFS,
//!   by at most +30 dB, so the network judges the shape of the sound, not its loudness.
//! - An absolute level floor: a frame quieter than [`VadConfig::floor_dbfs`] (before
//!   the gain) is never speech, so hiss in a silent room is not amplified into a voice.

use earshot::Detector;

/// The sample rate earshot works at.
pub const VAD_RATE: u32 = 16_000;
/// Samples per VAD frame.
pub const VAD_FRAME: usize = 256;

/// Settings of the voice activity detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Score at or above which a frame counts as speech (earshot's default is 0.5).
    pub threshold: f32,
    /// Frames quieter than this RMS level (dBFS) are never speech.
    pub floor_dbfs: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        VadConfig {
            threshold: 0.5,
            floor_dbfs: -70.0,
        }
    }
}

/// Streaming voice activity detector over 16 kHz mono audio.
pub struct Vad {
    config: VadConfig,
    detector: Box<Detector>,
    frame: [f32; VAD_FRAME],
    filled: usize,
    frames_done: u64,
    /// Peak follower of frame RMS (linear), for the automatic gain.
    peak_rms: f32,
}

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
    /// Mean square of the frame's samples (full scale = 1).
    pub mean_square: f32,
}

impl Vad {
    pub fn new(config: VadConfig) -> Self {
        Vad {
            config,
            detector: Detector::default_boxed(),
            frame: [0.0; VAD_FRAME],
            filled: 0,
            frames_done: 0,
            peak_rms: 0.0,
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
        self.detector.reset();
        self.filled = 0;
        self.frames_done = 0;
        self.peak_rms = 0.0;
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
        let rms = mean_square.sqrt();
        self.peak_rms = (self.peak_rms * AGC_DECAY).max(rms);
        if self.peak_rms > 0.0 {
            let gain = (AGC_TARGET_RMS / self.peak_rms).min(AGC_MAX_GAIN);
            for s in self.frame.iter_mut() {
                *s = (*s * gain).clamp(-1.0, 1.0);
            }
        }
        let score = self.detector.predict_f32(&self.frame);
        let speech = score >= self.config.threshold && rms_db >= self.config.floor_dbfs;
        let index = self.frames_done;
        self.frames_done += 1;
        VadFrame {
            index,
            score,
            speech,
            mean_square,
        }
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
}
