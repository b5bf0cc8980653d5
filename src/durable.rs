//! Writing files that people rely on later: sessions and labeled recordings.
//!
//! Three patterns cover everything emotty keeps:
//!
//! - **Replace a whole small file** ([`write_atomic`]): write a temporary file in the
//!   same directory, fsync it, rename it over the target, fsync the directory. A crash
//!   at any point leaves either the old file or the new one, never a torn mix.
//! - **Write an output the user named** ([`write_output`]): atomically when it is a new
//!   path or a regular file, in place when it is a FIFO, a device or a symbolic link.
//! - **Publish a new file** ([`TempFile::publish`]): the same, but the rename refuses
//!   to replace an existing file, so two recorders never overwrite each other's clips.
//! - **Append a line** ([`append_line`]): one `write` of the whole line on a file opened
//!   for appending, then fsync. Appends from several processes do not interleave, and a
//!   line whose predecessor was cut short (a full disk, a power cut) starts on a line
//!   of its own instead of gluing onto the torn one.
//!
//! Everything is created private to the user (directories 0700, files 0600 on Unix):
//! these files hold what people said and how they sounded.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Prefix of every temporary file emotty creates next to a file it is about to publish.
/// The process id follows it, so that a later run can tell an abandoned temporary file
/// (its writer is dead) from one being written right now.
pub const TEMP_PREFIX: &str = ".emotty-";

/// Suffix of temporary files; never an audio extension, so a crash mid-write cannot
/// leave something that a corpus scan would take for a clip.
pub const TEMP_SUFFIX: &str = ".partial";

/// Creates `dir` and its missing parents, private to the user.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates `dir` (not its parents) and fails if it already exists: how two sessions
/// started in the same second get different directories.
pub fn create_new_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens `path` for appending, creating it (private) if needed.
pub fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a new private file; fails if it exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).read(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename or a new file in `dir` survive a power cut. Best effort on
/// platforms where directories cannot be opened.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file next to its final place, named so that [`remove_abandoned`] can
/// clean it up after a crash. Removed on drop unless published.
pub struct TempFile {
    inner: tempfile::NamedTempFile,
}

impl TempFile {
    /// Creates a temporary file in `dir`.
    pub fn new_in(dir: &Path) -> io::Result<TempFile> {
        let inner = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)?;
        Ok(TempFile { inner })
    }

    pub fn file(&mut self) -> &mut File {
        self.inner.as_file_mut()
    }

    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// Flushes to disk and renames over `path` (replacing it).
    pub fn replace(mut self, path: &Path) -> io::Result<()> {
        self.file().sync_all()?;
        self.inner.persist(path).map_err(|e| e.error)?;
        sync_dir(&parent_dir(path))
    }

    /// Flushes to disk and renames to `path`, which must not exist. On
    /// [`io::ErrorKind::AlreadyExists`] the temporary file is handed back to try another
    /// name.
    pub fn publish(mut self, path: &Path) -> Result<(), (io::Error, Option<TempFile>)> {
        if let Err(e) = self.file().sync_all() {
            return Err((e, None));
        }
        match self.inner.persist_noclobber(path) {
            Ok(_) => sync_dir(&parent_dir(path)).map_err(|e| (e, None)),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                Err((e.error, Some(TempFile { inner: e.file })))
            }
            Err(e) => Err((e.error, None)),
        }
    }
}

/// Writes `path` whole, atomically: through a temporary file, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = TempFile::new_in(&parent_dir(path))?;
    tmp.file().write_all(bytes)?;
    tmp.replace(path)
}

