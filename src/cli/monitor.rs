//! `emotty` with no command: the full-screen monitor.
//!
//! This is the edge: the only place that touches the terminal, the audio devices and
//! the disk for the monitor. Engine events go, in order, to the session writer, the
//! recorder and the [`App`]; the app's [`Command`]s (markers, notes, recordings, a new
//! device) are carried out here and their outcome told back to the app. The loop
//! blocks on the engine's channel (or, without a source, on the keyboard) with a
//! timeout, so an idle monitor costs next to nothing, and it draws only when the app
//! says something changed: at most [`FRAME`] apart for keys and log lines,
//! [`MOVING_FRAME`] apart when only the spectrogram moves, and at once
//! ([`VERDICT_AFTER`]) for a new window's verdict (one per hop), which keeps the bars
//! close to the audio.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{self as term_event, Event as TermEvent, KeyEventKind};

use emotty::audio::source::{Feed, SourceGuard};
use emotty::consumers::Consumers;
use emotty::engine::{AnalysisConfig, AudioChunk, EndReason, Engine, Event};
use emotty::model::Model;
use emotty::recording::{Recorder, RecorderConfig};
use emotty::session::{EndCause, ModelRecord, SessionSetup, SessionWriter};
use emotty::ui::app::{LogKind, Redraw};
use emotty::ui::terminal::TerminalGuard;
use emotty::ui::theme::Colours;
use emotty::ui::theme::{self, ColorDepth};
use emotty::ui::{self, App, AppSetup, Command, Theme};

use super::listen::{check_session_name, report_closed};
use emotty::audio::decode::RawEncoding;

use super::stop::StopSignals;
use super::{AnalysisArgs, SessionArgs, SourceArgs, analysis_config, load_model, open_source};

mod edge;
mod latency;

use edge::{Edge, Live};
use latency::{LatencyLog, Pending};

/// Shortest time between two frames: about 30 per second.
const FRAME: Duration = Duration::from_millis(33);
/// Shortest time between frames when only the spectrogram and level moved: two
/// spectrogram columns (2 × 4 × 10 ms), so it scrolls by the same step every frame.
/// At 200×60 in true colour a scrolling frame rewrites most of the screen, and frames
/// are most of the monitor's CPU.
const MOVING_FRAME: Duration = Duration::from_millis(80);
/// A new verdict may follow any frame this soon, even one drawn a moment before: the
/// spectrogram columns of the verdict's audio reach the monitor just ahead of it (the
/// model runs after the front end) and often get their own frame, and any wait here
/// is added to every such verdict's latency (a 0.24 s hop is exactly three
/// spectrogram frames, so it meets one nearly every time). The frame count is the
/// same either way: one per verdict...
const VERDICT_AFTER: Duration = Duration::ZERO;
/// ... as long as the previous verdict frame was at least [`verdict_spacing`] ago. A
/// live source brings one verdict per hop, so each gets the short gap; a fast source
/// (a pipe, `--fast`) brings hundreds a second, and those keep [`FRAME`] apart: at most
/// about 30 frames a second either way.
const VERDICT_SPACING: Duration = Duration::from_millis(250);

/// How long after the previous verdict frame a verdict still counts as live-paced:
/// three quarters of the hop (verdicts reach the monitor with the source's chunk
/// jitter), between [`FRAME`] and [`VERDICT_SPACING`], so a streaming model's 0.24 s
/// hop gets the short gap as a window model's 0.5 s does.
fn verdict_spacing(hop_s: f64) -> Duration {
    Duration::from_secs_f64((hop_s * 0.75).max(0.0)).clamp(FRAME, VERDICT_SPACING)
}

/// How long after the last frame a verdict may be drawn.
fn verdict_gap(since_verdict: Duration, spacing: Duration) -> Duration {
    if since_verdict >= spacing {
        VERDICT_AFTER
    } else {
        FRAME
    }
}

/// Time since `t`; forever if it never happened.
fn since(t: Option<Instant>) -> Duration {
    t.map_or(Duration::MAX, |t| t.elapsed())
}

/// Longest the loop sleeps with nothing to do (the clock still ticks each second).
const IDLE: Duration = Duration::from_millis(250);
/// How often a lost device is looked for again.
const RETRY_LOST: Duration = Duration::from_secs(2);
/// How often a machine without any device is probed again (a USB mic plugged in).
const RETRY_NONE: Duration = Duration::from_secs(5);

pub struct Options<'a> {
    pub source: &'a SourceArgs,
    pub session: &'a SessionArgs,
    pub sessions_dir: PathBuf,
    /// The recordings directory, or why there is none.
    pub recordings_dir: Result<PathBuf, String>,
    pub speaker: String,
    pub emoji: Option<bool>,
    pub colours: Colours,
    pub latency_log: Option<PathBuf>,
    /// Raw PCM format of standard input.
    pub raw: Option<RawEncoding>,
}

