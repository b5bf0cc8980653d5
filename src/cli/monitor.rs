//! `emotty` with no command: the full-screen monitor.
//!
//! This is the edge: the only place that touches the terminal, the audio devices and
//! the disk for the monitor. Engine events go, in order, to the session writer, the
//! recorder and the [`App`]; the app's [`Command`]s (markers, notes, recordings, a new
//! device) are carried out here and their outcome told back to the app. The loop
//! blocks on the engine's channel (or, without a source, on the keyboard) with a
//! timeout, so an idle monitor costs next to nothing, and it draws only when the app
//! says something changed: at most [`FRAME`] apart for keys and log lines,
//! [`MOVING_FRAME`] apart when only the spectrogram moves, and [`VERDICT_AFTER`] after
//! any frame for a new window's verdict (two a second), which keeps the bars close to
//! the audio.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{self as term_event, Event as TermEvent, KeyEventKind};

use emotty::audio::capture;
use emotty::audio::source::{Feed, SourceGuard};
use emotty::config::Colours;
use emotty::engine::{AnalysisConfig, Analyzer, AudioChunk, EndReason, Engine, Event, SourceKind};
use emotty::model::Model;
use emotty::recording::{Recorder, RecorderConfig};
use emotty::session::{EndRecord, ModelRecord, SessionSetup, SessionWriter};
use emotty::ui::app::{DeviceEntry, LogKind, Redraw, SourceState};
use emotty::ui::terminal::TerminalGuard;
use emotty::ui::theme::{self, ColorDepth};
use emotty::ui::{self, App, AppSetup, Command, Theme};

use super::listen::{check_session_name, describe};
use super::output::percent;
use emotty::audio::decode::RawEncoding;

use super::stop::StopSignals;
use super::{AnalysisArgs, SessionArgs, SourceArgs, analysis_config, load_model, open_source, say};

/// Shortest time between two frames: about 30 per second.
const FRAME: Duration = Duration::from_millis(33);
/// Shortest time between frames when only the spectrogram and level moved: two
/// spectrogram columns (2 × 4 × 10 ms), so it scrolls by the same step every frame.
/// At 200×60 in true colour a scrolling frame rewrites most of the screen, and frames
/// are most of the monitor's CPU.
const MOVING_FRAME: Duration = Duration::from_millis(80);
/// A new verdict may follow any frame this soon, so its bars reach the screen within
/// milliseconds of the engine's event instead of waiting out a whole [`FRAME`]...
const VERDICT_AFTER: Duration = Duration::from_millis(10);
/// ... as long as the previous verdict frame was at least this long ago. A live source
/// brings two verdicts a second, so each gets the short gap; a fast source (a pipe,
/// `--fast`) brings hundreds, and those keep [`FRAME`] apart: at most about 30 frames a
/// second either way.
const VERDICT_SPACING: Duration = Duration::from_millis(250);

