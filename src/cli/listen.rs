//! `emotty listen`: the engine on a live source, one line per window, no UI, logged as
//! a session.
//!
//! Made for SSH and scripts: it runs until the input ends, `--duration` seconds of
//! audio have been analysed, or a signal (SIGINT, SIGTERM, SIGHUP) asks it to stop; in
//! every one of those cases the session is closed properly. Each window is written to
//! the session before it is printed, so the session never has less than the output.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use anyhow::{Result, bail};

use emotty::consumers::{Closed, Consumers};
use emotty::engine::{EndReason, Engine, Event};
use emotty::session::{EndCause, ModelRecord, SessionSetup, SessionWriter, Summary};

use super::output::{percent, window_json};
use super::stop::StopSignals;
use super::{
    AnalysisArgs, FormatArg, OutputFormat, SessionArgs, SourceArgs, analysis_config, load_model,
    open_source, say, split_formats,
};

/// How often the loop looks at signals and keeps the session's fsync promise when no
/// event arrives.
const POLL: Duration = Duration::from_millis(20);

pub struct Options<'a> {
    pub source: &'a SourceArgs,
    pub format: &'a [FormatArg],
    pub session: &'a SessionArgs,
    pub duration: Option<f64>,
    pub sessions_dir: PathBuf,
}

