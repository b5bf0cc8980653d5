//! `emotty classify`: a verdict per file, or a live stream of windows from a pipe.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};

use emotty::classify::{self, ClipResult};
use emotty::engine::{AnalysisConfig, Engine, WindowResult};
use emotty::model::Model;

use super::output::{self, Cells, csv_header, csv_row, table_header, table_row};
use super::{
    AdaptArg, AnalysisArgs, ClassifyArgs, OutputFormat, analysis_config, is_stdin, jobs,
    load_model, open_source, pool, say, split_formats, stdout_ok, streams,
};

pub fn run(args: ClassifyArgs, analysis: &AnalysisArgs) -> Result<ExitCode> {
    let (format, raw) = split_formats(&args.format);
    let streaming = args.source.input.as_deref().is_some_and(is_stdin);
    if args.files.is_empty() && args.source.input.is_none() {
        bail!("nothing to classify: give audio files, or --input - to read standard input");
    }
    if raw.is_some() && !streaming {
        bail!("--format s16le|f32le describes raw PCM on standard input; use it with --input -");
    }
    analysis.check_adapt("classify", &[AdaptArg::Folder])?;
    let model = load_model(analysis)?;
    let config = analysis_config(&model, analysis)?;
    let labels = model.labels().to_vec();
    let mut printer = Printer::new(
        format,
        args.timeline || streaming,
        labels,
        model.has_affect(),
    );

    let mut files = args.files.clone();
    if let Some(input) = &args.source.input
        && !streaming
    {
        files.push(input.clone());
    }
    let mut failures = 0;
    if !files.is_empty() {
        printer.width = files
            .iter()
            .map(|f| {
                emotty::text::visible(&f.display().to_string())
                    .chars()
                    .count()
            })
            .max()
            .unwrap_or(4)
            .clamp(4, 60);
        // With `--adapt folder` a folder's files are one stream, reported together in
        // path order; otherwise each file is its own, reported in the order given.
        let groups = streams(&files, analysis.adapt, |p| p.as_path(), |_| "");
        pool::ordered(
            &groups,
            jobs(args.jobs),
            |group| {
                let paths: Vec<&Path> = group.iter().map(|&i| files[i].as_path()).collect();
                classify::analyze_stream(&paths, &model, &config)
            },
            |_, group, results| {
                for (&i, result) in group.iter().zip(results) {
                    let name = files[i].display().to_string();
                    match result {
                        Ok(clip) => {
                            if let Err(e) = printer.clip(&name, &clip) {
                                say(format_args!("emotty: {e:#}"));
                            }
                        }
                        Err(e) => {
                            failures += 1;
                            say(format_args!("emotty: {e}"));
                        }
                    }
                }
            },
        );
    }
    if streaming {
        printer.width = 12;
        if let Err(e) = classify_stream(&args, raw, &model, &config, &mut printer) {
            failures += 1;
            say(format_args!("emotty: {e:#}"));
        }
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Standard input: windows are printed as they come, the verdict at the end.
fn classify_stream(
    args: &ClassifyArgs,
    raw: Option<emotty::audio::decode::RawEncoding>,
    model: &Arc<Model>,
    config: &AnalysisConfig,
    printer: &mut Printer,
) -> Result<()> {
    let (feed, guard) = open_source(&args.source, raw)?;
    let engine = Engine::start(feed, guard, model.clone(), config.clone())?;
    let mut write_error = None;
    let clip = classify::collect(&engine, "stdin", |w| {
        if write_error.is_none()
            && let Err(e) = printer.window("stdin", w)
        {
            write_error = Some(e);
        }
    })?;
    if let Some(e) = write_error {
        return Err(e);
    }
    printer.timeline = false;
    printer.clip("stdin", &clip)
}

struct Printer {
    format: OutputFormat,
    timeline: bool,
    labels: Vec<String>,
    /// Whether the model rates arousal and valence (the table's last two columns).
    affect: bool,
    width: usize,
    header_done: bool,
}

impl Printer {
    fn new(format: OutputFormat, timeline: bool, labels: Vec<String>, affect: bool) -> Self {
        Printer {
            format,
            timeline,
            labels,
            affect,
            width: 4,
            header_done: false,
        }
    }

    fn out(&self, line: &str) -> Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout_ok(writeln!(stdout, "{line}").and_then(|_| stdout.flush()))
    }

    fn header(&mut self) -> Result<()> {
        if self.header_done {
            return Ok(());
        }
        self.header_done = true;
        match self.format {
            OutputFormat::Table => self.out(&table_header(self.width, &self.labels, self.affect)),
            OutputFormat::Csv => self.out(&csv_header(&self.labels)),
            OutputFormat::Json => Ok(()),
        }
    }

    /// Prints a clip's row (the header first, so no header stands over nothing when
    /// every file fails).
    fn clip(&mut self, file: &str, clip: &ClipResult) -> Result<()> {
        self.header()?;
        let labels = &self.labels;
        match self.format {
            OutputFormat::Table => {
                let name = truncate_left(&emotty::text::visible(file), self.width);
                self.out(&table_row(
                    self.width,
                    &name,
                    labels,
                    Cells::clip(clip),
                    self.affect,
                ))?;
            }
            OutputFormat::Json => {
                self.out(&output::clip_json(file, labels, clip).to_string())?;
            }
            OutputFormat::Csv => {
                self.out(&csv_row(
                    "clip",
                    file,
                    0.0,
                    clip.duration_s,
                    labels,
                    Cells::clip(clip),
                ))?;
            }
        }
        if self.timeline {
            for w in &clip.windows {
                self.window(file, w)?;
            }
        }
        Ok(())
    }

    fn window(&mut self, file: &str, w: &WindowResult) -> Result<()> {
        self.header()?;
        let labels = &self.labels;
        match self.format {
            OutputFormat::Table => {
                let span = format!("  {:.1}-{:.1}s", w.start_s, w.end_s);
                self.out(&table_row(
                    self.width,
                    &span,
                    labels,
                    Cells::window(w),
                    self.affect,
                ))
            }
            OutputFormat::Json => self.out(&output::window_json(file, labels, w).to_string()),
            OutputFormat::Csv => self.out(&csv_row(
                "window",
                file,
                w.start_s,
                w.end_s,
                labels,
                Cells::window(w),
            )),
        }
    }
}

/// Keeps the end of a long path, which is the part that tells files apart.
fn truncate_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - width + 1).collect();
        format!("…{tail}")
    }
}
