//! The spectrogram panel's state: screen columns of averaged mel frames, oldest first.

use std::collections::VecDeque;

/// Spectrogram frames (10 ms each) averaged into one screen column: 40 ms a column
/// shows about 3 s at 80 columns and 7 s at 200.
pub const FRAMES_PER_COLUMN: usize = 4;

/// Spectrogram columns kept: wider than any terminal is likely to be.
const MAX_COLUMNS: usize = 600;

#[derive(Debug, Clone, Default)]
pub struct SpectrogramState {
    /// Columns (dB per mel band), oldest first.
    columns: VecDeque<Vec<f32>>,
    /// The column being averaged, and how many frames it holds.
    acc: Vec<f32>,
    acc_n: usize,
}

impl SpectrogramState {
    /// Adds one frame's mel bands; true when it completed a column.
    pub fn push(&mut self, mel_db: &[f32]) -> bool {
        if self.acc.len() != mel_db.len() {
            self.acc = vec![0.0; mel_db.len()];
            self.acc_n = 0;
        }
        for (a, v) in self.acc.iter_mut().zip(mel_db) {
            *a += v;
        }
        self.acc_n += 1;
        if self.acc_n < FRAMES_PER_COLUMN {
            return false;
        }
        let n = self.acc_n as f32;
        let column: Vec<f32> = self.acc.iter().map(|a| a / n).collect();
        self.acc.iter_mut().for_each(|a| *a = 0.0);
        self.acc_n = 0;
        self.columns.push_back(column);
        while self.columns.len() > MAX_COLUMNS {
            self.columns.pop_front();
        }
        true
    }

    /// A new source: a column being averaged is dropped (the columns stay on screen).
    pub fn restart(&mut self) {
        self.acc.clear();
        self.acc_n = 0;
    }

    pub fn columns(&self) -> &VecDeque<Vec<f32>> {
        &self.columns
    }
}
