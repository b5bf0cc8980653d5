//! Classification metrics as the field reports them.
//!
//! Emotion corpora are unbalanced (RAVDESS has half as many neutral clips as any other
//! class; TESS has no calm at all), so accuracy alone flatters a model that favours the
//! big classes. Unweighted average recall (UAR: the mean of per-class recalls over the
//! classes present) and macro-F1 are the headline figures; accuracy and the confusion
//! matrix are there to read them by.
//!
//! A clip in which the engine found no speech gets no emotion. It still counts: it is a
//! miss, shown in its own column of the confusion matrix, never silently dropped.

use serde::Serialize;

/// Counts of (true class, predicted class). The last column is "no speech".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    /// `matrix[true][predicted]`, with `predicted == labels.len()` meaning no speech.
    pub matrix: Vec<Vec<u64>>,
}

/// The summary figures of a confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub clips: u64,
    pub no_speech: u64,
    pub accuracy: f64,
    /// Unweighted average recall over the classes that occur.
    pub uar: f64,
    /// Mean F1 over the classes that occur in the truth or the predictions.
    pub macro_f1: f64,
    /// Recall per label; `None` where the class does not occur in the truth.
    pub recall: Vec<Option<f64>>,
}

impl Confusion {
    pub fn new(labels: &[String]) -> Self {
        let n = labels.len();
        Confusion {
            labels: labels.to_vec(),
            matrix: vec![vec![0; n + 1]; n],
        }
    }

    /// Records one clip; `predicted == None` means no speech was found.
    pub fn add(&mut self, truth: usize, predicted: Option<usize>) {
        let col = predicted.unwrap_or(self.labels.len());
        self.matrix[truth][col] += 1;
    }

    /// Adds another matrix over the same labels (pooling corpora).
    pub fn merge(&mut self, other: &Confusion) {
        for (row, other_row) in self.matrix.iter_mut().zip(&other.matrix) {
            for (a, b) in row.iter_mut().zip(other_row) {
                *a += b;
            }
        }
    }

    pub fn scores(&self) -> Scores {
        let n = self.labels.len();
        let row_total = |t: usize| self.matrix[t].iter().sum::<u64>();
        let col_total = |p: usize| self.matrix.iter().map(|r| r[p]).sum::<u64>();
        let clips: u64 = (0..n).map(row_total).sum();
        let correct: u64 = (0..n).map(|i| self.matrix[i][i]).sum();
        let no_speech = col_total(n);
        let recall: Vec<Option<f64>> = (0..n)
            .map(|t| {
                let total = row_total(t);
                (total > 0).then(|| self.matrix[t][t] as f64 / total as f64)
            })
            .collect();
        let present: Vec<f64> = recall.iter().flatten().copied().collect();
        let uar = mean(&present);
        let f1s: Vec<f64> = (0..n)
            .filter(|&c| row_total(c) > 0 || col_total(c) > 0)
            .map(|c| {
                let tp = self.matrix[c][c] as f64;
                let predicted = col_total(c) as f64;
                let actual = row_total(c) as f64;
                if tp == 0.0 {
                    0.0
                } else {
                    2.0 * tp / (predicted + actual)
                }
            })
            .collect();
        Scores {
            clips,
            no_speech,
            accuracy: if clips > 0 {
                correct as f64 / clips as f64
            } else {
                0.0
            },
            uar,
            macro_f1: mean(&f1s),
            recall,
        }
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn figures_match_a_hand_computed_example() {
        // truth 0: 3 clips (2 right, 1 → class 1); truth 1: 1 clip (right);
        // truth 2: 2 clips (1 → class 0, 1 no speech).
        let mut c = Confusion::new(&labels(3));
        for (t, p) in [
            (0, Some(0)),
            (0, Some(0)),
            (0, Some(1)),
            (1, Some(1)),
            (2, Some(0)),
            (2, None),
        ] {
            c.add(t, p);
        }
        let s = c.scores();
        assert_eq!(s.clips, 6);
        assert_eq!(s.no_speech, 1);
        assert!((s.accuracy - 3.0 / 6.0).abs() < 1e-12);
        // recalls 2/3, 1, 0 → UAR 5/9
        assert_eq!(s.recall, vec![Some(2.0 / 3.0), Some(1.0), Some(0.0)]);
        assert!((s.uar - 5.0 / 9.0).abs() < 1e-12);
        // F1: c0 tp 2, predicted 3, actual 3 → 2/3; c1 tp 1, pred 2, actual 1 → 2/3; c2 → 0.
        assert!((s.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 0.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn absent_classes_do_not_dilute_uar() {
        // TESS has no "calm": a perfect TESS run must read 1.0, not 7/8.
        let mut c = Confusion::new(&labels(3));
        c.add(0, Some(0));
        c.add(2, Some(2));
        let s = c.scores();
        assert_eq!(s.recall[1], None);
        assert_eq!(s.uar, 1.0);
        assert_eq!(s.macro_f1, 1.0);
    }

    #[test]
    fn merging_pools_counts() {
        let mut a = Confusion::new(&labels(2));
        a.add(0, Some(0));
        let mut b = Confusion::new(&labels(2));
        b.add(1, None);
        a.merge(&b);
        assert_eq!(a.matrix, vec![vec![1, 0, 0], vec![0, 0, 1]]);
    }
}
