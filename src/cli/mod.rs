//! The commands, one module each; this one dispatches them and holds what they share:
//! the model, the analysis settings resolved and checked against it, the source, the
//! stream groups, messages. The flags themselves are declared in `args.rs`.

mod args;
mod classify;
mod devices;
mod eval;
mod features;
mod listen;
mod monitor;
mod output;
mod pool;
mod record;
mod sessions;
mod settings;
mod stop;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use emotty::audio::capture;
use emotty::audio::decode::{RawEncoding, RawFormat};
use emotty::audio::source::{self, Feed, Pace, SourceGuard};
use emotty::engine::{Adapt, AnalysisConfig};
use emotty::model::{self, Model};

pub use args::Cli;
use args::*;

/// Runs the parsed command line.
pub fn run(mut cli: Cli) -> Result<ExitCode> {
    // A broken configuration file stops every command: running with settings other
    // than the ones the user wrote down would be worse than saying so.
    let settings = settings::Settings::load(cli.globals.config.as_deref())?;
    // What the flags alone said, for `emotty config`.
    let given = settings::Given {
        device: cli.source.device.clone(),
        input: cli.source.input.is_some(),
        model: cli.analysis.model.clone(),
        window: cli.analysis.window,
        hop: cli.analysis.hop,
        speaker: cli.speaker.clone(),
    };
    settings.apply_analysis(&mut cli.analysis);
    match cli.command {
        Some(Command::Devices { json }) => devices::run(json),
        Some(Command::Classify(args)) => classify::run(args, &cli.analysis),
        Some(Command::Eval(args)) => eval::run(args, &cli.analysis),
        Some(Command::Features(args)) => features::run(args, &cli.analysis),
        Some(Command::Listen(mut args)) => {
            settings.apply_source(&mut args.source);
            let (sessions_dir, _) = settings.sessions_dir(cli.globals.sessions_dir.as_deref())?;
            listen::run(
                &listen::Options {
                    source: &args.source,
                    format: &args.format,
                    session: &args.session,
                    duration: args.duration,
                    sessions_dir,
                },
                &cli.analysis,
            )
        }
        Some(Command::Sessions(args)) => {
            let (dir, _) = settings.sessions_dir(cli.globals.sessions_dir.as_deref())?;
            sessions::run(args, &dir)
        }
        Some(Command::Record(mut args)) => {
            settings.apply_source(&mut args.source);
            let (dir, _) = settings.recordings_dir(cli.globals.recordings_dir.as_deref())?;
            let (speaker, _) = settings.speaker(args.speaker.as_deref());
            record::run(&args, &cli.analysis, dir, speaker)
        }
        Some(Command::Config { json }) => settings::show(&settings, &given, &cli.globals, json),
        None => {
            settings.apply_source(&mut cli.source);
            let (sessions_dir, _) = settings.sessions_dir(cli.globals.sessions_dir.as_deref())?;
            let recordings_dir = settings
                .recordings_dir(cli.globals.recordings_dir.as_deref())
                .map(|(d, _)| d)
                .map_err(|e| e.to_string());
            let (speaker, _) = settings.speaker(cli.speaker.as_deref());
            let m = &cli.monitor;
            let emoji = if m.no_emoji {
                Some(false)
            } else if m.emoji {
                Some(true)
            } else {
                settings.config.emoji
            };
            let colours = match m.colours.as_deref() {
                Some("truecolor") => emotty::ui::theme::Colours::TrueColor,
                Some("256") => emotty::ui::theme::Colours::Ansi256,
                Some("16") => emotty::ui::theme::Colours::Ansi16,
                Some(_) => emotty::ui::theme::Colours::Auto,
                None => settings
                    .config
                    .colours
                    .unwrap_or(emotty::ui::theme::Colours::Auto),
            };
            monitor::run(
                &monitor::Options {
                    source: &cli.source,
                    session: &cli.session,
                    sessions_dir,
                    recordings_dir,
                    speaker,
                    emoji,
                    colours,
                    latency_log: m.latency_log.clone(),
                    raw: m.format.map(|f| match f {
                        PcmArg::S16le => RawEncoding::S16Le,
                        PcmArg::F32le => RawEncoding::F32Le,
                    }),
                },
                &cli.analysis,
            )
        }
    }
}

