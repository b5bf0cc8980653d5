//! Command-line arguments and the commands behind them.

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

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use emotty::audio::capture;
use emotty::audio::decode::{RawEncoding, RawFormat};
use emotty::audio::source::{self, Feed, Pace, SourceGuard};
use emotty::engine::{Adapt, AnalysisConfig};
use emotty::model::{self, Model};

/// Real-time speech emotion recognition in the terminal.
#[derive(Debug, Parser)]
#[command(name = "emotty", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    analysis: AnalysisArgs,
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(flatten)]
    session: SessionArgs,
    /// Speaker id stored with labeled recordings (default: from the config, or "unknown").
    #[arg(long, value_name = "ID")]
    speaker: Option<String>,
    #[command(flatten)]
    monitor: MonitorArgs,
}

/// How the monitor (the bare `emotty` command) looks.
#[derive(Debug, Clone, Default, Args)]
pub struct MonitorArgs {
    /// Show emotion names with emoji (default: from the config, else when the terminal
    /// is likely to draw them).
    #[arg(long, overrides_with = "no_emoji")]
    emoji: bool,
    /// Plain ASCII faces instead of emoji.
    #[arg(long)]
    no_emoji: bool,
    /// Colours: auto (from COLORTERM and TERM), truecolor, 256 or 16.
    #[arg(long, value_name = "WHICH", value_parser = ["auto", "truecolor", "256", "16"])]
    colours: Option<String>,
    /// Log, per analysis window drawn, the time from the end of its audio to the frame
    /// that showed it (JSON lines), for measuring the monitor's latency.
    #[arg(long, value_name = "FILE")]
    latency_log: Option<PathBuf>,
    /// Raw PCM on standard input, with --input - --rate N [--channels N]: s16le or f32le
    /// (`arecord -t raw` over SSH).
    #[arg(long, value_enum, value_name = "PCM")]
    format: Option<PcmArg>,
}

/// Raw PCM formats (the monitor's `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PcmArg {
    /// Signed 16-bit little-endian.
    S16le,
    /// 32-bit float little-endian.
    F32le,
}

pub use emotty::engine::DEFAULT_HOP_S;

/// Where settings and data live; valid with every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: $EMOTTY_CONFIG, else ~/.config/emotty/config.toml).
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,
    /// Where sessions are kept (default: from the config, else the data directory).
    #[arg(long, value_name = "DIR", global = true)]
    sessions_dir: Option<PathBuf>,
    /// Where labeled recordings are kept (default: from the config, else the data
    /// directory).
    #[arg(long, value_name = "DIR", global = true)]
    recordings_dir: Option<PathBuf>,
}

/// How a live run is logged.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// A name or client code for the session.
    #[arg(long, value_name = "NAME", conflicts_with = "no_session")]
    session: Option<String>,
    /// Also keep the session's audio as WAV (by default no audio is stored).
    #[arg(long, conflicts_with = "no_session")]
    keep_audio: bool,
    /// Do not log this run as a session.
    #[arg(long)]
    no_session: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List audio input devices.
    Devices {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Classify audio files: top emotion, probabilities and speech ratio per file.
    Classify(ClassifyArgs),
    /// Score the model on labeled audio (RAVDESS, TESS or emotty recordings layouts).
    Eval(EvalArgs),
    /// Write the engine's features of labeled audio to an .npz file for training.
    Features(FeaturesArgs),
    /// Analyse a live source without the full-screen UI, one line per window, and log
    /// it as a session.
    Listen(ListenArgs),
    /// List logged sessions, show one, or export it (CSV, JSON, SVG).
    Sessions(SessionsArgs),
    /// Record a labeled clip for training and evaluation.
    Record(RecordArgs),
    /// Show the configuration file's path and the effective settings.
    Config {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Where the audio comes from.
#[derive(Debug, Clone, Args)]
struct SourceArgs {
    /// Capture from the input device whose name contains NAME (case-insensitive).
    #[arg(long, value_name = "NAME", conflicts_with = "input")]
    device: Option<String>,
    /// Read audio from FILE (WAV, FLAC, AIFF), or from standard input with "-".
    #[arg(long, value_name = "FILE|-")]
    input: Option<PathBuf>,
    /// Analyse a file as fast as possible instead of in real time.
    #[arg(long)]
    fast: bool,
    /// Sample rate of raw PCM on standard input.
    #[arg(long, value_name = "HZ")]
    rate: Option<u32>,
    /// Channel count of raw PCM on standard input.
    #[arg(long, value_name = "N")]
    channels: Option<u16>,
}

/// Model and window settings.
#[derive(Debug, Clone, Args)]
struct AnalysisArgs {
    /// The ONNX model (default: models/emotty.onnx, next to the program, or in the data
    /// directory).
    #[arg(long, value_name = "PATH", global = true)]
    model: Option<PathBuf>,
    /// Analysis window length in seconds (default: the model's, usually 3).
    #[arg(long, value_name = "SECONDS", global = true)]
    window: Option<f64>,
    /// Time between windows in seconds (default: 0.5).
    #[arg(long, value_name = "SECONDS", global = true)]
    hop: Option<f64>,
    /// Windows with a smaller fraction of speech are reported as "no speech".
    #[arg(long, value_name = "RATIO", global = true)]
    min_speech: Option<f32>,
    /// Adapt to the voice heard (models trained for it): each file, pipe or live
    /// session as its own stream (stream, the default for such models), a speaker's
    /// clips in a corpus layout as one stream (speaker, eval), each folder's files as
    /// one (folder, classify and eval), or not at all (off).
    #[arg(long, value_name = "MODE", global = true)]
    adapt: Option<AdaptArg>,
}

/// `--adapt`: what counts as one stream for per-stream adaptation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AdaptArg {
    Stream,
    Speaker,
    Folder,
    Off,
}

impl AnalysisArgs {
    /// Refuses an `--adapt` grouping that `command` has no use for (a live command has
    /// one stream; only eval knows speakers).
    fn check_adapt(&self, command: &str, allowed: &[AdaptArg]) -> Result<()> {
        if let Some(mode) = self.adapt
            && mode != AdaptArg::Off
            && mode != AdaptArg::Stream
            && !allowed.contains(&mode)
        {
            let name = mode
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned());
            bail!("--adapt {name} does not apply to {command} (use stream or off)");
        }
        Ok(())
    }
}

