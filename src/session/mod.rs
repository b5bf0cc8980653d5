//! Sessions: a durable log of every monitor and `emotty listen` run.
//!
//! A therapist reads a session days later, so a session must survive whatever ends the
//! program: a clean stop, a crash, `kill -9`, a lost SSH connection, a full disk. The
//! [`SessionWriter`] appends each analysis hop to `timeline.jsonl` and each marker,
//! note and warning to `events.jsonl` the moment it happens, fsyncs at most a second
//! apart, and replaces `session.json` whole (never in place). The on-disk layout is in
//! [`format`](mod@format); reading it back (listing, interrupted sessions, torn lines) in
//! [`store`]; summaries and debounced emotion changes in [`summary`]; CSV, JSON and
//! SVG in [`export`] and [`svg`].
//!
//! Nothing leaves the machine: sessions are plain files under the user's data
//! directory (private to the user), and no audio is stored unless asked for
//! (`--keep-audio`).
//!
//! # Using it from the monitor
//!
//! The monitor owns one writer per run and calls it from its UI loop; nothing here
//! blocks for long (one small `write` per row, an fsync a second).
//!
//! ```no_run
//! # use emotty::session::{SessionSetup, SessionWriter, ModelRecord};
//! # fn demo(engine: &emotty::engine::Engine, tap: &std::sync::mpsc::Receiver<emotty::engine::AudioChunk>,
//! #         model: &emotty::model::Model, dir: std::path::PathBuf) -> Result<(), emotty::session::SessionError> {
//! let mut session = SessionWriter::create(SessionSetup {
//!     sessions_dir: dir,                 // from config / --sessions-dir
//!     name: Some("client-42".into()),    // --session
//!     model: ModelRecord::from_info(model.info()),
//!     keep_audio: false,                 // --keep-audio
//! })?;
//! for event in engine.events().try_iter() {
//!     session.on_event(&event)?;         // every event, in order
//! }
//! for chunk in tap.try_iter() {
//!     session.on_audio(&chunk)?;         // only stored with keep_audio
//! }
//! session.marker("door knock")?;         // key press
//! session.note("talks about work")?;
//! session.pause()?;                      // no rows, silence in kept audio
//! session.resume()?;
//! session.tick()?;                       // when idle: keeps the one-second fsync promise
//! let summary = session.close()?;        // status "closed", end, summary
//! # let _ = summary; Ok(()) }
//! ```
//!
//! An error means the session has stopped being written (typically: the disk is full);
//! show it once and carry on without the session. What was written stays readable.
//! A new source is logged when its engine starts (its `Started` event), and
//! [`SessionWriter::recording_saved`] logs a saved labeled recording. Dropping the writer without `close` leaves the
//! session "interrupted", which is the truth after a crash.

pub mod export;
pub mod format;
pub mod store;
pub mod summary;
pub mod svg;
#[cfg(test)]
mod tests;
pub mod writer;

use std::path::PathBuf;

pub use format::{EndCause, EndRecord, ModelRecord, SessionMeta, Summary};
pub use store::{Loaded, SessionInfo, Status};
pub use writer::{SessionSetup, SessionWriter};

/// Errors writing or reading sessions. Each is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{}: cannot create the session folder: {cause}", path.display())]
    CreateDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: cannot write: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: not a session file: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("the session in {} is no longer written after an earlier error: {first}", dir.display())]
    Stopped { dir: PathBuf, first: String },
    #[error("no session \"{query}\" in {}", root.display())]
    NotFound { query: String, root: PathBuf },
    #[error("\"{query}\" matches several sessions ({candidates}); give the folder name")]
    Ambiguous { query: String, candidates: String },
}
