//! `emotty listen`: the engine on a live source, one line per window, no UI.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use emotty::engine::{EndReason, Engine, Event};

use super::output::{percent, window_json};
use super::{
    AnalysisArgs, FormatArg, OutputFormat, SourceArgs, analysis_config, load_model, open_source,
    split_formats, stdout_ok,
};

pub fn run(source: &SourceArgs, format: &[FormatArg], analysis: &AnalysisArgs) -> Result<ExitCode> {
    let (format, raw) = split_formats(format);
    if format == OutputFormat::Csv {
        bail!("listen prints table or json");
    }
    let model = load_model(analysis)?;
    let mut config = analysis_config(&model, analysis);
    config.levels = true;
    let labels = model.labels().to_vec();
    let (feed, guard) = open_source(source, raw)?;
    let engine = Engine::start(feed, guard, model.clone(), config)?;
    let name = engine_name(source);
    let mut level = f32::NEG_INFINITY;
    let mut out = std::io::stdout();
    for event in engine.events() {
        match event {
            Event::Started(s) if format == OutputFormat::Table => {
                eprintln!(
                    "listening to {} ({} Hz, {} ch, {}) with {}; Ctrl-C stops",
                    s.source.name,
                    s.source.sample_rate,
                    s.source.channels,
                    s.source.format,
                    s.model_name
                );
            }
            Event::Level(l) => level = l.rms_dbfs,
            Event::Window(w) => {
                let line = match format {
                    OutputFormat::Json => window_json(&name, &labels, &w).to_string(),
                    _ => match (w.top(), w.probs()) {
                        (Some(t), Some(p)) => format!(
                            "{:>8.1}s  {:<10} {}  speech {:>3.0}%  {:>6.1} dBFS",
                            w.end_s,
                            labels[t],
                            percent(p[t]),
                            w.speech_ratio * 100.0,
                            level
                        ),
                        _ => format!(
                            "{:>8.1}s  {:<10}       speech {:>3.0}%  {:>6.1} dBFS",
                            w.end_s,
                            "no speech",
                            w.speech_ratio * 100.0,
                            level
                        ),
                    },
                };
                stdout_ok(writeln!(out, "{line}").and_then(|_| out.flush()))?;
            }
            Event::Warning { message } => eprintln!("emotty: warning: {message}"),
            Event::Stats(s) if s.dropped_samples > 0 => {
                eprintln!(
                    "emotty: warning: {} samples dropped so far",
                    s.dropped_samples
                )
            }
            Event::Ended(EndReason::EndOfInput) | Event::Ended(EndReason::Stopped) => break,
            Event::Ended(EndReason::DeviceLost(m)) => bail!("the audio device was lost: {m}"),
            Event::Ended(EndReason::Failed(m)) => bail!("{m}"),
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn engine_name(source: &SourceArgs) -> String {
    match (&source.input, &source.device) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => "default".into(),
    }
}
