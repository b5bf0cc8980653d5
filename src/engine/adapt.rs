//! Per-stream feature adaptation: the model hears each voice relative to itself.
//!
//! A live stream is one voice through one microphone for minutes, and what a model
//! trained on a few dozen studio voices gets most wrong about a new one is its levels:
//! how high its pitch sits, how loud the microphone makes it, how the room colours it.
//! The adaptation keeps running sums of the speech frames heard in the stream and maps
//! every model input so that the stream's statistics land on the training data's:
//!
//! ```text
//! x' = (x - m) * sqrt(v_train / v) + m_train
//! ```
//!
//! `m` and `v` are the stream's mean and variance blended with the training statistics
//! as if those had been heard for `prior_frames` speech frames first (the model's
//! metadata, [`AdaptationPrior`]). Before any speech the map is the identity, so the
//! first seconds behave as without adaptation; after a minute of speech the stream's
//! own statistics dominate. Training applies the same map per speaker with a random
//! amount heard (`training/emotty_train/adapt.py`, whose arithmetic this mirrors), so
//! the model is trained for every point between none and full adaptation.
//!
//! A window is mapped with the statistics of the stream up to its end. The sums are
//! plain `f64` additions, so a stream of hours loses nothing to rounding that matters.

use crate::model::AdaptationPrior;

/// A stream's variance is never taken below this share of the training variance: a
/// stretch of one steady tone must not blow a feature up.
const MIN_VARIANCE_RATIO: f64 = 0.05;

/// What a stream has heard: the count, sums and sums of squares of its speech frames.
/// Carried from one file to the next when several files are one stream (`--adapt
/// speaker`).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    frames: f64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl StreamStats {
    /// Nothing heard yet, for frames of `dim` values.
    pub fn new(dim: usize) -> Self {
        StreamStats {
            frames: 0.0,
            sum: vec![0.0; dim],
            sum_sq: vec![0.0; dim],
        }
    }

    /// Speech frames heard so far.
    pub fn frames(&self) -> f64 {
        self.frames
    }

    fn add(&mut self, frame: &[f32]) {
        self.frames += 1.0;
        for ((s, q), &x) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(frame) {
            let x = f64::from(x);
            *s += x;
            *q += x * x;
        }
    }
}

