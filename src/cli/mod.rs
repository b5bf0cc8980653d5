//! Command-line arguments and the commands behind them.

mod classify;
mod devices;
mod eval;
mod features;
mod listen;
mod output;
mod pool;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use emotty::audio::capture;
use emotty::audio::decode::{RawEncoding, RawFormat};
use emotty::audio::source::{self, Feed, Pace, SourceGuard};
use emotty::engine::AnalysisConfig;
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
    /// Analyse a live source without the full-screen UI, one line per window.
    Listen(ListenArgs),
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
    /// Time between windows in seconds.
    #[arg(long, value_name = "SECONDS", global = true, default_value_t = 0.5)]
    hop: f64,
    /// Windows with a smaller fraction of speech are reported as "no speech".
    #[arg(long, value_name = "RATIO", global = true)]
    min_speech: Option<f32>,
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
    /// Also write N augmented copies of each clip (noise, reverb, speed, pitch, EQ, gain).
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
    #[arg(long, value_enum, value_name = "FORMAT", action = clap::ArgAction::Append)]
    format: Vec<FormatArg>,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Devices { json }) => devices::run(json),
        Some(Command::Classify(args)) => classify::run(args, &cli.analysis),
        Some(Command::Eval(args)) => eval::run(args, &cli.analysis),
        Some(Command::Features(args)) => features::run(args, &cli.analysis),
        Some(Command::Listen(args)) => listen::run(&args.source, &args.format, &cli.analysis),
        // Until the full-screen monitor lands, the bare command listens headless.
        None => listen::run(&cli.source, &[], &cli.analysis),
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

/// The analysis settings: the model's defaults overridden by flags.
fn analysis_config(model: &Model, args: &AnalysisArgs) -> AnalysisConfig {
    let mut config = AnalysisConfig::for_model(model);
    if let Some(w) = args.window {
        config.window_s = w;
        config.min_window_s = config.min_window_s.min(w);
    }
    config.hop_s = args.hop;
    if let Some(r) = args.min_speech {
        config.min_speech_ratio = r;
    }
    config
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

/// Context for write errors on stdout (a closed pipe ends the command quietly).
fn stdout_ok(result: std::io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other.context("cannot write to standard output"),
    }
}