/// How long after the last frame a verdict may be drawn.
fn verdict_gap(since_verdict: Duration) -> Duration {
    if since_verdict >= VERDICT_SPACING {
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

/// The live source: the engine and where it reads from.
struct Live {
    engine: Engine,
    /// What to reopen after a loss (`None`: the default device).
    wanted: Option<String>,
    kind: SourceKind,
}

/// Everything the loop owns besides the app.
struct Edge {
    model: Arc<Model>,
    config: AnalysisConfig,
    live: Option<Live>,
    tap_tx: Sender<AudioChunk>,
    tap_rx: Receiver<AudioChunk>,
    session: Option<SessionWriter>,
    recorder: Option<Recorder>,
    recorder_config: Option<RecorderConfig>,
    /// A microphone to look for again, and when.
    retry: Option<(Option<String>, Instant)>,
    input_ended: bool,
    /// Why the analysis of the current source failed, if it did: recorded as the
    /// session's end and the exit status, as `listen` does.
    failed: Option<String>,
    latency: Option<LatencyLog>,
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
    // Refused settings (--hop 0) fail here, before the screen or a session exists.
    Analyzer::new(model.clone(), 16_000, 1, &config)?;
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
        recorder: None,
        model,
        config,
        live,
        tap_tx,
        tap_rx,
        session,
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
            if let Some(w) = edge.session.take() {
                let _ = w.close_with(EndRecord {
                    reason: "failed".into(),
                    message: Some(e.to_string()),
                });
            }
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
    let record = match (cause, edge.input_ended) {
        (Some(Cause::Signal(s)), _) => EndRecord {
            reason: "signal".into(),
            message: Some(s.to_string()),
        },
        (Some(_), _) if failed.is_some() => EndRecord {
            reason: "failed".into(),
            message: failed.clone(),
        },
        (_, true) => EndRecord {
            reason: "end_of_input".into(),
            message: None,
        },
        (Some(Cause::Quit), false) => EndRecord {
            reason: "stopped".into(),
            message: Some("quit from the monitor".into()),
        },
        (None, false) => EndRecord {
            reason: "failed".into(),
            message: result.as_ref().err().map(|e| e.to_string()),
        },
    };
    let closed = edge.session.take().map(|w| {
        let (id, dir) = (w.id().to_string(), w.dir().to_path_buf());
        (id, dir, w.close_with(record))
    });
    drop(guard);
    result?;
    if let Some((id, dir, closed)) = closed {
        match closed {
            Ok(summary) if app.session_error.is_none() => say(format_args!(
                "emotty: session {id} closed: {}",
                describe(&summary)
            )),
            Ok(_) => bail!(
                "{}; the session stopped there and what was written is kept in {}",
                app.session_error.as_deref().unwrap_or("write error"),
                dir.display()
            ),
            Err(e) => bail!("{e}; what was written is kept in {}", dir.display()),
        }
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
            Redraw::Now => verdict_gap(since(last_verdict)).saturating_sub(since_draw),
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
            Redraw::Now => since_draw >= verdict_gap(since(last_verdict)),
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
                log.drawn(&mut pending, app.latest_window);
            }
        }
    }
}

/// A window waiting to be drawn, for the latency log.
struct Pending {
    index: u64,
    end_s: f64,
    /// When the window's audio ended (the engine's stream time 0 plus `end_s`).
    audio_end: Instant,
    emitted: Instant,
}

impl Edge {
    fn drain_tap(&mut self, app: &mut App) {
        for chunk in self.tap_rx.try_iter() {
            if let Some(r) = &mut self.recorder {
                r.feed(&chunk);
            }
            if let Some(w) = &mut self.session
                && app.session_error.is_none()
                && let Err(e) = w.on_audio(&chunk)
            {
                app.session_failed(&e.to_string());
            }
        }
    }

    fn on_event(&mut self, app: &mut App, e: &Event, pending: &mut Vec<Pending>) {
        if let Some(w) = &mut self.session
            && app.session_error.is_none()
            && let Err(err) = w.on_event(e)
        {
            app.session_failed(&err.to_string());
        }
        if let Some(r) = &mut self.recorder {
            r.on_event(e);
        }
        app.on_event(e);
        match e {
            Event::Started(s) => {
                if let Some(log) = &mut self.latency {
                    log.started = Some(s.started_at);
                }
            }
            Event::Window(w) if !app.paused => {
                if let Some(log) = &self.latency
                    && let Some(t0) = log.started
                {
                    pending.push(Pending {
                        index: w.index,
                        end_s: w.end_s,
                        audio_end: t0 + Duration::from_secs_f64(w.end_s.max(0.0)),
                        emitted: w.emitted_at,
                    });
                }
            }
            Event::Ended(reason) => {
                // A clip in progress keeps what it has.
                self.stop_recording(app);
                let live = self.live.take();
                match reason {
                    EndReason::EndOfInput => self.input_ended = true,
                    EndReason::Failed(m) => self.failed = Some(m.clone()),
                    EndReason::DeviceLost(m) => {
                        // The session keeps the loss as an event, not only as the end
                        // reason: the monitor goes on, and the device may come back.
                        if let Some(w) = &mut self.session
                            && app.session_error.is_none()
                            && let Err(err) = w.on_event(&Event::Warning {
                                message: format!("device lost: {m}"),
                            })
                        {
                            app.session_failed(&err.to_string());
                        }
                        if let Some(l) = &live
                            && l.kind == SourceKind::Microphone
                        {
                            self.retry = Some((l.wanted.clone(), Instant::now() + RETRY_LOST));
                        }
                    }
                    _ => {}
                }
                drop(live);
            }
            _ => {}
        }
    }