/// Loads `--model`, or the default model.
fn load_model(args: &AnalysisArgs) -> Result<Arc<Model>> {
    let path = match &args.model {
        Some(p) => p.clone(),
        None => model::find_default_model()?,
    };
    Ok(Arc::new(Model::load(&path)?))
}

/// The analysis settings the flags and the config file ask for, checked against the
/// model before any source is opened.
fn analysis_config(model: &Model, args: &AnalysisArgs) -> Result<AnalysisConfig> {
    let mut config = AnalysisConfig::for_model(model);
    if let Some(w) = args.window {
        config.window_s = w;
    }
    if let Some(h) = args.hop {
        config.hop_s = h;
    }
    if let Some(r) = args.min_speech {
        config.min_speech_ratio = r;
    }
    config.adapt = match (args.adapt, model.info().meta.adaptation.is_some()) {
        (Some(AdaptArg::Off), _) | (None, false) => Adapt::Off,
        (Some(_), false) => bail!(
            "{}: the model was trained without adaptation statistics, so --adapt can only be off",
            model.info().path.display()
        ),
        (_, true) => Adapt::Fresh,
    };
    if let Err(e) = config.check(model) {
        // A value the model's metadata set is the model's fault: name the model file.
        let own = AnalysisConfig::for_model(model);
        if own.check(model).is_err() && args.window.is_none() {
            bail!("{}: {e} (from its metadata)", model.info().path.display());
        }
        bail!("{e}");
    }
    Ok(config)
}

/// The files that make one adapting stream, as indices into `items`: with `--adapt
/// speaker` a speaker's (`speaker_of`), with `--adapt folder` a folder's, each group in
/// path order and the groups in order of their first item; otherwise every item alone.
fn streams<T>(
    items: &[T],
    adapt: Option<AdaptArg>,
    path_of: impl Fn(&T) -> &Path,
    speaker_of: impl Fn(&T) -> &str,
) -> Vec<Vec<usize>> {
    let key = |item: &T| match adapt {
        Some(AdaptArg::Speaker) => Some(speaker_of(item).to_owned()),
        Some(AdaptArg::Folder) => Some(
            path_of(item)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        _ => None,
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        match key(item) {
            Some(k) => {
                let g = *index.entry(k).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i);
            }
            None => groups.push(vec![i]),
        }
    }
    for g in &mut groups {
        g.sort_by(|&a, &b| path_of(&items[a]).cmp(path_of(&items[b])));
    }
    groups
}

/// Default parallelism for batch commands.
fn jobs(requested: Option<usize>) -> usize {
    requested
        .filter(|&j| j > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Opens the live source the flags describe: `--input FILE`, `--input -`, `--device
/// NAME` or the default microphone.
fn open_source(args: &SourceArgs, raw: Option<RawEncoding>) -> Result<(Feed, SourceGuard)> {
    match &args.input {
        Some(path) if is_stdin(path) => {
            let raw = match (raw, args.rate, args.channels) {
                (Some(encoding), Some(rate), channels) => Some(RawFormat {
                    encoding,
                    sample_rate: rate,
                    channels: channels.unwrap_or(1),
                }),
                (Some(_), None, _) => bail!("raw PCM on stdin needs --rate"),
                (None, _, _) => None,
            };
            Ok(source::open_stream(
                Box::new(std::io::stdin()),
                raw,
                "stdin",
            )?)
        }
        Some(path) => {
            if raw.is_some() || args.rate.is_some() || args.channels.is_some() {
                bail!(
                    "--format s16le|f32le, --rate and --channels describe raw PCM on stdin; \
                     {} is a file whose header says what it holds",
                    path.display()
                );
            }
            let pace = if args.fast {
                Pace::Fast
            } else {
                Pace::RealTime
            };
            Ok(source::open_file(path, pace)?)
        }
        None => Ok(capture::open(args.device.as_deref())?),
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Prints one line on stderr. A closed stderr (a dropped SSH connection) must not
/// stop the command before it has closed its session, so failures are ignored.
fn say(args: std::fmt::Arguments) {
    use std::io::Write;
    let line = args.to_string();
    let _ = writeln!(std::io::stderr(), "{}", emotty::text::visible(&line));
}

/// Context for write errors on stdout (a closed pipe ends the command quietly).
fn stdout_ok(result: std::io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other.context("cannot write to standard output"),
    }
}
