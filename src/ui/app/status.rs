//! The status line's state: the input level and its clipping mark, and the audio
//! dropped when the analysis fell behind. (Its speech mark is the emotion panel's
//! latest verdict.)

use crate::engine::Level;

/// How long the clipping mark stays lit after a clipped block, in seconds.
const CLIP_HOLD_S: f64 = 2.0;

#[derive(Debug, Clone, Default)]
pub struct StatusState {
    /// RMS and peak in dBFS of the latest block (`None`: no audio now).
    level: Option<(f32, f32)>,
    /// Session time of the latest clipped block.
    clipped_at: Option<f64>,
    /// Samples dropped by the running engine.
    dropped: u64,
}

impl StatusState {
    /// A new engine: no level, nothing dropped yet.
    pub fn started(&mut self) {
        self.level = None;
        self.dropped = 0;
    }

    /// The source stopped: no level to show.
    pub fn ended(&mut self) {
        self.level = None;
    }

    /// A level block at `now_s` of session time; the meter moves only when `shown`
    /// (not paused), the clipping mark always.
    pub fn level(&mut self, l: &Level, now_s: f64, shown: bool) {
        if l.clipped {
            self.clipped_at = Some(now_s);
        }
        if shown {
            self.level = Some((l.rms_dbfs, l.peak_dbfs));
        }
    }

    /// The engine's count of dropped samples; returns the frames newly dropped, if any.
    pub fn dropped(&mut self, total_samples: u64, channels: u64) -> Option<u64> {
        if total_samples <= self.dropped {
            return None;
        }
        let frames = (total_samples - self.dropped) / channels.max(1);
        self.dropped = total_samples;
        Some(frames)
    }

    pub fn current_level(&self) -> Option<(f32, f32)> {
        self.level
    }

    pub fn dropped_samples(&self) -> u64 {
        self.dropped
    }

    /// The clipping mark is lit at `now_s`.
    pub fn clipping(&self, now_s: f64) -> bool {
        self.clipped_at.is_some_and(|t| now_s - t <= CLIP_HOLD_S)
    }
}
