//! Feeding a streaming model: every frame once, in whole steps, with one state per
//! stream.
//!
//! Frames wait in a buffer until a verdict is due (or the buffer is full), then go to
//! the model in one call: offline that is one call per hop instead of one per step,
//! with the same verdicts, since the state carries everything between calls.
//!
//! **Silence.** Frames are fed as they come, speech or not, so the model's time stays
//! the stream's time through pauses between words and sentences. After
//! [`RESET_AFTER_S`] of no speech in a row the state starts over and the silence after
//! it is not fed, except its last [`LEAD_S`], fed before the next speech as a clip's
//! start would be: the model was trained on stretches of at most two windows from the
//! start of a clip, and a state carried through a long silence keeps the last speaker's
//! mood in the next one's verdicts, while a fresh state at the next word is what it
//! learnt from (and a silent room costs no model time).
//! A device change starts a new stream (a new analyzer). A pause in the monitor stops
//! only the display and the timeline; the state keeps following the sound.

use std::ops::Range;

use crate::model::{Model, ModelError, Prediction, StreamState};

/// Seconds of no speech in a row after which a stream's state starts over. Measured
/// (docs/streaming.md): of 80 RAVDESS clips each heard after another clip and a
/// silence, the verdict on the second matched its verdict alone in 65, 59, 55 and 58
/// cases after silences of 0.5, 2, 5 and 20 s with a 1.5 s reset; 49, 65, 60, 56 with
/// 3 s; 49, 42, 47, 54 with none. The pauses inside a sentence are shorter.
pub const RESET_AFTER_S: f64 = 1.5;

/// Seconds of the silence before speech that a fresh state is fed first, as the start
/// of a clip is: a state that begins at the first speech frame reads RAVDESS fold 0 at
/// UAR 0.535 against 0.594 from the clip's start (its running mean removal and
/// convolutions have no quiet to measure the voice against).
pub const LEAD_S: f64 = 1.0;

/// The most frames buffered before a call, whatever the hop.
const MAX_CHUNK_FRAMES: usize = 512;

/// One stream's feed of a streaming model.
pub(super) struct StreamFeed {
    state: StreamState,
    step: usize,
    dim: usize,
    window: u64,
    reset_after: u64,
    /// Frames of silence kept while idle, fed before the next speech.
    lead: usize,
    /// Frames waiting for the next call, row-major.
    pending: Vec<f32>,
    /// Frames in `pending` that make a call when reached.
    chunk: usize,
    /// Stream index of the next frame pushed.
    next: u64,
    /// Stream index of the first frame the state was fed since it was fresh.
    state_start: u64,
    /// Frames of no speech in a row up to the last frame pushed.
    silent_run: u64,
    /// After a long silence: nothing is fed until speech comes back.
    idle: bool,
    /// What the model said after its last call.
    last: Option<Prediction>,
}

/// What the model says about the stream so far, and the span it covers.
pub(super) struct Verdict<'a> {
    /// The stream frames pooled: up to a window, ending with the last frame fed.
    pub span: Range<u64>,
    pub prediction: &'a Prediction,
}

impl StreamFeed {
    /// A feed for `model` (a streaming model) with windows of `window` frames and
    /// verdicts every `hop` frames.
    pub(super) fn new(model: &Model, window: usize, hop: usize, frame_s: f64) -> StreamFeed {
        let step = model.step_frames().unwrap_or(1).max(1);
        let dim = model.feature_dim();
        let chunk = (hop.min(MAX_CHUNK_FRAMES) / step).max(1) * step;
        StreamFeed {
            state: model.new_stream(),
            step,
            dim,
            window: window as u64,
            reset_after: (RESET_AFTER_S / frame_s).round() as u64,
            lead: (LEAD_S / frame_s).round() as usize,
            pending: Vec::with_capacity((chunk.max((LEAD_S / frame_s) as usize) + step) * dim),
            chunk,
            next: 0,
            state_start: 0,
            silent_run: 0,
            idle: false,
            last: None,
        }
    }

    /// One frame of model input, in stream order; calls the model when a chunk is full.
    pub(super) fn push(
        &mut self,
        model: &Model,
        features: &[f32],
        speech: bool,
    ) -> Result<(), ModelError> {
        let index = self.next;
        self.next += 1;
        self.silent_run = if speech { 0 } else { self.silent_run + 1 };
        if self.idle {
            // The last `lead` frames of silence wait for the next speech.
            self.pending.extend_from_slice(features);
            let excess = self.pending.len().saturating_sub(self.lead * self.dim);
            self.pending.drain(..excess);
            if !speech {
                return Ok(());
            }
            self.idle = false;
            // The fresh state starts on the stream's step grid, so its verdicts end
            // where the hops do (a hop is whole steps) and not up to a step before.
            let frames = self.pending.len() / self.dim;
            let start = index + 1 - frames as u64;
            let skip = ((start.next_multiple_of(self.step as u64) - start) as usize).min(frames);
            self.pending.drain(..skip * self.dim);
            self.state_start = start + skip as u64;
        } else if self.silent_run >= self.reset_after {
            self.start_over(model);
            return Ok(());
        } else {
            if self.pending.is_empty() && self.state.frames() == 0 {
                if !index.is_multiple_of(self.step as u64) {
                    // A fresh state waits for the step grid (see above).
                    return Ok(());
                }
                self.state_start = index;
            }
            self.pending.extend_from_slice(features);
        }
        if self.pending.len() >= self.chunk * self.dim {
            self.feed(model)?;
        }
        Ok(())
    }

    /// Feeds the whole steps waiting and returns the verdict on the stream so far, or
    /// `None` when nothing has been fed since the state was fresh.
    pub(super) fn verdict(&mut self, model: &Model) -> Result<Option<Verdict<'_>>, ModelError> {
        if self.idle {
            // The silence kept for the next speech waits for it.
            return Ok(None);
        }
        self.feed(model)?;
        let fed = self.state.frames();
        match &self.last {
            Some(prediction) if fed > 0 => {
                let end = self.state_start + fed;
                Ok(Some(Verdict {
                    span: self.state_start.max(end.saturating_sub(self.window))..end,
                    prediction,
                }))
            }
            _ => Ok(None),
        }
    }

    fn feed(&mut self, model: &Model) -> Result<(), ModelError> {
        let frames = self.pending.len() / self.dim / self.step * self.step;
        if frames == 0 {
            return Ok(());
        }
        let values = frames * self.dim;
        let result = model.step(&mut self.state, &self.pending[..values], frames);
        self.pending.drain(..values);
        match result {
            Ok(prediction) => {
                self.last = Some(prediction);
                Ok(())
            }
            Err(e) => {
                // `step` has started the state over; what it was told is gone.
                self.last = None;
                self.pending.clear();
                Err(e)
            }
        }
    }

    fn start_over(&mut self, model: &Model) {
        self.idle = true;
        self.state = model.new_stream();
        self.pending.clear();
        self.last = None;
    }
}

#[cfg(test)]
mod tests;