/// Why the loop is stopping, when we asked the engine to stop.
enum Cause {
    Signal(&'static str),
    Duration(f64),
    /// Standard output went away (a closed pipe).
    OutputClosed,
    /// The session could not be written.
    Storage,
}

pub fn run(opts: &Options, analysis: &AnalysisArgs) -> Result<ExitCode> {
    let (format, raw) = split_formats(opts.format);
    if let Some(d) = opts.duration
        && !(d.is_finite() && d > 0.0)
    {
        bail!("--duration must be a positive number of seconds, not {d}");
    }
    check_session_name(opts.session)?;
    let signals = StopSignals::install()?;
    analysis.check_adapt("listen", &[])?;
    let model = load_model(analysis)?;
    let mut config = analysis_config(&model, analysis)?;
    config.levels = true;
    let labels = model.labels().to_vec();
    let (feed, guard) = open_source(opts.source, raw)?;
    let keeps_audio = !opts.session.no_session && opts.session.keep_audio;
    let (tap, taps) = if keeps_audio {
        let (tx, rx) = channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    // The engine first: a source it cannot take (a rate the resampler refuses) must
    // fail before a session folder exists. Its events and audio wait in their channels
    // until the session is ready.
    let engine = Engine::start_with_tap(feed, guard, model.clone(), config, tap)?;
    let session = if opts.session.no_session {
        None
    } else {
        let w = SessionWriter::create(SessionSetup {
            sessions_dir: opts.sessions_dir.clone(),
            name: opts.session.session.clone(),
            model: ModelRecord::from_info(model.info()),
            keep_audio: opts.session.keep_audio,
        })?;
        say(format_args!(
            "emotty: session {} in {}",
            w.id(),
            w.dir().display()
        ));
        Some(w)
    };
    let limit = opts.duration;
    let mut consumers = Consumers::new(session, None, taps).keep_audio_until(limit);
    let name = engine_name(opts.source);
    let mut out = std::io::stdout();
    let mut cause: Option<Cause> = None;
    let mut output_error: Option<std::io::Error> = None;
    let mut end: Option<EndReason> = None;
    loop {
        if consumers.drain_tap().is_err() {
            stop(&engine, Cause::Storage, &mut cause);
        }
        if let Some(sig) = signals.received() {
            stop(&engine, Cause::Signal(sig), &mut cause);
        }
        let event = match engine.events().recv_timeout(POLL) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => {
                if consumers.with_session(SessionWriter::tick).is_err() {
                    stop(&engine, Cause::Storage, &mut cause);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // Past --duration: neither logged nor printed, so the session holds exactly the
        // audio asked for.
        if let (Some(d), Event::Window(w)) = (limit, &event)
            && w.end_s > d + 1e-6
        {
            stop(&engine, Cause::Duration(d), &mut cause);
            continue;
        }
        if consumers.on_event(&event).is_err() {
            stop(&engine, Cause::Storage, &mut cause);
        }
        match event {
            Event::Started(s) if format == OutputFormat::Table => {
                say(format_args!(
                    "emotty: listening to {} ({} Hz, {} ch, {}) with {}; Ctrl-C stops",
                    s.source.name,
                    s.source.sample_rate,
                    s.source.channels,
                    s.source.format,
                    s.model_name
                ));
            }
            Event::Level(l) => {
                if let Some(d) = limit
                    && l.time_s >= d
                {
                    stop(&engine, Cause::Duration(d), &mut cause);
                }
            }
            Event::Window(w) => {
                // Nothing is printed that the session does not hold.
                if output_error.is_some() || consumers.storage_error().is_some() {
                    continue;
                }
                let line = match format {
                    OutputFormat::Json => window_json(&name, &labels, &w).to_string(),
                    _ => window_line(&labels, &w),
                };
                if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
                    output_error = Some(e);
                    stop(&engine, Cause::OutputClosed, &mut cause);
                }
            }
            Event::Warning { message } => say(format_args!("emotty: warning: {message}")),
            Event::Stats(s) if s.dropped_samples > 0 => say(format_args!(
                "emotty: warning: {} samples dropped so far",
                s.dropped_samples
            )),
            Event::Ended(reason) => {
                end = Some(reason);
                break;
            }
            _ => {}
        }
    }
    // Joining the engine thread drops its tap sender, so the tap drains to the end.
    drop(engine);
    let _ = consumers.drain_tap();
    let ending = end_cause(cause.as_ref(), end.as_ref());
    if let Some(closed) = consumers.close(&ending) {
        report_closed(closed)?;
    }
    match (&cause, end) {
        (Some(Cause::OutputClosed), _) => match output_error {
            Some(e)
                if e.kind() != std::io::ErrorKind::BrokenPipe && signals.received().is_none() =>
            {
                bail!("cannot write to standard output: {e}")
            }
            _ => Ok(ExitCode::SUCCESS),
        },
        (_, Some(EndReason::DeviceLost(m))) => bail!("the audio device was lost: {m}"),
        (_, Some(EndReason::Failed(m))) => bail!("{m}"),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The table line of one window.
fn window_line(labels: &[String], w: &emotty::engine::WindowResult) -> String {
    match (w.top(), w.probs()) {
        (Some(t), Some(p)) => format!(
            "{:>8.1}s  {:<10} {}  speech {:>3.0}%  {:>6.1} dBFS{}",
            w.end_s,
            labels[t],
            percent(p[t]),
            w.speech_ratio * 100.0,
            w.rms_dbfs,
            w.affect()
                .map(|a| format!("  arousal {:+.2}  valence {:+.2}", a.arousal, a.valence))
                .unwrap_or_default()
        ),
        _ => format!(
            "{:>8.1}s  {:<10}       speech {:>3.0}%  {:>6.1} dBFS",
            w.end_s,
            "no speech",
            w.speech_ratio * 100.0,
            w.rms_dbfs
        ),
    }
}

/// `--session NAME` must be one line of text: it is shown in lists and file headers.
pub fn check_session_name(args: &SessionArgs) -> Result<()> {
    if let Some(name) = &args.session
        && (name.trim().is_empty() || name.chars().any(char::is_control) || name.len() > 200)
    {
        bail!("--session needs a name or client code: one line of text, at most 200 bytes");
    }
    Ok(())
}

/// Asks the engine to stop, remembering the first reason.
fn stop(engine: &Engine, why: Cause, cause: &mut Option<Cause>) {
    if cause.is_none() {
        *cause = Some(why);
        engine.stop();
    }
}

/// Why the session ends: what stopped the engine, or else how the engine ended.
fn end_cause(cause: Option<&Cause>, end: Option<&EndReason>) -> EndCause {
    match (cause, end) {
        (Some(Cause::Signal(s)), _) => EndCause::Signal(s.to_string()),
        (Some(Cause::Duration(d)), _) => EndCause::Duration(*d),
        (Some(Cause::OutputClosed), _) => {
            EndCause::Stopped(Some("standard output was closed".into()))
        }
        // The writer records its own first error as the reason.
        (Some(Cause::Storage), _) => EndCause::StorageFailed(String::new()),
        (None, Some(end)) => EndCause::from(end),
        (None, None) => EndCause::Stopped(None),
    }
}

/// Says how a closed session ended: its summary, or (as the command's error) what stopped
/// it and where what was written is kept.
pub fn report_closed(closed: Closed) -> Result<()> {
    let (id, dir) = (closed.id.clone(), closed.dir.clone());
    match closed.outcome() {
        Ok(summary) => {
            say(format_args!(
                "emotty: session {id} closed: {}",
                describe(&summary)
            ));
            Ok(())
        }
        Err(e) => bail!(
            "{e}; the session stopped there and what was written is kept in {}",
            dir.display()
        ),
    }
}

/// "1:23 of audio, 0:45 of speech, mostly happy".
pub fn describe(s: &Summary) -> String {
    let clock = |t: f64| emotty::session::svg::clock(t, t >= 3600.0);
    let mut text = format!(
        "{} of audio, {} of speech",
        clock(s.duration_s),
        clock(s.speech_s)
    );
    if let Some(d) = &s.dominant {
        text.push_str(&format!(", mostly {d}"));
    }
    text
}

fn engine_name(source: &SourceArgs) -> String {
    match (&source.input, &source.device) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => "default".into(),
    }
}
