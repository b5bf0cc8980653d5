//! emotty: real-time speech emotion recognition.
//!
//! Data flows one way: a [`audio::source`] (microphone, file or pipe) writes samples
//! into a lock-free ring buffer; the [`engine`] thread reads them, downmixes and
//! resamples ([`dsp::resample`]), computes features ([`dsp::frontend`]), gates on voice
//! activity ([`dsp::vad`]), runs the [`model`] over a sliding window and sends typed
//! [`engine::Event`]s to whoever listens (a printer, the monitor, the session writer).
//! Consumers never reach into the engine: the full-screen monitor ([`ui`]), the
//! [`session`] writer and the labeled-[`recording`] recorder all consume the same events.

pub mod audio;
pub mod classify;
pub mod config;
pub mod consumers;
pub mod dataset;
pub mod dsp;
pub mod durable;
pub mod emotion;
pub mod engine;
pub mod model;
pub mod precision;
pub mod recording;
pub mod session;
/// Helpers the tests share: the unit tests and the suites under tests/.
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod ui;
