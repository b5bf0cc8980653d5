//! The user's configuration file: `~/.config/emotty/config.toml`.
//!
//! Every setting here also has a command-line flag, and a flag always wins; the file
//! only saves typing the same flags every day (a therapist's microphone, a tester's
//! speaker id). `emotty config` shows where each effective value came from.
//!
//! The file is strict: an unknown key or a value of the wrong type is an error with
//! the file and line (`config.toml:3: unknown field "hopp", expected one of …`), not a
//! silently ignored setting that leaves someone wondering why their microphone is not
//! used. Paths may start with `~/`; relative paths are relative to the file's folder.
//!
//! ```toml
//! device = "USB"                 # substring of the input device name
//! model = "~/models/emotty.onnx"
//! window = 3.0                   # seconds
//! hop = 0.5                      # seconds
//! sessions_dir = "~/emotty/sessions"
//! recordings_dir = "~/emotty/recordings"
//! speaker = "ann"                # default speaker id for recordings
//! emoji = true                   # monitor: emoji next to emotion names
//! colours = "auto"               # monitor: auto, truecolor, 256 or 16
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::ui::theme::Colours;

/// Environment variable naming the configuration file (below `--config`, above the
/// default location).
pub const CONFIG_ENV: &str = "EMOTTY_CONFIG";

/// Why the configuration was read from where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// `--config PATH`
    Flag,
    /// `EMOTTY_CONFIG`
    Env,
    /// The platform's configuration directory.
    DefaultLocation,
}

impl ConfigOrigin {
    pub fn describe(self) -> &'static str {
        match self {
            ConfigOrigin::Flag => "--config",
            ConfigOrigin::Env => CONFIG_ENV,
            ConfigOrigin::DefaultLocation => "default location",
        }
    }
}

/// The settings the file holds; `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file these came from, if one was read.
    pub path: Option<PathBuf>,
    pub device: Option<String>,
    pub model: Option<PathBuf>,
    pub window_s: Option<f64>,
    pub hop_s: Option<f64>,
    pub sessions_dir: Option<PathBuf>,
    pub recordings_dir: Option<PathBuf>,
    pub speaker: Option<String>,
    pub emoji: Option<bool>,
    pub colours: Option<Colours>,
}

/// A configuration file that cannot be used. One line, naming the file (and the line).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    InvalidNoLine { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    device: Option<Spanned<String>>,
    model: Option<Spanned<String>>,
    window: Option<Spanned<f64>>,
    hop: Option<Spanned<f64>>,
    sessions_dir: Option<Spanned<String>>,
    recordings_dir: Option<Spanned<String>>,
    speaker: Option<Spanned<String>>,
    emoji: Option<bool>,
    colours: Option<Spanned<String>>,
}

/// The platform's default location (`$XDG_CONFIG_HOME/emotty/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "emotty").map(|d| d.config_dir().join("config.toml"))
}

/// Which file to read: `flag`, else `$EMOTTY_CONFIG` (when set and not empty), else
/// the default location.
pub fn locate(flag: Option<&Path>, env: Option<&str>) -> Option<(PathBuf, ConfigOrigin)> {
    if let Some(p) = flag {
        return Some((p.to_path_buf(), ConfigOrigin::Flag));
    }
    if let Some(e) = env.filter(|e| !e.is_empty()) {
        return Some((PathBuf::from(e), ConfigOrigin::Env));
    }
    default_path().map(|p| (p, ConfigOrigin::DefaultLocation))
}

/// Reads the file. A missing file at the default location is an empty configuration;
/// a missing file someone named explicitly is an error.
/// The largest config file read: a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

pub fn load(path: &Path, origin: ConfigOrigin) -> Result<Config, ConfigError> {
    match crate::durable::read_at_most(path, MAX_CONFIG_BYTES) {
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => parse(path, &text),
            Err(_) => Err(ConfigError::InvalidNoLine {
                path: path.to_path_buf(),
                message: "not UTF-8 text".into(),
            }),
        },
        Ok(None) => Err(ConfigError::InvalidNoLine {
            path: path.to_path_buf(),
            message: format!(
                "larger than {} KiB; a config file is a few lines",
                MAX_CONFIG_BYTES / 1024
            ),
        }),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && origin == ConfigOrigin::DefaultLocation =>
        {
            Ok(Config::default())
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            cause: source,
        }),
    }
}

