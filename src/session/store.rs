//! Reading sessions back: listing, finding one by id or name, loading its files.
//!
//! Reading never fails because a session was cut short. A session whose
//! `session.json` still says "running" while no process runs it is **interrupted**; its
//! timeline and events are read up to the last complete line, and a torn last line (the
//! process died while writing it) is skipped with a warning. Kept audio of an
//! interrupted session may have a WAV header that is up to a second behind its data;
//! [`repair_audio`] rewrites the header to cover every complete frame, and the
//! `sessions` commands run it before showing such a session.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SessionError;
use super::format::{
    EVENTS_FILE, EventRecord, META_FILE, SessionMeta, Summary, TIMELINE_FILE, TimelineRow,
    WrittenStatus,
};
use super::summary::summarize;
use super::writer::{boot_id, this_host};
use crate::audio::wav;
use crate::durable::process_alive;

/// A session's state as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Closed properly.
    Closed,
    /// Being written right now by a live process on this machine.
    Running,
    /// Not closed, and its writer is gone (crash, kill, power cut).
    Interrupted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Closed => "closed",
            Status::Running => "running",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One session found on disk.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub dir: PathBuf,
    pub meta: SessionMeta,
    pub status: Status,
}

impl SessionInfo {
    pub fn id(&self) -> &str {
        &self.meta.id
    }
}

/// A session with its files read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub info: SessionInfo,
    pub rows: Vec<TimelineRow>,
    pub events: Vec<EventRecord>,
    /// From `session.json` for a closed session, else computed from the files.
    pub summary: Summary,
    /// Lines that could not be read, and similar; never fatal.
    pub warnings: Vec<String>,
}

/// What [`list`] found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Oldest first.
    pub sessions: Vec<SessionInfo>,
    /// Folders that are not readable sessions.
    pub warnings: Vec<String>,
}

