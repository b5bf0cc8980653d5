//! Taking the terminal over, and always giving it back.
//!
//! The monitor switches the terminal to raw mode and the alternate screen. If it then
//! dies without undoing that, the user's shell is left echoing nothing and drawing
//! nowhere, which over SSH looks like a hung machine. So the terminal is restored
//! from every way out: a normal quit (the [`TerminalGuard`] is dropped), a panic (a
//! hook restores it before the panic message is printed, so the message is readable),
//! and SIGTERM or SIGHUP (the command's loop sees the signal, or [`hung_up`], and quits
//! normally, closing the session too).
//!
//! While the UI owns the screen, file descriptor 2 points at /dev/null (or a log
//! file): alsa-lib, libjack and PulseAudio's client library print to stderr from deep
//! inside device probing, and any such line would land in the middle of the picture.
//! Our own errors are shown on screen, and printed after the terminal is restored.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal the monitor draws on: stdout behind a large buffer. Stdout's own
/// buffer is a line buffer of 1 KiB, and a frame is one long line of escape codes, so
/// without this a full-screen spectrogram frame would take a hundred `write`s.
pub type Term = Terminal<CrosstermBackend<io::BufWriter<io::Stdout>>>;

/// Bytes buffered per frame before a `write`: a 200×60 true-colour frame fits.
const FRAME_BUFFER: usize = 1 << 18;

/// The saved stderr, while it is redirected (-1: not redirected).
static SAVED_STDERR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
/// The terminal is in raw mode / the alternate screen.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Errors setting the terminal up.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(
        "standard output is not a terminal: the monitor needs one (use `emotty listen` in scripts and pipes)"
    )]
    NotATerminal,
    #[error("cannot set up the terminal: {0}")]
    Setup(#[source] io::Error),
}

/// Owns the terminal while the monitor runs; dropping it restores everything.
pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, hides the cursor, installs the panic
    /// hook and points stderr at `stderr_to` (or /dev/null).
    pub fn take(stderr_to: Option<&Path>) -> Result<TerminalGuard, TerminalError> {
        if !io::stdout().is_terminal() {
            return Err(TerminalError::NotATerminal);
        }
        install_panic_hook();
        enable_raw_mode().map_err(TerminalError::Setup)?;
        TAKEN.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        ) {
            restore();
            return Err(TerminalError::Setup(e));
        }
        redirect_stderr(stderr_to);
        let out = io::BufWriter::with_capacity(FRAME_BUFFER, io::stdout());
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(TerminalError::Setup(e));
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back: stderr, cursor, main screen, cooked mode. Safe to call
/// more than once and from the panic hook.
pub fn restore() {
    restore_stderr();
    if TAKEN.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableBracketedPaste,
            LeaveAlternateScreen,
            cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Points fd 2 at `to` (appending) or /dev/null, keeping the original to restore.
fn redirect_stderr(to: Option<&Path>) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        if SAVED_STDERR.load(Ordering::SeqCst) >= 0 {
            return;
        }
        let target = match to {
            Some(p) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p),
            None => std::fs::OpenOptions::new().write(true).open("/dev/null"),
        };
        let Ok(target) = target else { return };
        // SAFETY: descriptor juggling on fd 2 only; the duplicate is kept in
        // SAVED_STDERR until restore_stderr puts it back and closes it.
        unsafe {
            let saved = libc::dup(2);
            if saved < 0 {
                return;
            }
            if libc::dup2(target.as_raw_fd(), 2) < 0 {
                libc::close(saved);
                return;
            }
            SAVED_STDERR.store(saved, Ordering::SeqCst);
        }
    }
    #[cfg(not(unix))]
    let _ = to;
}

fn restore_stderr() {
    #[cfg(unix)]
    {
        let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
        if saved >= 0 {
            // SAFETY: `saved` is the descriptor dup'ed in redirect_stderr.
            unsafe {
                libc::dup2(saved, 2);
                libc::close(saved);
            }
        }
    }
}

/// Whether the terminal on stdout has hung up: the SSH connection or the terminal
/// window is gone. The kernel sends SIGHUP then, but crossterm's `read` spins forever on
/// a hung-up terminal (it keeps reading end-of-file) and never returns to the loop
/// that would see the signal, so the loop asks the descriptor itself, before reading.
pub fn hung_up() -> bool {
    #[cfg(unix)]
    {
        let mut fds = [libc::pollfd {
            fd: 1,
            events: 0,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, no timeout.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, 0) };
        ready > 0 && fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
    }
    #[cfg(not(unix))]
    false
}

/// Sleeps until a key may be waiting, the terminal hangs up, or `timeout` passes.
///
/// Used instead of crossterm's `poll(timeout)`, which on a hung-up terminal never
/// returns (it keeps reading end-of-file past its timeout), leaving a monitor whose
/// SSH connection dropped spinning at 100 % of a core with its session open. Polls the
/// keyboard (stdin, or /dev/tty when stdin is a pipe) and stdout for a hang-up.
pub fn wait_for_input(timeout: std::time::Duration) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        static TTY: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
        let keyboard = if io::stdin().is_terminal() {
            0
        } else {
            match TTY.get_or_init(|| std::fs::File::open("/dev/tty").ok()) {
                Some(f) => f.as_raw_fd(),
                None => -1,
            }
        };
        let mut fds = [
            libc::pollfd {
                fd: 1,
                events: 0,
                revents: 0,
            },
            libc::pollfd {
                fd: keyboard,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: two valid pollfds (a negative fd is ignored by poll).
        unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    }
    #[cfg(not(unix))]
    std::thread::sleep(timeout);
}
