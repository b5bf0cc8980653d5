//! Running a streaming model: one state per stream, fed whole steps of frames.

use tract_onnx::prelude::*;

use super::{Model, ModelError, Prediction};

/// One stream's state for a streaming model, created from the shared model by
/// [`Model::new_stream`] and carried from call to call by [`Model::step`].
///
/// The state is all the model remembers of the stream (its convolutions' left context,
/// the LSTM's h and c, the recent outputs it pools); replacing it with a fresh one
/// starts the stream over.
#[derive(Debug, Clone)]
pub struct StreamState {
    tensors: Vec<Tensor>,
    /// Frames fed since the state was fresh.
    frames: u64,
}

impl StreamState {
    /// Frames fed since the state was fresh.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl Model {
    /// Whether the model keeps its own state and is run through [`step`](Model::step).
    pub fn is_streaming(&self) -> bool {
        self.info.meta.streaming.is_some()
    }

    /// A streaming model's frames per step (every call feeds whole steps); `None` for a
    /// window model.
    pub fn step_frames(&self) -> Option<usize> {
        self.info
            .meta
            .streaming
            .as_ref()
            .map(|s| s.step_frames as usize)
    }

    /// A fresh state for a new stream (empty for a window model).
    pub fn new_stream(&self) -> StreamState {
        StreamState {
            tensors: self.fresh_state.clone(),
            frames: 0,
        }
    }

    /// Feeds `frames` frames (a whole number of steps, frames × feature_dim values,
    /// row-major) to a streaming model and returns what it says about the last window
    /// fed. On an error the state starts over: a half-updated state would be wrong in
    /// ways no later output could show.
    pub fn step(
        &self,
        state: &mut StreamState,
        features: &[f32],
        frames: usize,
    ) -> Result<Prediction, ModelError> {
        let Some(step) = self.step_frames() else {
            return Err(ModelError::WrongKind {
                path: self.info.path.clone(),
                reason: "a window model is run on whole windows, not fed step by step",
            });
        };
        if !frames.is_multiple_of(step) {
            return Err(ModelError::PartialStep { frames, step });
        }
        let input = self.features_tensor(features, frames)?;
        let mut inputs: TVec<TValue> = tvec![input.into_tvalue()];
        inputs.extend(state.tensors.drain(..).map(Tensor::into_tvalue));
        let result = self.run(inputs, frames).and_then(|(raw, affect, rest)| {
            let next = self.next_state(rest)?;
            let prediction = Prediction {
                probs: self.to_probabilities(&raw, frames)?,
                affect: affect.map(|a| self.to_affect(&a, frames)).transpose()?,
            };
            Ok((prediction, next))
        });
        match result {
            Ok((prediction, next)) => {
                state.tensors = next;
                state.frames += frames as u64;
                Ok(prediction)
            }
            Err(e) => {
                *state = self.new_stream();
                Err(e)
            }
        }
    }

    /// The graph's state outputs, checked against the declared state's shapes.
    fn next_state(&self, outputs: TVec<TValue>) -> Result<Vec<Tensor>, ModelError> {
        outputs
            .into_iter()
            .zip(&self.fresh_state)
            .map(|(value, fresh)| {
                let tensor = value.into_tensor();
                if tensor.shape() != fresh.shape() || tensor.datum_type() != f32::datum_type() {
                    return Err(self.bad_graph(format!(
                        "model's state output has shape {:?} ({:?}); its input is {:?} (f32)",
                        tensor.shape(),
                        tensor.datum_type(),
                        fresh.shape()
                    )));
                }
                Ok(tensor)
            })
            .collect()
    }
}
