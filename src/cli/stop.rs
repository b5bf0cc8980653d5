//! Stopping a headless run cleanly on SIGINT, SIGTERM and SIGHUP.
//!
//! Ctrl-C, `kill`, `timeout`, a service manager and a dropped SSH connection (SIGHUP)
//! must all end with a closed session, not an interrupted one. The handlers only
//! record which signal arrived; the command's loop notices within a few
//! milliseconds, stops the engine and closes the session. In headless commands a
//! second SIGINT or SIGTERM ends the process at once (exit 130), for when closing
//! hangs; the monitor does not do that, since exiting there would leave the terminal
//! in raw mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Which stop signal arrived, if any.
pub struct StopSignals {
    which: Arc<AtomicUsize>,
}

impl StopSignals {
    /// For headless commands: a second SIGINT or SIGTERM exits at once.
    pub fn install() -> Result<StopSignals> {
        Self::install_with(true)
    }

    /// For the monitor, which must always get to restore the terminal.
    pub fn install_for_screen() -> Result<StopSignals> {
        Self::install_with(false)
    }

    fn install_with(second_exits: bool) -> Result<StopSignals> {
        let which = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(false));
        let forced: &[i32] = if second_exits {
            &[SIGINT, SIGTERM]
        } else {
            &[]
        };
        for &sig in forced {
            // Registered first, so it sees `armed` as it was before this signal.
            signal_hook::flag::register_conditional_shutdown(sig, 130, armed.clone())
                .context("cannot install the signal handlers")?;
            signal_hook::flag::register(sig, armed.clone())
                .context("cannot install the signal handlers")?;
        }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal_hook::flag::register_usize(sig, which.clone(), sig as usize)
                .context("cannot install the signal handlers")?;
        }
        Ok(StopSignals { which })
    }

    /// The name of the signal that asked us to stop.
    pub fn received(&self) -> Option<&'static str> {
        match self.which.load(Ordering::SeqCst) {
            0 => None,
            s if s == SIGINT as usize => Some("SIGINT"),
            s if s == SIGTERM as usize => Some("SIGTERM"),
            s if s == SIGHUP as usize => Some("SIGHUP"),
            _ => Some("a signal"),
        }
    }
}
