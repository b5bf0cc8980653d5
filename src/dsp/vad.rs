//! Voice activity detection.
//!
//! A window with too little speech must be reported as "no speech", never forced into an
//! emotion: silence, breathing and room noise carry no emotion, and a model asked about
//! them answers anyway. earshot is a small neural VAD in pure Rust (no C, no ONNX
//! runtime), robust to noise above about 3 dB SNR and thousands of times faster than real
//! time, so it costs nothing next to the emotion model.
//!
//! earshot works on 256-sample (16 ms) frames at 16 kHz. This wrapper buffers arbitrary
//! chunks into those frames and adds an absolute level floor: a frame quieter than
//! [`VadConfig::floor_dbfs`] is never speech, whatever the network thinks of it (very
//! quiet hiss is where small networks are least sure).

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
            floor_dbfs: -60.0,
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
}

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

    #[test]
    fn quiet_hiss_is_below_the_floor() {
        // Deterministic white noise at about -70 dBFS.
        let mut x = 12345u32;
        let noise: Vec<f32> = (0..32_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.001
            })
            .collect();
        assert!(decisions(&noise, 512).iter().all(|f| !f.speech));
    }
}