/// Writes an output the user named (`--out PATH`) the way they expect of a file.
///
/// A new path or an existing regular file is written atomically (a private temporary
/// file beside it, fsync, rename), so a failed run never leaves half a file where the
/// old one was. Anything else at `path` (a FIFO, a character device such as
/// `/dev/stdout` or `/dev/full`, a symbolic link) is opened and written in place, as
/// the shell's `>` would: renaming over it would replace the device node or the link
/// with a regular file, and a FIFO's reader would never see the data. `write` may seek
/// (a zip archive does): for those targets it writes into an anonymous temporary file,
/// copied out when complete. New files are readable by their owner only.
pub fn write_output(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let in_place = match fs::symlink_metadata(path) {
        Ok(m) => !m.file_type().is_file(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if in_place {
        let mut staged = tempfile::tempfile()?;
        write(&mut staged)?;
        staged.seek(SeekFrom::Start(0))?;
        // create: a link to a file that does not exist yet gets it, as with `>`.
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        io::copy(&mut staged, &mut file)?;
        return file.flush();
    }
    let mut tmp = TempFile::new_in(&parent_dir(path))?;
    write(tmp.file())?;
    tmp.replace(path)
}

/// Checks, before any work, that an output the user named can be written: not a
/// directory, and its folder exists and is a folder. Returns the reason in words.
pub fn check_output(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("the output path is empty".into());
    }
    if let Ok(m) = fs::metadata(path)
        && m.is_dir()
    {
        return Err("is a directory".into());
    }
    let dir = parent_dir(path);
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(format!("its folder {} does not exist", dir.display()))
        }
        Err(e) => Err(format!("its folder {}: {e}", dir.display())),
    }
}

/// Reads the whole of `path` if it holds at most `limit` bytes; `Ok(None)` if it holds
/// more. Reads at most `limit + 1` bytes whatever `path` is, so `/dev/zero` or an
/// endless pipe named as a config file or a model gives an error, not a process that
/// grows until the machine runs out of memory.
pub fn read_at_most(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Appends `line` (without its newline) to `path` with one write, then fsyncs.
///
/// If the file does not end in a newline (an earlier append was cut short), the new
/// line starts with one, so the torn line stays alone and readers can skip it.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut file = open_append(path)?;
    append_line_to(&mut file, line)?;
    file.sync_data()
}

/// Like [`append_line`] on an already open file, without the fsync.
pub fn append_line_to(file: &mut File, line: &str) -> io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 2);
    if !ends_with_newline(file)? {
        buf.push(b'\n');
    }
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf)
}

fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Removes temporary files in `dir` left by emotty processes that no longer run.
/// Returns how many were removed. Files of live processes are left alone: they are
/// being written right now.
pub fn remove_abandoned(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        if !name.ends_with(TEMP_SUFFIX) {
            continue;
        }
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let abandoned = match pid {
            Some(pid) => !process_alive(pid),
            None => false,
        };
        if abandoned && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether a process with this id exists (on this machine).
/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`, field 22),
/// or `None` where that cannot be read. With the pid it names a process for good:
/// a pid is reused within the hour on a busy machine, a (pid, start time) pair is not.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count the
    // fields after its closing parenthesis, where field 3 begins.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        if pid == std::process::id() {
            return true;
        }
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_line_repairs_a_torn_predecessor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        append_line(&path, "{\"c\":3}").unwrap();
        append_line(&path, "{\"d\":4}").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":\n{\"c\":3}\n{\"d\":4}\n"
        );
    }

    #[test]
    fn write_atomic_replaces_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new contents");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn abandoned_temporary_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // 999999999 is above any pid_max, so no process has it; ours is alive.
        let dead = dir
            .path()
            .join(format!("{TEMP_PREFIX}999999999-abc{TEMP_SUFFIX}"));
        let live = dir.path().join(format!(
            "{TEMP_PREFIX}{}-abc{TEMP_SUFFIX}",
            std::process::id()
        ));
        let other = dir.path().join("keep.wav");
        for p in [&dead, &live, &other] {
            fs::write(p, b"x").unwrap();
        }
        assert_eq!(remove_abandoned(dir.path()).unwrap(), 1);
        assert!(!dead.exists() && live.exists() && other.exists());
    }

    #[test]
    fn a_full_disk_is_an_error_not_a_panic() {
        // /dev/full accepts the open and fails every write with ENOSPC.
        if crate::testing::dev_full("a_full_disk_is_an_error_not_a_panic").is_none() {
            return;
        }
        let err = append_line(Path::new("/dev/full"), "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    }
}