    fn execute(&mut self, app: &mut App, cmd: Command) {
        match cmd {
            Command::Quit => {}
            Command::Marker(label) => {
                let saved = self.with_session(app, |w| w.marker(&label));
                app.marker_logged(&label, saved);
            }
            Command::Note(text) => {
                let saved = self.with_session(app, |w| w.note(&text));
                app.note_logged(&text, saved);
            }
            Command::Pause => {
                self.with_session(app, |w| w.pause());
            }
            Command::ResetAdaptation => {
                if let Some(l) = &self.live {
                    l.engine.reset_adaptation();
                }
            }
            Command::Resume => {
                self.with_session(app, |w| w.resume());
            }
            Command::StartRecording(label) => {
                if self.live.is_none() {
                    app.log(LogKind::Error, "nothing to record: no audio source");
                    return;
                }
                let Some(r) = &mut self.recorder else {
                    app.log(LogKind::Error, "recordings are not available");
                    return;
                };
                match r
                    .check_writable()
                    .and_then(|()| r.start(&label, None, None))
                {
                    Ok(()) => app.recording_started(&label),
                    Err(e) => app.log(LogKind::Error, format!("cannot record: {e}")),
                }
            }
            Command::StopRecording => self.stop_recording(app),
            Command::DiscardRecording => {
                if let Some(r) = &mut self.recorder
                    && r.is_recording()
                {
                    r.cancel();
                    app.recording_ended(LogKind::Info, "recording discarded");
                }
            }
            Command::ListDevices => {
                let list = match capture::list_input_devices() {
                    Ok(devices) => capture::usable(&devices)
                        .map(|d| DeviceEntry {
                            name: d.name.clone(),
                            id: d.id.clone(),
                            detail: format!(
                                "{} ch, {} Hz",
                                d.channels.unwrap_or(0),
                                d.sample_rate.unwrap_or(0)
                            ),
                            is_default: d.is_default,
                        })
                        .collect(),
                    Err(e) => {
                        app.log(LogKind::Error, e.to_string());
                        Vec::new()
                    }
                };
                app.show_devices(list);
            }
            Command::SwitchDevice { id, name } => self.switch_device(app, &id, &name),
        }
    }

    /// Runs `f` on the session; false when there is none or it failed.
    fn with_session(
        &mut self,
        app: &mut App,
        f: impl FnOnce(&mut SessionWriter) -> Result<(), emotty::session::SessionError>,
    ) -> bool {
        match &mut self.session {
            Some(w) if app.session_error.is_none() => match f(w) {
                Ok(()) => true,
                Err(e) => {
                    app.session_failed(&e.to_string());
                    false
                }
            },
            _ => false,
        }
    }

    fn stop_recording(&mut self, app: &mut App) {
        let Some(r) = &mut self.recorder else { return };
        if !r.is_recording() {
            return;
        }
        // The audio that is already in the tap belongs to the clip.
        for chunk in self.tap_rx.try_iter() {
            r.feed(&chunk);
            if let Some(w) = &mut self.session
                && app.session_error.is_none()
                && let Err(e) = w.on_audio(&chunk)
            {
                app.session_failed(&e.to_string());
            }
        }
        match r.stop() {
            Ok(saved) => {
                let e = &saved.entry;
                let heard = match &e.prediction {
                    Some(p) => format!(
                        ", model heard {} {}",
                        p.emotion,
                        percent(p.probs.get(&p.emotion).copied().unwrap_or(0.0)).trim()
                    ),
                    None => ", model heard no speech".into(),
                };
                let text = format!("saved {} ({:.1} s{heard})", e.file, e.duration);
                self.with_session(app, |w| w.recording_saved(&saved));
                app.recording_ended(LogKind::Recording, text);
            }
            Err(e) => app.recording_ended(LogKind::Error, format!("recording not saved: {e}")),
        }
    }