/// `--format` takes output formats and raw PCM formats; the value sets do not overlap,
/// so one flag serves both, as in `--input - --format s16le --format json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// Aligned columns for people.
    Table,
    /// One JSON object per line.
    Json,
    /// Comma-separated values with a header.
    Csv,
    /// Raw PCM on stdin: signed 16-bit little-endian.
    S16le,
    /// Raw PCM on stdin: 32-bit float little-endian.
    F32le,
}

/// The output format and raw PCM format picked out of `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// `--format` for a command that takes only some of the formats: `--help` and the
/// error for any other value list exactly those.
fn formats(
    allowed: &'static [&'static str],
) -> impl clap::builder::TypedValueParser<Value = FormatArg> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(allowed).map(|name| match name.as_str() {
        "json" => FormatArg::Json,
        "csv" => FormatArg::Csv,
        "s16le" => FormatArg::S16le,
        "f32le" => FormatArg::F32le,
        _ => FormatArg::Table,
    })
}

fn split_formats(values: &[FormatArg]) -> (OutputFormat, Option<RawEncoding>) {
    let mut out = OutputFormat::Table;
    let mut raw = None;
    for v in values {
        match v {
            FormatArg::Table => out = OutputFormat::Table,
            FormatArg::Json => out = OutputFormat::Json,
            FormatArg::Csv => out = OutputFormat::Csv,
            FormatArg::S16le => raw = Some(RawEncoding::S16Le),
            FormatArg::F32le => raw = Some(RawEncoding::F32Le),
        }
    }
    (out, raw)
}

#[derive(Debug, Args)]
struct ClassifyArgs {
    /// Audio files to classify.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Also print one row per analysis window.
    #[arg(long)]
    timeline: bool,
    /// Output format (table, json, csv); with --input -, also the raw PCM format
    /// (s16le, f32le). May be given twice.
    #[arg(long, value_enum, value_name = "FORMAT", action = clap::ArgAction::Append)]
    format: Vec<FormatArg>,
    /// Files analysed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Directories (or files) of labeled audio.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Files analysed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Debug, Args)]
struct FeaturesArgs {
    /// Directories (or files) of labeled audio.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Where to write the .npz archive.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Front-end settings as JSON (default: the model's front end).
    #[arg(long, value_name = "JSON")]
    frontend: Option<String>,
    /// Also write N augmented copies of each clip (noise, reverb, speed, pitch, EQ, gain),
    /// at most 32: each copy adds the whole corpus again to the archive and its memory.
    #[arg(long, value_name = "N", default_value_t = 0)]
    augment: usize,
    /// Seed of the augmentation, for reproducible runs.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    seed: u64,
    /// Files processed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Debug, Args)]
struct ListenArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output format (table, json); with --input -, also the raw PCM format.
    #[arg(long, value_name = "FORMAT", action = clap::ArgAction::Append,
          value_parser = formats(&["table", "json", "s16le", "f32le"]))]
    format: Vec<FormatArg>,
    #[command(flatten)]
    session: SessionArgs,
    /// Stop after this many seconds of audio.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

#[derive(Debug, Args)]
struct SessionsArgs {
    #[command(subcommand)]
    command: Option<SessionsCommand>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// List sessions (the default).
    List {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Summarise one session: speech time per emotion, emotion changes, markers, notes.
    Show {
        /// Folder name, unique prefix, session name, or "latest".
        #[arg(value_name = "ID")]
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export one session as CSV, JSON or an SVG timeline plot.
    Export {
        /// Folder name, unique prefix, session name, or "latest".
        #[arg(value_name = "ID")]
        id: String,
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: ExportFormat,
        /// Write to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
    Svg,
}

#[derive(Debug, Args)]
struct RecordArgs {
    /// The emotion the clip is labeled with: its name, or 1-8 as on the monitor's keys.
    #[arg(long, value_name = "LABEL")]
    label: String,
    /// Seconds to record (after a 0.5 s pre-roll).
    #[arg(long, value_name = "N")]
    seconds: f64,
    /// Speaker id (default: from the config, or "unknown").
    #[arg(long, value_name = "ID")]
    speaker: Option<String>,
    /// A note stored with the clip.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Raw PCM format on stdin (s16le, f32le), with --input - --rate.
    #[arg(long, value_name = "FORMAT", value_parser = formats(&["s16le", "f32le"]))]
    format: Option<FormatArg>,
    #[command(flatten)]
    source: SourceArgs,
}

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
    config.hop_s = args.hop.unwrap_or(DEFAULT_HOP_S);
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