/// Decides whether a "running" session is really running.
pub fn status_of(meta: &SessionMeta) -> Status {
    if meta.status == WrittenStatus::Closed {
        return Status::Closed;
    }
    let w = &meta.writer;
    let same_boot = match (&w.boot_id, boot_id()) {
        (Some(a), Some(b)) => *a == b,
        _ => true,
    };
    // Sessions written before the start time was recorded go by the pid alone.
    let same_process = || match (w.started, crate::durable::process_start_time(w.pid)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if w.host == this_host() && same_boot && process_alive(w.pid) && same_process() {
        Status::Running
    } else {
        Status::Interrupted
    }
}

/// Reads a session file whole, refusing anything but a regular file: a FIFO left
/// where `session.json` should be would otherwise block `emotty sessions` forever, and
/// a device would be read without end. The open does not wait (O_NONBLOCK), the type
/// is checked on the open file, then it is read.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads one session's `session.json`.
pub fn open(dir: &Path) -> Result<SessionInfo, SessionError> {
    let path = dir.join(META_FILE);
    let read_error = |cause| SessionError::Read {
        path: path.clone(),
        cause,
    };
    let text = String::from_utf8(read_regular(&path).map_err(read_error)?).map_err(|_| {
        SessionError::Invalid {
            path: path.clone(),
            message: "not UTF-8 text".into(),
        }
    })?;
    let meta: SessionMeta = serde_json::from_str(&text).map_err(|e| SessionError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let status = status_of(&meta);
    Ok(SessionInfo {
        dir: dir.to_path_buf(),
        meta,
        status,
    })
}

/// Lists the sessions in `root`, oldest first. A missing `root` has no sessions.
pub fn list(root: &Path) -> Result<Listing, SessionError> {
    let mut listing = Listing::default();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
        Err(source) => {
            return Err(SessionError::Read {
                path: root.to_path_buf(),
                cause: source,
            });
        }
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        match open(&dir) {
            Ok(info) => listing.sessions.push(info),
            Err(e) => listing.warnings.push(e.to_string()),
        }
    }
    listing.sessions.sort_by(|a, b| {
        a.meta
            .start
            .utc
            .cmp(&b.meta.start.utc)
            .then_with(|| a.meta.id.cmp(&b.meta.id))
    });
    listing.warnings.sort();
    Ok(listing)
}

/// Finds a session by `latest`, its directory name, its name (`--session`), a unique
/// prefix of its directory name, or a path to its directory.
pub fn resolve(root: &Path, query: &str) -> Result<SessionInfo, SessionError> {
    let as_path = Path::new(query);
    if as_path.join(META_FILE).is_file() {
        return open(as_path);
    }
    let listing = list(root)?;
    let sessions = listing.sessions;
    let not_found = || SessionError::NotFound {
        query: query.to_string(),
        root: root.to_path_buf(),
    };
    if query == "latest" {
        return sessions.into_iter().last().ok_or_else(not_found);
    }
    if let Some(s) = sessions.iter().find(|s| s.meta.id == query) {
        return Ok(s.clone());
    }
    let pick = |matches: Vec<&SessionInfo>| -> Result<Option<SessionInfo>, SessionError> {
        match matches.len() {
            0 => Ok(None),
            1 => Ok(Some(matches[0].clone())),
            _ => Err(SessionError::Ambiguous {
                query: query.to_string(),
                candidates: matches
                    .iter()
                    .map(|s| s.meta.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    };
    let by_name = sessions
        .iter()
        .filter(|s| s.meta.name.as_deref() == Some(query))
        .collect();
    if let Some(s) = pick(by_name)? {
        return Ok(s);
    }
    let by_prefix = sessions
        .iter()
        .filter(|s| s.meta.id.starts_with(query))
        .collect();
    pick(by_prefix)?.ok_or_else(not_found)
}

/// Reads a JSON-lines file. A missing file is empty; a line that does not parse is
/// skipped with a warning (a torn last line gets a warning saying so).
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, Vec<String>), SessionError> {
    let mut warnings = Vec::new();
    let bytes = match read_regular(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            warnings.push(format!("{}: missing", path.display()));
            return Ok((Vec::new(), warnings));
        }
        Err(source) => {
            return Err(SessionError::Read {
                path: path.to_path_buf(),
                cause: source,
            });
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len().saturating_sub(1);
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(v) => out.push(v),
            Err(_) if i == last && !complete => warnings.push(format!(
                "{}:{}: last line is incomplete (the session was cut off while writing it); ignored",
                path.display(),
                i + 1
            )),
            Err(e) => warnings.push(format!("{}:{}: ignored: {e}", path.display(), i + 1)),
        }
    }
    Ok((out, warnings))
}

/// Reads a session's timeline and events.
pub fn load(info: &SessionInfo) -> Result<Loaded, SessionError> {
    let (rows, mut warnings) = read_jsonl::<TimelineRow>(&info.dir.join(TIMELINE_FILE))?;
    let (events, w) = read_jsonl::<EventRecord>(&info.dir.join(EVENTS_FILE))?;
    warnings.extend(w);
    let summary = match (&info.meta.summary, info.status) {
        (Some(s), Status::Closed) => s.clone(),
        _ => summarize(&rows, &events, info.meta.hop_s, None),
    };
    Ok(Loaded {
        info: info.clone(),
        rows,
        events,
        summary,
        warnings,
    })
}

/// The summary without reading the files when `session.json` has one.
pub fn quick_summary(info: &SessionInfo) -> Result<(Summary, Vec<String>), SessionError> {
    match (&info.meta.summary, info.status) {
        (Some(s), Status::Closed) => Ok((s.clone(), Vec::new())),
        _ => {
            let l = load(info)?;
            Ok((l.summary, l.warnings))
        }
    }
}

/// Rewrites the headers of an interrupted session's kept audio so every complete frame
/// is readable. Returns one message per file repaired or found unreadable. Does nothing
/// to sessions that are closed or still running.
pub fn repair_audio(info: &SessionInfo) -> Vec<String> {
    let mut messages = Vec::new();
    if info.status != Status::Interrupted {
        return messages;
    }
    let Some(audio) = &info.meta.audio else {
        return messages;
    };
    for name in &audio.files {
        let path = info.dir.join(name);
        match wav::repair_header(&path) {
            Ok(r) if r.changed => messages.push(format!(
                "{}: header repaired to cover {:.1} s of audio",
                path.display(),
                r.frames as f64 / f64::from(r.sample_rate.max(1))
            )),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => messages.push(format!("{}: cannot repair: {e}", path.display())),
        }
    }
    messages
}
