//! When the analysis windows end and what they span, declared once: the live engine
//! follows it frame by frame, and `emotty features` writes every clip's windows with
//! it, so training scores clips exactly as the product will.
//!
//! Regular windows end every hop from the first hop multiple that is at least the
//! minimum window, each covering up to a full window of the frames before its end.
//! After the last frame one more window covers a tail longer than a quarter hop, and a
//! stream shorter than the minimum window (a single word) still gets one window of its
//! whole length if it has at least a tenth of the minimum, and 10 frames.

use std::ops::Range;

/// The window length the models are trained for, in seconds (the model's metadata
/// carries the one it was trained with).
pub const DEFAULT_WINDOW_S: f64 = 3.0;
/// The shortest partial window at the start of a stream worth a verdict, in seconds.
pub const DEFAULT_MIN_WINDOW_S: f64 = 1.0;

/// The window schedule of one stream, in frames.
#[derive(Debug, Clone)]
pub struct Schedule {
    window: u64,
    hop: u64,
    min: u64,
    next_end: u64,
    last_end: u64,
}

impl Schedule {
    /// Windows of `window` frames every `hop` frames, the first when `min` frames are in
    /// (all at least 1; `min` at most `window`).
    pub fn new(window: usize, hop: usize, min: usize) -> Schedule {
        let window = window.max(1) as u64;
        let hop = hop.max(1) as u64;
        let min = (min as u64).clamp(1, window);
        Schedule {
            window,
            hop,
            min,
            next_end: min.div_ceil(hop) * hop,
            last_end: 0,
        }
    }

    /// Frames in a full window.
    pub fn window_frames(&self) -> usize {
        self.window as usize
    }

    /// Frames between window ends.
    pub fn hop_frames(&self) -> usize {
        self.hop as usize
    }

    /// The window that ends once `frames` frames are in, if one does. Call it after
    /// every frame.
    pub fn after(&mut self, frames: u64) -> Option<Range<u64>> {
        if frames != self.next_end {
            return None;
        }
        self.next_end += self.hop;
        Some(self.take(frames))
    }

    /// The stream ended after `frames` frames: its last window, if its tail is worth one.
    pub fn at_end(&mut self, frames: u64) -> Option<Range<u64>> {
        let tail = frames - self.last_end;
        let worth = if self.last_end == 0 {
            frames >= (self.min / 10).max(10)
        } else {
            tail * 4 >= self.hop
        };
        (worth && tail > 0).then(|| self.take(frames))
    }

    /// Every window of a stream of `frames` frames.
    pub fn all(mut self, frames: u64) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = (1..=frames).filter_map(|f| self.after(f)).collect();
        out.extend(self.at_end(frames));
        out
    }

    fn take(&mut self, end: u64) -> Range<u64> {
        self.last_end = end;
        end - end.min(self.window)..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_a_clip_as_the_engine_cuts_them() {
        // 3 s windows every 0.5 s from 1 s, 10 ms frames.
        let s = || Schedule::new(300, 50, 100);
        // 4.2 s: ends at 1.0, 1.5, …, 4.0 s, then the 0.2 s tail (more than a quarter hop).
        let w = s().all(420);
        assert_eq!(w.first(), Some(&(0..100)));
        assert_eq!(w[4], (0..300));
        assert_eq!(w[5], (50..350));
        assert_eq!(w.last(), Some(&(120..420)));
        assert_eq!(w.len(), 8);
        // A tail of a tenth of a hop is covered by the window before it.
        assert_eq!(s().all(405).last(), Some(&(100..400)));
        // A single word shorter than the minimum: one window of its whole length...
        assert_eq!(s().all(70), vec![0..70]);
        // ...but not a click.
        assert_eq!(s().all(9), vec![]);
    }
}
