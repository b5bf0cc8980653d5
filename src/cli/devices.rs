//! `emotty devices`: what can be captured from, said plainly.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use emotty::audio::capture;

use super::stdout_ok;

pub fn run(json: bool) -> Result<ExitCode> {
    let devices = capture::list_input_devices()?;
    let usable: Vec<_> = capture::usable(&devices).collect();
    let mut out = std::io::stdout().lock();
    if json {
        stdout_ok(writeln!(out, "{}", serde_json::to_string(&usable)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    if usable.is_empty() {
        stdout_ok(writeln!(
            out,
            "No audio input devices: this machine has no microphone or sound card that emotty can open.\n\
             Analyse a file with `emotty --input FILE`, or audio from another machine with\n\
             `ssh box 'arecord -q -f S16_LE -r 16000 -c 1 -t raw' | emotty classify --input - --format s16le --rate 16000`."
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = usable
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    stdout_ok(writeln!(
        out,
        "  {:<width$}  {:>8}  {:>8}  {:<6}  supported rates",
        "DEVICE", "CHANNELS", "RATE", "FORMAT"
    ))?;
    for d in usable {
        stdout_ok(writeln!(
            out,
            "{} {:<width$}  {:>8}  {:>8}  {:<6}  {}",
            if d.is_default { "*" } else { " " },
            d.name,
            d.channels.map(|c| c.to_string()).unwrap_or_default(),
            d.sample_rate.map(|r| r.to_string()).unwrap_or_default(),
            d.sample_format.clone().unwrap_or_default(),
            d.supported_rates.join(", ")
        ))?;
    }
    stdout_ok(writeln!(
        out,
        "(* = default; pick one with --device NAME, any part of the name)"
    ))?;
    Ok(ExitCode::SUCCESS)
}