/// Why the monitor stopped.
enum Cause {
    Quit,
    Signal(&'static str),
}

pub fn run(opts: &Options, analysis: &AnalysisArgs) -> Result<ExitCode> {
    check_session_name(opts.session)?;
    // Before anything is opened or logged: without a terminal there is no monitor.
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(emotty::ui::terminal::TerminalError::NotATerminal.into());
    }
    let stop = StopSignals::install_for_screen()?;
    analysis.check_adapt("the monitor", &[])?;
    let model = load_model(analysis)?;
    let mut config = analysis_config(&model, analysis)?;
    config.levels = true;
    config.spectrogram = true;
    let latency = match &opts.latency_log {
        Some(p) => Some(LatencyLog::create(p)?),
        None => None,
    };
    let (tap_tx, tap_rx) = channel();
    // The source: a file or pipe that cannot be opened is an error; a microphone that
    // cannot be opened is a state the monitor shows, with the ways out.
    let mut no_device: Option<String> = None;
    let live = match open_source(opts.source, opts.raw) {
        Ok((feed, guard)) => Some(start_engine(
            feed,
            guard,
            &model,
            &config,
            &tap_tx,
            opts.source.device.clone(),
        )?),
        Err(e) if opts.source.input.is_none() => {
            no_device = Some(e.to_string());
            None
        }
        Err(e) => return Err(e),
    };
    let session = if opts.session.no_session {
        None
    } else {
        Some(SessionWriter::create(SessionSetup {
            sessions_dir: opts.sessions_dir.clone(),
            name: opts.session.session.clone(),
            model: ModelRecord::from_info(model.info()),
            keep_audio: opts.session.keep_audio,
        })?)
    };
    let (recorder_config, recording_unavailable) = match &opts.recordings_dir {
        Ok(dir) => {
            let cfg = RecorderConfig::new(dir.clone(), opts.speaker.clone());
            match Recorder::new(cfg.clone(), None) {
                Ok(_) => (Some(cfg), None),
                Err(e) => (None, Some(e.to_string())),
            }
        }
        Err(why) => (None, Some(why.clone())),
    };
    let unicode = theme::locale_is_utf8(
        std::env::var("LC_ALL").ok().as_deref(),
        std::env::var("LC_CTYPE").ok().as_deref(),
        std::env::var("LANG").ok().as_deref(),
    );
    let term = std::env::var("TERM").ok();
    let theme = Theme::new(ColorDepth::from_env(opts.colours), unicode);
    let emoji = opts
        .emoji
        .unwrap_or_else(|| theme::emoji_likely(unicode, term.as_deref()));
    let mut app = App::new(AppSetup {
        labels: model.labels().to_vec(),
        model_name: model.info().meta.name.clone(),
        emoji,
        recording_unavailable,
        session: session.as_ref().map(|s| s.id().to_string()),
    });
    if let Some(s) = &session {
        app.log(LogKind::Info, format!("session {}", s.id()));
    }
    let retry = match &no_device {
        Some(msg) => {
            app.no_device(msg.clone());
            Some((opts.source.device.clone(), Instant::now() + RETRY_NONE))
        }
        None => None,
    };
    let mut edge = Edge {
        model,
        config,
        live,
        tap_tx,
        consumers: Consumers::new(session, None, Some(tap_rx)),
        recorder_config,
        retry,
        input_ended: false,
        failed: None,
        latency,
    };
    edge.new_recorder(&mut app);

    let mut guard = match TerminalGuard::take(None) {
        Ok(g) => g,
        Err(e) => {
            // The session exists by now: close it with the reason, not as interrupted.
            let _ = edge.consumers.close(&EndCause::Failed(e.to_string()));
            return Err(e.into());
        }
    };
    let result = event_loop(&mut guard, &mut app, &mut edge, &theme, &stop);
    // The engine's last audio, then the session, then the terminal.
    if let Some(live) = edge.live.take() {
        drop(live);
    }
    edge.drain_tap(&mut app);
    let cause = result.as_ref().ok();
    let failed = edge.failed.take();
    let ending = match (cause, edge.input_ended) {
        (Some(Cause::Signal(s)), _) => EndCause::Signal(s.to_string()),
        (Some(_), _) if failed.is_some() => EndCause::Failed(failed.clone().unwrap_or_default()),
        (_, true) => EndCause::EndOfInput,
        (Some(Cause::Quit), false) => EndCause::Stopped(Some("quit from the monitor".into())),
        (None, false) => EndCause::Failed(
            result
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        ),
    };
    let closed = edge.consumers.close(&ending);
    drop(guard);
    result?;
    if let Some(closed) = closed {
        report_closed(closed)?;
    }
    // The error was on screen; it is also the exit status, as with `listen`.
    if let Some(m) = failed {
        bail!("{m}");
    }
    Ok(ExitCode::SUCCESS)
}

fn start_engine(
    feed: Feed,
    guard: SourceGuard,
    model: &Arc<Model>,
    config: &AnalysisConfig,
    tap: &Sender<AudioChunk>,
    wanted: Option<String>,
) -> Result<Live> {
    let kind = feed.info.kind;
    let engine = Engine::start_with_tap(
        feed,
        guard,
        model.clone(),
        config.clone(),
        Some(tap.clone()),
    )?;
    Ok(Live {
        engine,
        wanted,
        kind,
    })
}