/// Parses and checks the text of a configuration file read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| match e.span() {
        Some(span) => ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, &span),
            message: e.message().trim().to_string(),
        },
        None => ConfigError::InvalidNoLine {
            path: path.to_path_buf(),
            message: e.message().trim().to_string(),
        },
    })?;
    let invalid = |span: Range<usize>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, &span),
        message,
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let seconds = |v: Option<Spanned<f64>>, key: &str, max: f64| match v {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0 && *v.get_ref() <= max) => {
            Err(invalid(
                v.span(),
                format!("{key} must be a number of seconds above 0 and at most {max}"),
            ))
        }
        Some(v) => Ok(Some(v.into_inner())),
        None => Ok(None),
    };
    let path_value = |v: Option<Spanned<String>>, key: &str| match v {
        Some(v) if v.get_ref().trim().is_empty() => {
            Err(invalid(v.span(), format!("{key} must not be empty")))
        }
        Some(v) => Ok(Some(resolve_path(base, v.get_ref()))),
        None => Ok(None),
    };
    let device = match raw.device {
        Some(d) if d.get_ref().trim().is_empty() => {
            return Err(invalid(d.span(), "device must not be empty".into()));
        }
        other => other.map(Spanned::into_inner),
    };
    let speaker = match raw.speaker {
        Some(s) => {
            if let Err(problem) = crate::dataset::corpus::check_speaker(s.get_ref()) {
                return Err(invalid(s.span(), format!("speaker: {problem}")));
            }
            Some(s.into_inner())
        }
        None => None,
    };
    let colours = match raw.colours {
        Some(c) => Some(match c.get_ref().as_str() {
            "auto" => Colours::Auto,
            "truecolor" => Colours::TrueColor,
            "256" => Colours::Ansi256,
            "16" => Colours::Ansi16,
            other => {
                return Err(invalid(
                    c.span(),
                    format!("colours must be one of auto, truecolor, 256, 16 (not \"{other}\")"),
                ));
            }
        }),
        None => None,
    };
    Ok(Config {
        path: Some(path.to_path_buf()),
        device,
        model: path_value(raw.model, "model")?,
        window_s: seconds(raw.window, "window", 600.0)?,
        hop_s: seconds(raw.hop, "hop", 60.0)?,
        sessions_dir: path_value(raw.sessions_dir, "sessions_dir")?,
        recordings_dir: path_value(raw.recordings_dir, "recordings_dir")?,
        speaker,
        emoji: raw.emoji,
        colours,
    })
}

/// 1-based line of the start of `span` in `text`.
fn line_of(text: &str, span: &Range<usize>) -> usize {
    let end = span.start.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `~/x` is under the home directory; a relative path is relative to `base`.
fn resolve_path(base: &Path, value: &str) -> PathBuf {
    if let Some(rest) = value.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
    {
        return home.join(rest);
    }
    let p = PathBuf::from(value);
    if p.is_absolute() { p } else { base.join(p) }
}

/// emotty's data directory (`$XDG_DATA_HOME/emotty` on Linux), where sessions and
/// recordings go by default.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "emotty").map(|d| d.data_dir().to_path_buf())
}

/// Default sessions directory: `<data dir>/sessions`.
pub fn default_sessions_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("sessions"))
}

/// Default recordings directory: `<data dir>/recordings`.
pub fn default_recordings_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("recordings"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("/etc/emotty/config.toml")
    }

    #[test]
    fn a_full_file_is_read_with_paths_resolved() {
        let c = parse(
            p(),
            "device = \"USB\"\nmodel = \"models/m.onnx\"\nwindow = 3\nhop = 0.25\n\
             sessions_dir = \"/data/s\"\nrecordings_dir = \"rec\"\nspeaker = \"ann\"\n\
             emoji = false\ncolours = \"256\"\n",
        )
        .unwrap();
        assert_eq!(c.device.as_deref(), Some("USB"));
        assert_eq!(c.model, Some(PathBuf::from("/etc/emotty/models/m.onnx")));
        assert_eq!((c.window_s, c.hop_s), (Some(3.0), Some(0.25)));
        assert_eq!(c.sessions_dir, Some(PathBuf::from("/data/s")));
        assert_eq!(c.recordings_dir, Some(PathBuf::from("/etc/emotty/rec")));
        assert_eq!(c.speaker.as_deref(), Some("ann"));
        assert_eq!((c.emoji, c.colours), (Some(false), Some(Colours::Ansi256)));
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let c = parse(p(), "# nothing yet\n").unwrap();
        assert_eq!(
            c,
            Config {
                path: Some(p().to_path_buf()),
                ..Config::default()
            }
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let cases = [
            ("hop = 0.5\nwindow = \"long\"\n", 2, "invalid type"),
            ("hop = 0.5\n\n\nhopp = 1\n", 4, "unknown field `hopp`"),
            ("device = \"x\"\nhop = \n", 2, ""),
            ("hop = -1\n", 1, "hop must be a number of seconds above 0"),
            ("colours = \"pink\"\n", 1, "colours must be one of"),
            ("emoji = true\nspeaker = \"a_b\"\n", 2, "speaker:"),
            ("[device]\nname = 1\n", 1, "invalid type"),
        ];
        for (text, line, needle) in cases {
            let err = parse(Path::new("config.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("config.toml:{line}: ")),
                "{text:?} gave {err}"
            );
            assert!(err.contains(needle), "{text:?} gave {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn a_missing_default_file_is_empty_but_a_named_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("config.toml");
        assert_eq!(
            load(&missing, ConfigOrigin::DefaultLocation).unwrap(),
            Config::default()
        );
        let err = load(&missing, ConfigOrigin::Flag).unwrap_err().to_string();
        assert!(err.contains("config.toml: cannot read"), "{err}");
    }

    #[test]
    fn the_flag_beats_the_environment_beats_the_default() {
        let (p, o) = locate(Some(Path::new("a.toml")), Some("b.toml")).unwrap();
        assert_eq!((p, o), (PathBuf::from("a.toml"), ConfigOrigin::Flag));
        let (p, o) = locate(None, Some("b.toml")).unwrap();
        assert_eq!((p, o), (PathBuf::from("b.toml"), ConfigOrigin::Env));
        let (_, o) = locate(None, Some("")).unwrap();
        assert_eq!(o, ConfigOrigin::DefaultLocation);
    }
}
