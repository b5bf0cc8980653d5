//! Input level metering: RMS and peak in dBFS, and clipping.
//!
//! Measured on the source's own samples (all channels, native rate) before any
//! resampling, because clipping is a property of what the converter delivered: a
//! resampler's filter can both hide a clipped peak and invent an overshoot.

/// Samples at or beyond this magnitude count as clipped (a 16-bit full-scale sample is
/// 32767/32768 ≈ 0.99997).
pub const CLIP_LEVEL: f32 = 0.999;

/// Lowest level reported, so silence prints as a number rather than minus infinity.
pub const FLOOR_DBFS: f32 = -120.0;

/// Converts a linear amplitude (1.0 = full scale) to dBFS, floored at [`FLOOR_DBFS`].
pub fn amplitude_dbfs(amplitude: f32) -> f32 {
    if amplitude <= 0.0 {
        FLOOR_DBFS
    } else {
        (20.0 * amplitude.log10()).max(FLOOR_DBFS)
    }
}

/// Accumulates level figures over blocks of a fixed number of frames.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    block_frames: usize,
    channels: usize,
    frames: usize,
    sum_squares: f64,
    peak: f32,
    clipped: bool,
    blocks_done: u64,
}

/// Level of one completed block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockLevel {
    /// Block number since the stream started.
    pub index: u64,
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
    pub clipped: bool,
}

impl LevelMeter {
    /// `block_frames` frames of `channels` interleaved samples make one block.
    pub fn new(block_frames: usize, channels: usize) -> Self {
        LevelMeter {
            block_frames: block_frames.max(1),
            channels: channels.max(1),
            frames: 0,
            sum_squares: 0.0,
            peak: 0.0,
            clipped: false,
            blocks_done: 0,
        }
    }

    /// Feeds interleaved samples (whole frames); calls `on_block` per completed block.
    pub fn push(&mut self, interleaved: &[f32], on_block: &mut dyn FnMut(BlockLevel)) {
        for frame in interleaved.chunks_exact(self.channels) {
            for &s in frame {
                let a = s.abs();
                self.sum_squares += f64::from(s) * f64::from(s);
                if a > self.peak {
                    self.peak = a;
                }
                if a >= CLIP_LEVEL {
                    self.clipped = true;
                }
            }
            self.frames += 1;
            if self.frames == self.block_frames {
                on_block(self.take());
            }
        }
    }

    fn take(&mut self) -> BlockLevel {
        let n = (self.frames * self.channels).max(1) as f64;
        let rms = (self.sum_squares / n).sqrt() as f32;
        let block = BlockLevel {
            index: self.blocks_done,
            rms_dbfs: amplitude_dbfs(rms),
            peak_dbfs: amplitude_dbfs(self.peak),
            clipped: self.clipped,
        };
        self.blocks_done += 1;
        self.frames = 0;
        self.sum_squares = 0.0;
        self.peak = 0.0;
        self.clipped = false;
        block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_is_minus_three_db_rms_and_zero_peak() {
        let sine: Vec<f32> = (0..4800)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin())
            .collect();
        let mut blocks = Vec::new();
        LevelMeter::new(2400, 1).push(&sine, &mut |b| blocks.push(b));
        assert_eq!(blocks.len(), 2);
        for b in blocks {
            assert!((b.rms_dbfs - -3.0103).abs() < 0.01, "{b:?}");
            assert!(b.peak_dbfs.abs() < 0.01, "{b:?}");
            assert!(b.clipped, "a full-scale sine touches the clip level");
        }
    }

    #[test]
    fn quiet_signal_is_not_clipped_and_silence_is_floored() {
        let mut blocks = Vec::new();
        let mut meter = LevelMeter::new(100, 2);
        meter.push(&vec![0.1; 200], &mut |b| blocks.push(b));
        meter.push(&vec![0.0; 200], &mut |b| blocks.push(b));
        assert_eq!(blocks.len(), 2);
        assert!((blocks[0].rms_dbfs - -20.0).abs() < 0.01);
        assert!(!blocks[0].clipped);
        assert_eq!(blocks[1].rms_dbfs, FLOOR_DBFS);
        assert_eq!(blocks[1].index, 1);
    }
}