/// One stream's adaptation: the model's prior, what the stream has heard, and the
/// current map. Allocates only when created.
#[derive(Debug, Clone)]
pub struct Adaptation {
    mean: Vec<f64>,
    var: Vec<f64>,
    prior_frames: f64,
    stats: StreamStats,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Adaptation {
    /// A fresh stream adapting from `prior`.
    pub fn new(prior: &AdaptationPrior) -> Self {
        let dim = prior.mean.len();
        Adaptation {
            mean: prior.mean.iter().map(|&m| f64::from(m)).collect(),
            var: prior
                .std
                .iter()
                .map(|&s| (f64::from(s) * f64::from(s)).max(1e-12))
                .collect(),
            prior_frames: prior.prior_frames,
            stats: StreamStats::new(dim),
            scale: vec![1.0; dim],
            shift: vec![0.0; dim],
        }
    }

    /// Counts one speech frame (the model's input for it).
    pub fn observe(&mut self, frame: &[f32]) {
        self.stats.add(frame);
    }

    /// Forgets the stream: the next window is mapped as if nothing had been heard.
    pub fn reset(&mut self) {
        self.stats = StreamStats::new(self.mean.len());
    }

    /// What the stream has heard, to carry into the next file of the same stream.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Continues a stream from what it had heard. Sums of another width are ignored
    /// (they belong to another model) and the stream starts afresh.
    pub fn resume(&mut self, stats: StreamStats) {
        if stats.sum.len() == self.mean.len() {
            self.stats = stats;
        } else {
            self.reset();
        }
    }

    /// Maps `window` (frames of the model's width, one after another) in place with
    /// the statistics heard so far.
    pub fn apply(&mut self, window: &mut [f32]) {
        self.update_map();
        let dim = self.scale.len();
        for frame in window.chunks_exact_mut(dim) {
            for ((x, &a), &b) in frame.iter_mut().zip(&self.scale).zip(&self.shift) {
                *x = *x * a + b;
            }
        }
    }

    fn update_map(&mut self) {
        let n0 = self.prior_frames;
        let w = n0 + self.stats.frames;
        for d in 0..self.mean.len() {
            let (m0, v0) = (self.mean[d], self.var[d]);
            let m = (n0 * m0 + self.stats.sum[d]) / w;
            let e2 = (n0 * (v0 + m0 * m0) + self.stats.sum_sq[d]) / w;
            let v = (e2 - m * m).max(MIN_VARIANCE_RATIO * v0).max(1e-12);
            let scale = (v0 / v).sqrt();
            self.scale[d] = scale as f32;
            self.shift[d] = (m0 - m * scale) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior() -> AdaptationPrior {
        AdaptationPrior {
            mean: vec![1.0, -2.0],
            std: vec![2.0, 0.5],
            prior_frames: 100.0,
        }
    }

    #[test]
    fn nothing_heard_is_the_identity() {
        let mut a = Adaptation::new(&prior());
        let mut w = vec![3.0, 4.0, -1.0, 0.25];
        a.apply(&mut w);
        for (x, y) in w.iter().zip([3.0, 4.0, -1.0, 0.25]) {
            assert!((x - y).abs() < 1e-5, "{w:?}");
        }
    }

    #[test]
    fn a_long_stream_lands_on_the_training_statistics() {
        // A voice whose first value sits at 10 ± 1 and second at 5 ± 0.3: after ten
        // hours of it, its frames map to the training mean and deviation.
        let mut a = Adaptation::new(&prior());
        let frame = |i: usize| {
            let s = if i.is_multiple_of(2) { 1.0 } else { -1.0 };
            [10.0 + s, 5.0 + 0.3 * s]
        };
        // Ten hours of speech frames.
        for i in 0..3_600_000 {
            a.observe(&frame(i));
        }
        let mut w: Vec<f32> = (0..1000).flat_map(frame).collect();
        a.apply(&mut w);
        let (mut m, mut q) = ([0.0f64; 2], [0.0f64; 2]);
        for f in w.chunks_exact(2) {
            for d in 0..2 {
                m[d] += f64::from(f[d]) / 1000.0;
                q[d] += f64::from(f[d]) * f64::from(f[d]) / 1000.0;
            }
        }
        let sd = [(q[0] - m[0] * m[0]).sqrt(), (q[1] - m[1] * m[1]).sqrt()];
        assert!(
            (m[0] - 1.0).abs() < 0.02 && (m[1] + 2.0).abs() < 0.02,
            "{m:?}"
        );
        assert!(
            (sd[0] - 2.0).abs() < 0.03 && (sd[1] - 0.5).abs() < 0.01,
            "{sd:?}"
        );
    }

    #[test]
    fn the_prior_weighs_as_many_frames_as_it_says() {
        // 100 frames at the training mean + 4 in the first value, as many as the prior
        // counts: the stream's mean is half way, so the map shifts by -2.
        let mut a = Adaptation::new(&AdaptationPrior {
            mean: vec![0.0],
            std: vec![1.0],
            prior_frames: 100.0,
        });
        for _ in 0..100 {
            a.observe(&[4.0]);
        }
        // Blended: mean 2, E[x²] = (100·1 + 100·16)/200 = 8.5, variance 4.5.
        let mut w = vec![2.0];
        a.apply(&mut w);
        assert!(w[0].abs() < 1e-6, "{w:?}");
        let mut w = vec![2.0 + 4.5f32.sqrt()];
        a.apply(&mut w);
        assert!((w[0] - 1.0).abs() < 1e-5, "{w:?}");
    }

    #[test]
    fn a_steady_tone_does_not_blow_a_feature_up() {
        let mut a = Adaptation::new(&prior());
        for _ in 0..100_000 {
            a.observe(&[1.0, -2.0]);
        }
        let mut w = vec![2.0, -1.5];
        a.apply(&mut w);
        // At most 1/sqrt(0.05) ≈ 4.5 times the distance from the mean.
        assert!((w[0] - 1.0).abs() <= 4.48, "{w:?}");
        assert!((w[1] + 2.0).abs() <= 2.24, "{w:?}");
    }

    #[test]
    fn reset_and_resume() {
        let mut a = Adaptation::new(&prior());
        a.observe(&[5.0, 5.0]);
        let heard = a.stats().clone();
        assert_eq!(heard.frames(), 1.0);
        a.reset();
        assert_eq!(a.stats().frames(), 0.0);
        a.resume(heard.clone());
        assert_eq!(a.stats(), &heard);
        a.resume(StreamStats::new(3));
        assert_eq!(a.stats().frames(), 0.0);
    }
}
