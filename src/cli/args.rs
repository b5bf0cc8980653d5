//! The command line: every flag and subcommand, with its help text. Parsed by clap;
//! resolved and checked against the model in `cli/mod.rs`.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use emotty::audio::decode::RawEncoding;

/// Real-time speech emotion recognition in the terminal.
#[derive(Debug, Parser)]
#[command(name = "emotty", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,
    #[command(flatten)]
    pub(crate) globals: GlobalArgs,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Speaker id stored with labeled recordings (default: from the config, or "unknown").
    #[arg(long, value_name = "ID")]
    pub(crate) speaker: Option<String>,
    #[command(flatten)]
    pub(crate) monitor: MonitorArgs,
}

/// How the monitor (the bare `emotty` command) looks.
#[derive(Debug, Clone, Default, Args)]
pub struct MonitorArgs {
    /// Show emotion names with emoji (default: from the config, else when the terminal
    /// is likely to draw them).
    #[arg(long, overrides_with = "no_emoji")]
    pub(crate) emoji: bool,
    /// Plain ASCII faces instead of emoji.
    #[arg(long)]
    pub(crate) no_emoji: bool,
    /// Colours: auto (from COLORTERM and TERM), truecolor, 256 or 16.
    #[arg(long, value_name = "WHICH", value_parser = ["auto", "truecolor", "256", "16"])]
    pub(crate) colours: Option<String>,
    /// Log, per analysis window drawn, the time from the end of its audio to the frame
    /// that showed it (JSON lines), for measuring the monitor's latency.
    #[arg(long, value_name = "FILE")]
    pub(crate) latency_log: Option<PathBuf>,
    /// Raw PCM on standard input, with --input - --rate N [--channels N]: s16le or f32le
    /// (`arecord -t raw` over SSH).
    #[arg(long, value_enum, value_name = "PCM")]
    pub(crate) format: Option<PcmArg>,
}

/// Raw PCM formats (the monitor's `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PcmArg {
    /// Signed 16-bit little-endian.
    S16le,
    /// 32-bit float little-endian.
    F32le,
}

pub use emotty::engine::{DEFAULT_HOP_S, DEFAULT_STREAM_HOP_S};

/// Where settings and data live; valid with every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: $EMOTTY_CONFIG, else ~/.config/emotty/config.toml).
    #[arg(long, value_name = "PATH", global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Where sessions are kept (default: from the config, else the data directory).
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) sessions_dir: Option<PathBuf>,
    /// Where labeled recordings are kept (default: from the config, else the data
    /// directory).
    #[arg(long, value_name = "DIR", global = true)]
    pub(crate) recordings_dir: Option<PathBuf>,
}

/// How a live run is logged.
#[derive(Debug, Clone, Default, Args)]
pub struct SessionArgs {
    /// A name or client code for the session.
    #[arg(long, value_name = "NAME", conflicts_with = "no_session")]
    pub(crate) session: Option<String>,
    /// Also keep the session's audio as WAV (by default no audio is stored).
    #[arg(long, conflicts_with = "no_session")]
    pub(crate) keep_audio: bool,
    /// Do not log this run as a session.
    #[arg(long)]
    pub(crate) no_session: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct SourceArgs {
    /// Capture from the input device whose name contains NAME (case-insensitive).
    #[arg(long, value_name = "NAME", conflicts_with = "input")]
    pub(crate) device: Option<String>,
    /// Read audio from FILE (WAV, FLAC, AIFF), or from standard input with "-".
    #[arg(long, value_name = "FILE|-")]
    pub(crate) input: Option<PathBuf>,
    /// Analyse a file as fast as possible instead of in real time.
    #[arg(long)]
    pub(crate) fast: bool,
    /// Sample rate of raw PCM on standard input.
    #[arg(long, value_name = "HZ")]
    pub(crate) rate: Option<u32>,
    /// Channel count of raw PCM on standard input.
    #[arg(long, value_name = "N")]
    pub(crate) channels: Option<u16>,
}

/// Model and window settings.
#[derive(Debug, Clone, Args)]
pub(crate) struct AnalysisArgs {
    /// The ONNX model (default: models/emotty.onnx, next to the program, or in the data
    /// directory).
    #[arg(long, value_name = "PATH", global = true)]
    pub(crate) model: Option<PathBuf>,
    /// Analysis window length in seconds (default: the model's, usually 3).
    #[arg(long, value_name = "SECONDS", global = true)]
    pub(crate) window: Option<f64>,
    /// Time between windows in seconds (default: 0.5; for a streaming model 0.25 rounded
    /// down to its whole steps, 0.24 s for 80 ms steps).
    #[arg(long, value_name = "SECONDS", global = true)]
    pub(crate) hop: Option<f64>,
    /// Windows with a smaller fraction of speech are reported as "no speech".
    #[arg(long, value_name = "RATIO", global = true)]
    pub(crate) min_speech: Option<f32>,
    /// Adapt to the voice heard (models trained for it): each file, pipe or live
    /// session as its own stream (stream, the default for such models), a speaker's
    /// clips in a corpus layout as one stream (speaker, eval), each folder's files as
    /// one (folder, classify and eval), or not at all (off).
    #[arg(long, value_name = "MODE", global = true)]
    pub(crate) adapt: Option<AdaptArg>,
}

/// `--adapt`: what counts as one stream for per-stream adaptation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AdaptArg {
    Stream,
    Speaker,
    Folder,
    Off,
}

