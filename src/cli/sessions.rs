//! `emotty sessions [list|show ID|export ID]`.
//!
//! Interrupted sessions are shown like any other, marked "interrupted"; before one is
//! listed or read, the header of its kept audio is repaired so the WAV covers every
//! complete frame on disk (the writer keeps it at most a second behind).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use emotty::durable;
use emotty::session::export::{self, change_hold, event_text};
use emotty::session::store::{self, Loaded, SessionInfo};
use emotty::session::summary::{emotion_changes, shares};
use emotty::session::svg::{self, clock};
use emotty::text::visible;

use super::{ExportFormat, SessionsArgs, SessionsCommand, say, stdout_ok};

pub fn run(args: SessionsArgs, root: &Path) -> Result<ExitCode> {
    match args.command {
        None => list(root, args.json),
        Some(SessionsCommand::List { json }) => list(root, json || args.json),
        Some(SessionsCommand::Show { id, json }) => show(root, &id, json),
        Some(SessionsCommand::Export { id, format, out }) => {
            export(root, &id, format, out.as_deref())
        }
    }
}

fn repair(info: &SessionInfo) {
    for m in store::repair_audio(info) {
        say(format_args!("emotty: {m}"));
    }
}

fn list(root: &Path, json_out: bool) -> Result<ExitCode> {
    let listing = store::list(root)?;
    for w in &listing.warnings {
        say(format_args!("emotty: warning: skipped {w}"));
    }
    if listing.sessions.is_empty() {
        say(format_args!("emotty: no sessions in {}", root.display()));
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    if !json_out {
        text.push_str(&format!(
            "{:<22} {:<16} {:<16} {:>9} {:>9}  {:<10} {}\n",
            "ID", "NAME", "START", "DURATION", "SPEECH", "DOMINANT", "STATUS"
        ));
    }
    for info in &listing.sessions {
        repair(info);
        let (summary, warnings) = store::quick_summary(info)?;
        for w in warnings {
            say(format_args!("emotty: warning: {w}"));
        }
        let m = &info.meta;
        if json_out {
            text.push_str(
                &json!({
                    "id": m.id,
                    "name": m.name,
                    "start": m.start.local,
                    "duration_s": summary.duration_s,
                    "speech_s": summary.speech_s,
                    "dominant": summary.dominant,
                    "status": info.status,
                    "dir": info.dir,
                })
                .to_string(),
            );
            text.push('\n');
        } else {
            let long = summary.duration_s >= 3600.0;
            text.push_str(&format!(
                "{:<22} {:<16} {:<16} {:>9} {:>9}  {:<10} {}\n",
                visible(&m.id),
                visible(m.name.as_deref().unwrap_or("-")),
                m.start.local.format("%Y-%m-%d %H:%M"),
                clock(summary.duration_s, long),
                clock(summary.speech_s, long),
                summary.dominant.as_deref().unwrap_or("-"),
                info.status.name()
            ));
        }
    }
    stdout_ok(std::io::stdout().write_all(text.as_bytes()))?;
    Ok(ExitCode::SUCCESS)
}

fn load(root: &Path, id: &str) -> Result<Loaded> {
    let info = store::resolve(root, id)?;
    repair(&info);
    let loaded = store::load(&info)?;
    for w in &loaded.warnings {
        say(format_args!("emotty: warning: {w}"));
    }
    Ok(loaded)
}

fn show(root: &Path, id: &str, json_out: bool) -> Result<ExitCode> {
    let loaded = load(root, id)?;
    let text = if json_out {
        let mut v = export::to_json(&loaded);
        // The summary view: no per-hop rows.
        if let Some(o) = v.as_object_mut() {
            o.remove("timeline");
        }
        format!("{v}\n")
    } else {
        show_text(&loaded)
    };
    stdout_ok(std::io::stdout().write_all(text.as_bytes()))?;
    Ok(ExitCode::SUCCESS)
}

fn show_text(l: &Loaded) -> String {
    let m = &l.info.meta;
    let s = &l.summary;
    let long = s.duration_s >= 3600.0;
    let t = |x: f64| clock(x, long);
    let mut o = String::new();
    o.push_str(&format!("session   {}", visible(&m.id)));
    if let Some(n) = &m.name {
        o.push_str(&format!("  \"{}\"", visible(n)));
    }
    o.push_str(&format!("  ({})\n", l.info.status.name()));
    o.push_str(&format!(
        "start     {}\n",
        m.start.local.format("%Y-%m-%d %H:%M:%S %:z")
    ));
    match (&m.end, &m.ended) {
        (Some(end), Some(why)) => o.push_str(&format!(
            "end       {} ({}{})\n",
            end.local.format("%Y-%m-%d %H:%M:%S %:z"),
            visible(&why.reason),
            why.message
                .as_ref()
                .map(|m| format!(": {}", visible(m)))
                .unwrap_or_default()
        )),
        _ => o.push_str("end       not closed properly; shown up to the last complete line\n"),
    }
    if let Some(src) = &m.source {
        o.push_str(&format!(
            "source    {} {} ({} Hz, {} ch)\n",
            visible(&src.kind),
            visible(&src.name),
            src.sample_rate,
            src.channels
        ));
    }
    o.push_str(&format!(
        "model     {} {} (sha256 {})\n",
        visible(&m.model.name),
        visible(&m.model.version),
        m.model.sha256.get(..12).unwrap_or(&m.model.sha256)
    ));
    let share = if s.duration_s > 0.0 {
        format!(" ({:.0}%)", 100.0 * s.speech_s / s.duration_s)
    } else {
        String::new()
    };
    o.push_str(&format!(
        "speech    {} of {}{share}\n",
        t(s.speech_s),
        t(s.duration_s)
    ));
    if s.paused_s > 0.0 {
        o.push_str(&format!("paused    {}\n", t(s.paused_s)));
    }
    if let Some(a) = &m.audio {
        o.push_str(&format!("audio     {}\n", a.files.join(", ")));
    }
    o.push_str("\nshare of speech time per emotion\n");
    let sh = shares(s);
    if sh.is_empty() {
        o.push_str("  (no speech)\n");
    }
    for (label, f) in sh {
        let bar = "█".repeat((f * 30.0).round() as usize);
        o.push_str(&format!("  {label:<10} {:>4.0}%  {bar}\n", f * 100.0));
    }
    let hold = change_hold(l);
    o.push_str(&format!(
        "\nemotion changes (held for {} windows or more)\n",
        hold
    ));
    let changes = emotion_changes(&l.rows, hold);
    if changes.is_empty() {
        o.push_str("  (none)\n");
    }
    for c in changes {
        match c.from {
            Some(f) => o.push_str(&format!("  {:>8}  {f} → {}\n", t(c.t), c.to)),
            None => o.push_str(&format!("  {:>8}  {}\n", t(c.t), c.to)),
        }
    }
    o.push_str("\nmarkers and notes\n");
    let mut any = false;
    for e in &l.events {
        let (kind, text) = event_text(&e.kind);
        if matches!(
            kind,
            "marker" | "note" | "recording" | "pause" | "resume" | "device_changed"
        ) {
            any = true;
            let line = format!("  {:>8}  {kind:<9} {}", t(e.t), visible(&text));
            o.push_str(line.trim_end());
            o.push('\n');
        }
    }
    if !any {
        o.push_str("  (none)\n");
    }
    o
}

fn export(root: &Path, id: &str, format: ExportFormat, out: Option<&Path>) -> Result<ExitCode> {
    if let Some(path) = out
        && let Err(why) = durable::check_output(path)
    {
        bail!("{}: cannot write: {why}", path.display());
    }
    let loaded = load(root, id)?;
    let text = match format {
        ExportFormat::Csv => export::to_csv(&loaded),
        ExportFormat::Json => format!("{}\n", export::to_json(&loaded)),
        ExportFormat::Svg => svg::render(&loaded),
    };
    match out {
        Some(path) => {
            durable::write_output(path, |f| f.write_all(text.as_bytes()))
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
            say(format_args!(
                "emotty: wrote {} ({} bytes)",
                path.display(),
                text.len()
            ));
        }
        None => stdout_ok(std::io::stdout().write_all(text.as_bytes()))?,
    }
    Ok(ExitCode::SUCCESS)
}
