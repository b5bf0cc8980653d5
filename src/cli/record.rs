//! `emotty record --label LABEL --seconds N`: one labeled clip, headless.
//!
//! The source runs for the pre-roll (0.5 s) first, then the clip starts and takes N
//! seconds more, so the saved WAV is N + 0.5 s long and the first syllable is not cut,
//! exactly as with the monitor's `r` key. A file input is read as fast as it decodes
//! (its first 0.5 s become the pre-roll). The engine runs alongside, so the manifest
//! line carries what the model heard. SIGINT, SIGTERM or SIGHUP cancel the clip:
//! nothing is saved.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use emotty::consumers::Consumers;
use emotty::engine::{EndReason, Engine, Event};
use emotty::recording::{self, Recorder, RecorderConfig};
use emotty::session::ModelRecord;

use super::output::heard;
use super::stop::StopSignals;
use super::{
    AnalysisArgs, FormatArg, RecordArgs, analysis_config, load_model, open_source, say,
    split_formats, stdout_ok,
};

/// How long to wait, after the clip's audio is in, for the windows that cover it.
const PREDICTION_WAIT: Duration = Duration::from_secs(3);

pub fn run(
    args: &RecordArgs,
    analysis: &AnalysisArgs,
    dir: PathBuf,
    speaker: String,
) -> Result<ExitCode> {
    let label = recording::parse_label(&args.label)?;
    if !(args.seconds.is_finite()
        && args.seconds >= recording::MIN_TAKE_S
        && args.seconds <= recording::MAX_CLIP_S)
    {
        bail!(
            "--seconds must be between {} and {} (not {})",
            recording::MIN_TAKE_S,
            recording::MAX_CLIP_S,
            args.seconds
        );
    }
    let formats: Vec<FormatArg> = args.format.into_iter().collect();
    let (_, raw) = split_formats(&formats);
    let signals = StopSignals::install()?;
    analysis.check_adapt("record", &[])?;
    let model = load_model(analysis)?;
    let config = analysis_config(&model, analysis)?;
    let mut recorder = Recorder::new(
        RecorderConfig::new(dir, speaker),
        Some(ModelRecord::from_info(model.info())),
    )?;
    recorder.check_writable()?;
    let mut source = args.source.clone();
    if source
        .input
        .as_deref()
        .is_some_and(|p| p.as_os_str() != "-")
    {
        // A file needs no real-time pacing to be recorded.
        source.fast = true;
    }
    let (feed, guard) = open_source(&source, raw)?;
    let (tx, tap) = channel();
    let engine = Engine::start_with_tap(feed, guard, model.clone(), config, Some(tx))?;
    recorder.start_after_pre_roll(label, args.note.clone(), Some(args.seconds))?;
    let mut consumers = Consumers::new(None, Some(recorder), Some(tap));
    let mut announced = false;
    let mut audio_done: Option<Instant> = None;
    let mut input_ended = false;
    loop {
        if let Some(sig) = signals.received() {
            if let Some(r) = consumers.recorder_mut() {
                r.cancel();
            }
            drop(engine);
            bail!("{sig}: recording cancelled, nothing was saved");
        }
        consumers.drain_tap()?;
        announce(consumers.recorder(), &mut announced, label, args);
        if consumers.recorder().is_some_and(Recorder::has_failed) {
            break;
        }
        if audio_done.is_none() && consumers.recorder().is_some_and(Recorder::is_full) {
            audio_done = Some(Instant::now());
        }
        if let Some(t) = audio_done
            && t.elapsed() > PREDICTION_WAIT
        {
            break;
        }
        match engine.events().recv_timeout(Duration::from_millis(10)) {
            Ok(event) => {
                consumers.on_event(&event)?;
                let clip_end = consumers.recorder().and_then(Recorder::clip_end_s);
                match event {
                    // The windows covering the clip are in once one reaches its end.
                    Event::Window(w)
                        if audio_done.is_some()
                            && clip_end.is_some_and(|end| w.end_s >= end - 1e-6) =>
                    {
                        break;
                    }
                    Event::Warning { message } => say(format_args!("emotty: warning: {message}")),
                    Event::Ended(EndReason::EndOfInput) => {
                        input_ended = true;
                        break;
                    }
                    Event::Ended(EndReason::Stopped) => break,
                    Event::Ended(EndReason::DeviceLost(m)) => {
                        bail!("the audio device was lost: {m}; nothing was saved")
                    }
                    Event::Ended(EndReason::Failed(m)) => bail!("{m}; nothing was saved"),
                    _ => {}
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(engine);
    // The tap's last chunks (the sender is gone once the engine thread has ended).
    consumers.drain_tap()?;
    if let Some(r) = consumers.recorder_mut() {
        // The input ended inside the pre-roll: all of it is the clip.
        r.start_armed_now();
    }
    announce(consumers.recorder(), &mut announced, label, args);
    let got = consumers.recorder().map_or(0.0, Recorder::elapsed_s);
    if input_ended && got + 1e-3 < args.seconds {
        say(format_args!(
            "emotty: warning: the input ended after {got:.2} s of the {} s asked for",
            args.seconds
        ));
    }
    let Some((saved, _)) = consumers.stop_recording() else {
        bail!("no clip was recorded");
    };
    let saved = saved?;
    let e = &saved.entry;
    let heard = format!("; {}", heard(e.prediction.as_ref()));
    say(format_args!(
        "emotty: saved {} ({:.2} s with {:.2} s pre-roll, {} Hz, {} ch){heard}",
        e.file, e.duration, e.pre_roll, e.rate, e.channels
    ));
    stdout_ok(writeln!(std::io::stdout(), "{}", saved.path.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Says once that the clip has started (at the frame where the pre-roll completed).
fn announce(recorder: Option<&Recorder>, announced: &mut bool, label: &str, args: &RecordArgs) {
    if !*announced && recorder.is_some_and(Recorder::is_recording) {
        *announced = true;
        say(format_args!(
            "emotty: recording {label} for {} s…",
            args.seconds
        ));
    }
}
