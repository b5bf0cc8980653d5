//! `emotty features`: the engine's features of labeled audio, for training.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use emotty::dataset::corpus;
use emotty::dataset::features;
use emotty::dsp::frontend::FrontendConfig;
use emotty::dsp::vad::VadConfig;

use super::{AnalysisArgs, FeaturesArgs, jobs, load_model, say};

/// The most augmented copies per clip: each one adds the whole corpus again to the
/// archive and to the memory it is built in.
const MAX_AUGMENT: usize = 32;

pub fn run(args: FeaturesArgs, analysis: &AnalysisArgs) -> Result<ExitCode> {
    if args.augment > MAX_AUGMENT {
        bail!(
            "--augment {}: at most {MAX_AUGMENT} augmented copies per clip",
            args.augment
        );
    }
    // Minutes of work must not end in "cannot write": the destination is checked first.
    if let Err(why) = emotty::durable::check_output(&args.out) {
        bail!("{}: cannot write: {why}", args.out.display());
    }
    let frontend: FrontendConfig = match &args.frontend {
        Some(json) => {
            let config: FrontendConfig =
                serde_json::from_str(json).context("--frontend is not valid front-end JSON")?;
            config.validate()?;
            config
        }
        None => load_model(analysis)?.info().meta.frontend.clone(),
    };
    let scan = corpus::scan(&args.dirs)?;
    for w in &scan.warnings {
        say(format_args!("emotty: warning: {w}"));
    }
    if scan.clips.is_empty() {
        bail!(
            "no labeled audio found (expected the RAVDESS, TESS, nEMO or emotty recordings layout)"
        );
    }
    if !scan.unlabeled.is_empty() {
        say(format_args!(
            "emotty: warning: {} audio files have no label in a known layout and were skipped",
            scan.unlabeled.len()
        ));
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let export = features::export(
        &scan.clips,
        &frontend,
        VadConfig::default(),
        features::Augmentation {
            copies: args.augment,
            seed: args.seed,
        },
        jobs(args.jobs),
        &args.out,
        |done, total| {
            if tty {
                eprint!("\r{done}/{total} clips");
            }
        },
    )?;
    if tty {
        eprintln!();
    }
    for f in &export.failed {
        say(format_args!("emotty: {f}"));
    }
    eprintln!(
        "wrote {} clips, {} frames of {} features to {}",
        export.clips,
        export.frames,
        frontend.feature_dim(),
        args.out.display()
    );
    Ok(if export.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