fn event_loop(
    guard: &mut TerminalGuard,
    app: &mut App,
    edge: &mut Edge,
    theme: &Theme,
    stop: &StopSignals,
) -> Result<Cause> {
    let started = Instant::now();
    let mut last_draw: Option<Instant> = None;
    let mut last_verdict: Option<Instant> = None;
    let mut pending: Vec<Pending> = Vec::new();
    let spacing = verdict_spacing(edge.config.hop_s);
    loop {
        // A hung-up terminal (SSH dropped) counts as SIGHUP even before the signal
        // lands: crossterm must not be asked to read from it (see `hung_up`).
        let sig = stop
            .received()
            .or_else(|| emotty::ui::terminal::hung_up().then_some("SIGHUP"));
        if let Some(sig) = sig {
            // Whatever was being recorded is kept: a closed SSH session is not a
            // reason to lose a clip.
            edge.stop_recording(app);
            return Ok(Cause::Signal(sig));
        }
        // How long we may wait: until a frame is due if something changed, else idle.
        let since_draw = since(last_draw);
        let wait = match app.redraw() {
            Redraw::Now => verdict_gap(since(last_verdict), spacing).saturating_sub(since_draw),
            Redraw::Urgent => FRAME.saturating_sub(since_draw),
            Redraw::Moving => MOVING_FRAME.saturating_sub(since_draw),
            Redraw::None => IDLE,
        };
        let mut events = Vec::new();
        match &edge.live {
            Some(live) => {
                match live.engine.events().recv_timeout(wait) {
                    Ok(e) => events.push(e),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => events.push(Event::Ended(
                        EndReason::Failed("the analysis thread stopped".into()),
                    )),
                }
                events.extend(live.engine.events().try_iter());
            }
            // Only the keyboard can wake us: block on it.
            None => emotty::ui::terminal::wait_for_input(wait),
        }
        // Audio first: a recording started by a key below must have its pre-roll.
        edge.drain_tap(app);
        for e in events {
            edge.on_event(app, &e, &mut pending);
        }
        // On a hung-up terminal crossterm would spin; the loop's top then stops.
        while !emotty::ui::terminal::hung_up()
            && term_event::poll(Duration::ZERO).context("cannot read the keyboard")?
        {
            match term_event::read().context("cannot read the keyboard")? {
                TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                    // Debug builds only, for the test that the terminal survives a panic.
                    #[cfg(debug_assertions)]
                    if k.code == crossterm::event::KeyCode::F(12)
                        && std::env::var_os("EMOTTY_TEST_PANIC").is_some()
                    {
                        panic!("test panic requested with F12");
                    }
                    for cmd in app.on_key(k) {
                        if let Command::Quit = cmd {
                            return Ok(Cause::Quit);
                        }
                        edge.execute(app, cmd);
                    }
                }
                TermEvent::Paste(text) => app.on_paste(&text),
                TermEvent::Resize(_, _) => app.touch(),
                _ => {}
            }
        }
        edge.tick(app);
        app.set_clock(started.elapsed().as_secs());
        let since_draw = since(last_draw);
        let redraw = app.redraw();
        let due = match redraw {
            Redraw::Now => since_draw >= verdict_gap(since(last_verdict), spacing),
            Redraw::Urgent => since_draw >= FRAME,
            Redraw::Moving => since_draw >= MOVING_FRAME,
            Redraw::None => false,
        };
        if due {
            guard
                .terminal
                .draw(|f| ui::draw(f, app, theme))
                .context("cannot draw")?;
            app.drawn();
            last_draw = Some(Instant::now());
            if redraw == Redraw::Now {
                last_verdict = last_draw;
            }
            if let Some(log) = &mut edge.latency {
                log.drawn(&mut pending, app.emotion.latest_window());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_verdicts_get_the_short_gap_at_any_hop_and_fast_ones_a_frame() {
        for hop in [0.24, 0.5, 1.0] {
            let spacing = verdict_spacing(hop);
            // A live verdict arrives one hop after the previous one, give or take a chunk.
            let live = Duration::from_secs_f64(hop - 0.02);
            assert_eq!(verdict_gap(live, spacing), VERDICT_AFTER, "hop {hop}");
            // A fast source's verdicts arrive milliseconds apart.
            let fast = Duration::from_millis(3);
            assert_eq!(verdict_gap(fast, spacing), FRAME, "hop {hop}");
        }
        // A 10 ms hop still draws at most one verdict frame per FRAME.
        assert_eq!(verdict_spacing(0.01), FRAME);
        assert_eq!(verdict_spacing(0.5), VERDICT_SPACING);
        let at_stream_hop = verdict_spacing(0.24).as_secs_f64();
        assert!((at_stream_hop - 0.18).abs() < 1e-6, "{at_stream_hop}");
    }
}
