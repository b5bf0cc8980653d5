//! `--latency-log FILE`: how long each window took from its audio to the screen.

use std::fs::File;
use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};

/// A window waiting to be drawn, for the latency log.
pub(super) struct Pending {
    pub(super) index: u64,
    pub(super) end_s: f64,
    /// When the window's audio ended (the engine's stream time 0 plus `end_s`).
    pub(super) audio_end: Instant,
    pub(super) emitted: Instant,
}

/// `--latency-log FILE`: one JSON line per window drawn, with the time from the end
/// of its audio (and from the engine sending it) to the frame that showed it.
pub(super) struct LatencyLog {
    pub(super) file: File,
    pub(super) started: Option<Instant>,
}

impl LatencyLog {
    pub(super) fn create(path: &std::path::Path) -> Result<LatencyLog> {
        let file = File::create(path)
            .with_context(|| format!("{}: cannot create the latency log", path.display()))?;
        Ok(LatencyLog {
            file,
            started: None,
        })
    }

    /// A frame was just flushed: the windows up to `shown` are on screen.
    pub(super) fn drawn(&mut self, pending: &mut Vec<Pending>, shown: Option<u64>) {
        let now = Instant::now();
        let Some(shown) = shown else { return };
        pending.retain(|p| {
            if p.index > shown {
                return true;
            }
            let ms = |t: Instant| now.saturating_duration_since(t).as_secs_f64() * 1000.0;
            let _ = writeln!(
                self.file,
                "{{\"window\":{},\"end_s\":{:.3},\"audio_end_to_screen_ms\":{:.2},\"emitted_to_screen_ms\":{:.2}}}",
                p.index,
                p.end_s,
                ms(p.audio_end),
                ms(p.emitted)
            );
            false
        });
    }
}