    /// A fresh recorder for a new engine: its frame numbers and times start at 0.
    fn new_recorder(&mut self, app: &mut App) {
        self.recorder = match &self.recorder_config {
            Some(cfg) => {
                match Recorder::new(cfg.clone(), Some(ModelRecord::from_info(self.model.info()))) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        app.recording_unavailable = Some(e.to_string());
                        None
                    }
                }
            }
            None => None,
        };
    }

    fn switch_device(&mut self, app: &mut App, id: &str, name: &str) {
        if app.source.as_ref().is_some_and(|s| s.name == name) && self.live.is_some() {
            app.log(LogKind::Info, format!("already on {name}"));
            return;
        }
        self.stop_recording(app);
        // The old stream goes first: many ALSA devices take one reader at a time.
        let previous = self.live.take().map(|l| (l.wanted, l.kind));
        self.drain_tap(app);
        let wanted = if id.is_empty() { name } else { id };
        match capture::open(Some(wanted)) {
            Ok((feed, guard)) => {
                match start_engine(
                    feed,
                    guard,
                    &self.model,
                    &self.config,
                    &self.tap_tx,
                    Some(wanted.to_string()),
                ) {
                    Ok(live) => {
                        self.live = Some(live);
                        self.retry = None;
                        self.input_ended = false;
                        self.failed = None;
                        self.new_recorder(app);
                    }
                    Err(e) => app.log(LogKind::Error, format!("cannot use {name}: {e:#}")),
                }
            }
            Err(e) => {
                app.log(LogKind::Error, format!("cannot open {name}: {e}"));
                // Back to the microphone we had, if it was one.
                if let Some((w, SourceKind::Microphone)) = previous {
                    self.retry = Some((w, Instant::now()));
                } else if app.source.is_none() {
                    app.no_device(e.to_string());
                }
            }
        }
    }

    fn tick(&mut self, app: &mut App) {
        if let Some(w) = &mut self.session
            && app.session_error.is_none()
            && let Err(e) = w.tick()
        {
            app.session_failed(&e.to_string());
        }
        if self.recorder.as_ref().is_some_and(Recorder::is_full) {
            self.stop_recording(app);
        }
        if self.live.is_none()
            && let Some((wanted, at)) = &self.retry
            && Instant::now() >= *at
        {
            let wanted = wanted.clone();
            match capture::open(wanted.as_deref()) {
                Ok((feed, guard)) => {
                    match start_engine(feed, guard, &self.model, &self.config, &self.tap_tx, wanted)
                    {
                        Ok(live) => {
                            self.live = Some(live);
                            self.retry = None;
                            self.new_recorder(app);
                        }
                        Err(e) => {
                            app.log(LogKind::Error, format!("{e:#}"));
                            self.retry = None;
                        }
                    }
                }
                Err(_) => {
                    let every = if matches!(app.source_state, SourceState::Lost(_)) {
                        RETRY_LOST
                    } else {
                        RETRY_NONE
                    };
                    self.retry = Some((wanted, Instant::now() + every));
                }
            }
        }
    }
}

/// `--latency-log FILE`: one JSON line per window drawn, with the time from the end
/// of its audio (and from the engine sending it) to the frame that showed it.
struct LatencyLog {
    file: File,
    started: Option<Instant>,
}

impl LatencyLog {
    fn create(path: &std::path::Path) -> Result<LatencyLog> {
        let file = File::create(path)
            .with_context(|| format!("{}: cannot create the latency log", path.display()))?;
        Ok(LatencyLog {
            file,
            started: None,
        })
    }

    /// A frame was just flushed: the windows up to `shown` are on screen.
    fn drawn(&mut self, pending: &mut Vec<Pending>, shown: Option<u64>) {
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
