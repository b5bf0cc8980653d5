//! Effective settings: flags over the configuration file over built-in defaults, and
//! `emotty config`, which shows each value and where it came from.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use emotty::config::{self, Config, ConfigOrigin};
use emotty::model;

use super::{AnalysisArgs, DEFAULT_HOP_S, DEFAULT_STREAM_HOP_S, GlobalArgs, SourceArgs};

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    Config,
    Flag,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::Config => "config",
            Origin::Flag => "flag",
        }
    }
}

/// The configuration file as read, and where from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: Option<PathBuf>,
    pub origin: Option<ConfigOrigin>,
    pub exists: bool,
    pub config: Config,
}

impl Settings {
    /// Finds and reads the configuration file (`--config`, `EMOTTY_CONFIG`, default).
    pub fn load(flag: Option<&Path>) -> Result<Settings> {
        let env = std::env::var(config::CONFIG_ENV).ok();
        let Some((path, origin)) = config::locate(flag, env.as_deref()) else {
            return Ok(Settings {
                path: None,
                origin: None,
                exists: false,
                config: Config::default(),
            });
        };
        let config = config::load(&path, origin)?;
        Ok(Settings {
            exists: config.path.is_some(),
            path: Some(path),
            origin: Some(origin),
            config,
        })
    }

    /// Fills model, window and hop from the file where no flag gave them.
    pub fn apply_analysis(&self, a: &mut AnalysisArgs) {
        if a.model.is_none() {
            a.model = self.config.model.clone();
        }
        if a.window.is_none() {
            a.window = self.config.window_s;
        }
        if a.hop.is_none() {
            a.hop = self.config.hop_s;
        }
    }

    /// Fills the device from the file unless a device or an input was given.
    pub fn apply_source(&self, s: &mut SourceArgs) {
        if s.device.is_none() && s.input.is_none() {
            s.device = self.config.device.clone();
        }
    }

    pub fn sessions_dir(&self, flag: Option<&Path>) -> Result<(PathBuf, Origin)> {
        pick_dir(
            flag,
            self.config.sessions_dir.as_deref(),
            config::default_sessions_dir(),
            "sessions",
        )
    }

    pub fn recordings_dir(&self, flag: Option<&Path>) -> Result<(PathBuf, Origin)> {
        pick_dir(
            flag,
            self.config.recordings_dir.as_deref(),
            config::default_recordings_dir(),
            "recordings",
        )
    }

    pub fn speaker(&self, flag: Option<&str>) -> (String, Origin) {
        match (flag, &self.config.speaker) {
            (Some(s), _) => (s.to_string(), Origin::Flag),
            (None, Some(s)) => (s.clone(), Origin::Config),
            (None, None) => ("unknown".into(), Origin::Default),
        }
    }
}

fn pick_dir(
    flag: Option<&Path>,
    config: Option<&Path>,
    default: Option<PathBuf>,
    what: &str,
) -> Result<(PathBuf, Origin)> {
    if let Some(f) = flag {
        return Ok((f.to_path_buf(), Origin::Flag));
    }
    if let Some(c) = config {
        return Ok((c.to_path_buf(), Origin::Config));
    }
    default
        .map(|d| (d, Origin::Default))
        .with_context(|| format!("no home directory to keep {what} in; give --{what}-dir DIR"))
}

/// What the flags said, before the file filled the gaps (for `emotty config`).
pub struct Given {
    pub device: Option<String>,
    pub input: bool,
    pub model: Option<PathBuf>,
    pub window: Option<f64>,
    pub hop: Option<f64>,
    pub speaker: Option<String>,
}

/// Flag, else file, else default, with where it came from.
fn layered<T>(flag: Option<T>, file: Option<T>, default: T) -> (T, Origin) {
    match (flag, file) {
        (Some(v), _) => (v, Origin::Flag),
        (None, Some(v)) => (v, Origin::Config),
        (None, None) => (default, Origin::Default),
    }
}

/// `emotty config`: the file's path and every effective setting with its origin.
pub fn show(
    settings: &Settings,
    given: &Given,
    globals: &GlobalArgs,
    json_out: bool,
) -> Result<ExitCode> {
    let c = &settings.config;
    let mut rows: Vec<(&str, String, Origin)> = Vec::new();
    let (device, o) = if given.input && given.device.is_none() {
        ("(none: --input given)".to_string(), Origin::Flag)
    } else {
        layered(
            given.device.clone(),
            c.device.clone(),
            "the default input device".into(),
        )
    };
    rows.push(("device", device, o));
    let default_model = match model::find_default_model() {
        Ok(p) => p.display().to_string(),
        Err(_) => "not found (looked for models/emotty.onnx here, next to the program, \
                   and in the data directory)"
            .into(),
    };
    let (m, o) = layered(
        given.model.as_ref().map(|p| p.display().to_string()),
        c.model.as_ref().map(|p| p.display().to_string()),
        default_model,
    );
    rows.push(("model", m, o));
    let (w, o) = layered(
        given.window.map(|w| format!("{w} s")),
        c.window_s.map(|w| format!("{w} s")),
        "the model's window".into(),
    );
    rows.push(("window", w, o));
    let (h, o) = layered(
        given.hop.map(|h| format!("{h} s")),
        c.hop_s.map(|h| format!("{h} s")),
        format!("{DEFAULT_HOP_S} s (a streaming model: {DEFAULT_STREAM_HOP_S} s in whole steps)"),
    );
    rows.push(("hop", h, o));
    let (s, o) = settings.sessions_dir(globals.sessions_dir.as_deref())?;
    rows.push(("sessions_dir", s.display().to_string(), o));
    let (r, o) = settings.recordings_dir(globals.recordings_dir.as_deref())?;
    rows.push(("recordings_dir", r.display().to_string(), o));
    let (sp, o) = settings.speaker(given.speaker.as_deref());
    rows.push(("speaker", sp, o));
    let (e, o) = layered(None, c.emoji, true);
    rows.push(("emoji", e.to_string(), o));
    let (col, o) = layered(None, c.colours.map(|c| c.name()), "auto");
    rows.push(("colours", col.to_string(), o));
    let path = settings
        .path
        .as_ref()
        .map_or("(no configuration directory on this system)".into(), |p| {
            p.display().to_string()
        });
    let how = match (settings.origin, settings.exists) {
        (Some(o), true) => o.describe().to_string(),
        (Some(o), false) => format!("{}; not found, so defaults apply", o.describe()),
        (None, _) => "none".into(),
    };
    let mut out = String::new();
    if json_out {
        let settings_json: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v, o)| (k.to_string(), json!({"value": v, "source": o.name()})))
            .collect();
        out = json!({"config_file": path, "config_file_source": how, "settings": settings_json})
            .to_string();
        out.push('\n');
    } else {
        out.push_str(&format!("config file: {path} ({how})\n"));
        out.push_str(&format!("{:<15} {:<8} {}\n", "SETTING", "SOURCE", "VALUE"));
        for (k, v, o) in &rows {
            out.push_str(&format!("{k:<15} {:<8} {v}\n", o.name()));
        }
    }
    super::stdout_ok(std::io::Write::write_all(
        &mut std::io::stdout(),
        out.as_bytes(),
    ))?;
    Ok(ExitCode::SUCCESS)
}