impl AnalysisArgs {
    /// Refuses an `--adapt` grouping that `command` has no use for (a live command has
    /// one stream; only eval knows speakers).
    pub(crate) fn check_adapt(&self, command: &str, allowed: &[AdaptArg]) -> Result<()> {
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
pub(crate) enum FormatArg {
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
pub(crate) enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// `--format` for a command that takes only some of the formats: `--help` and the
/// error for any other value list exactly those.
pub(crate) fn formats(
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

pub(crate) fn split_formats(values: &[FormatArg]) -> (OutputFormat, Option<RawEncoding>) {
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
pub(crate) struct ClassifyArgs {
    /// Audio files to classify.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Also print one row per analysis window.
    #[arg(long)]
    pub(crate) timeline: bool,
    /// Output format (table, json, csv); with --input -, also the raw PCM format
    /// (s16le, f32le). May be given twice.
    #[arg(long, value_enum, value_name = "FORMAT", action = clap::ArgAction::Append)]
    pub(crate) format: Vec<FormatArg>,
    /// Files analysed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub(crate) jobs: Option<usize>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Directories (or files) of labeled audio.
    #[arg(value_name = "DIR", required = true)]
    pub(crate) dirs: Vec<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// Files analysed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub(crate) jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct FeaturesArgs {
    /// Directories (or files) of labeled audio.
    #[arg(value_name = "DIR", required = true)]
    pub(crate) dirs: Vec<PathBuf>,
    /// Where to write the .npz archive.
    #[arg(long, value_name = "PATH")]
    pub(crate) out: PathBuf,
    /// Front-end settings as JSON (default: the model's front end).
    #[arg(long, value_name = "JSON")]
    pub(crate) frontend: Option<String>,
    /// Also write N augmented copies of each clip (noise, reverb, speed, pitch, EQ, gain),
    /// at most 32: each copy adds the whole corpus again to the archive and its memory.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) augment: usize,
    /// Seed of the augmentation, for reproducible runs.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Files processed in parallel (default: number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub(crate) jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// Output format (table, json); with --input -, also the raw PCM format.
    #[arg(long, value_name = "FORMAT", action = clap::ArgAction::Append,
          value_parser = formats(&["table", "json", "s16le", "f32le"]))]
    pub(crate) format: Vec<FormatArg>,
    #[command(flatten)]
    pub(crate) session: SessionArgs,
    /// Stop after this many seconds of audio.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
}

#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SessionsCommand>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
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
pub(crate) enum ExportFormat {
    Csv,
    Json,
    Svg,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The emotion the clip is labeled with: its name, or 1-8 as on the monitor's keys.
    #[arg(long, value_name = "LABEL")]
    pub(crate) label: String,
    /// Seconds to record (after a 0.5 s pre-roll).
    #[arg(long, value_name = "N")]
    pub(crate) seconds: f64,
    /// Speaker id (default: from the config, or "unknown").
    #[arg(long, value_name = "ID")]
    pub(crate) speaker: Option<String>,
    /// A note stored with the clip.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: Option<String>,
    /// Raw PCM format on stdin (s16le, f32le), with --input - --rate.
    #[arg(long, value_name = "FORMAT", value_parser = formats(&["s16le", "f32le"]))]
    pub(crate) format: Option<FormatArg>,
    #[command(flatten)]
    pub(crate) source: SourceArgs,
}
