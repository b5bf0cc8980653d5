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

use emotty::engine::{AudioChunk, EndReason, Engine, Event};
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
    let (tx, taps) = channel();
    let engine = Engine::start_with_tap(feed, guard, model.clone(), config, Some(tx))?;
    let mut audio_done: Option<Instant> = None;
    let mut input_ended = false;
    loop {
        if let Some(sig) = signals.received() {
            recorder.cancel();
            drop(engine);
            bail!("{sig}: recording cancelled, nothing was saved");
        }
        for chunk in taps.try_iter() {
            feed_clip(&mut recorder, chunk, label, args)?;
        }
        if recorder.is_full() && audio_done.is_none() {
            audio_done = Some(Instant::now());
        }
        if let Some(t) = audio_done
            && t.elapsed() > PREDICTION_WAIT
        {
            break;
        }
        match engine.events().recv_timeout(Duration::from_millis(10)) {
            Ok(event) => {
                recorder.on_event(&event);
                match event {
                    // The windows covering the clip are in once one reaches its end.
                    Event::Window(w)
                        if audio_done.is_some()
                            && recorder
                                .clip_end_s()
                                .is_some_and(|end| w.end_s >= end - 1e-6) =>
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
    for chunk in taps.try_iter() {
        feed_clip(&mut recorder, chunk, label, args)?;
    }
    if !recorder.is_recording() {
        // The input ended inside the pre-roll: all of it is the clip.
        start(&mut recorder, label, args)?;
    }
    let got = recorder.elapsed_s();
    if input_ended && got + 1e-3 < args.seconds {
        say(format_args!(
            "emotty: warning: the input ended after {got:.2} s of the {} s asked for",
            args.seconds
        ));
    }
    let saved = recorder.stop()?;
    let e = &saved.entry;
    let heard = format!("; {}", heard(e.prediction.as_ref()));
    say(format_args!(
        "emotty: saved {} ({:.2} s with {:.2} s pre-roll, {} Hz, {} ch){heard}",
        e.file, e.duration, e.pre_roll, e.rate, e.channels
    ));
    stdout_ok(writeln!(std::io::stdout(), "{}", saved.path.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Feeds a chunk, starting the clip at the exact frame where the pre-roll is complete
/// (a fast file source delivers seconds in one chunk; the clip must not start at its
/// end).
fn feed_clip(
    recorder: &mut Recorder,
    chunk: AudioChunk,
    label: &str,
    args: &RecordArgs,
) -> Result<()> {
    if recorder.is_recording() || chunk.channels == 0 {
        recorder.feed(&chunk);
        return Ok(());
    }
    let channels = usize::from(chunk.channels);
    let needed = (recording::PRE_ROLL_S * f64::from(chunk.sample_rate)).round() as u64;
    let have = chunk.first_frame;
    let frames = (chunk.samples.len() / channels) as u64;
    if have + frames < needed {
        recorder.feed(&chunk);
        return Ok(());
    }
    let head = needed.saturating_sub(have) as usize * channels;
    recorder.feed(&AudioChunk {
        samples: chunk.samples[..head].to_vec(),
        ..chunk.clone()
    });
    start(recorder, label, args)?;
    recorder.feed(&AudioChunk {
        first_frame: chunk.first_frame + (head / channels) as u64,
        sample_rate: chunk.sample_rate,
        channels: chunk.channels,
        samples: chunk.samples[head..].to_vec(),
    });
    Ok(())
}

fn start(recorder: &mut Recorder, label: &str, args: &RecordArgs) -> Result<()> {
    recorder.start(label, args.note.clone(), Some(args.seconds))?;
    say(format_args!(
        "emotty: recording {label} for {} s…",
        args.seconds
    ));
    Ok(())
}
