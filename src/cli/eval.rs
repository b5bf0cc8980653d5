//! `emotty eval`: how well the model does on labeled audio, per corpus and pooled.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use serde_json::json;

use emotty::classify;
use emotty::dataset::corpus::{self, Corpus};
use emotty::dataset::metrics::{Confusion, Scores};

use super::{
    AdaptArg, AnalysisArgs, EvalArgs, analysis_config, jobs, load_model, pool, say, stdout_ok,
    streams,
};

pub fn run(args: EvalArgs, analysis: &AnalysisArgs) -> Result<ExitCode> {
    let scan = corpus::scan(&args.dirs)?;
    for w in &scan.warnings {
        say(format_args!("emotty: warning: {w}"));
    }
    if scan.clips.is_empty() {
        bail!(
            "no labeled audio found in {} (expected the RAVDESS, TESS, nEMO or emotty recordings layout)",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !scan.unlabeled.is_empty() {
        say(format_args!(
            "emotty: warning: {} audio files have no label in a known layout and were skipped (first: {})",
            scan.unlabeled.len(),
            scan.unlabeled[0].display()
        ));
    }
    analysis.check_adapt("eval", &[AdaptArg::Speaker, AdaptArg::Folder])?;
    let model = load_model(analysis)?;
    let config = analysis_config(&model, analysis)?;
    let labels = model.labels().to_vec();
    let mut per_corpus: BTreeMap<Corpus, Confusion> = BTreeMap::new();
    let mut failed = Vec::new();
    let total = scan.clips.len();
    let show_progress = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    // With adaptation by speaker or folder, each group's clips are one stream, played
    // in path order; otherwise each clip is a group of its own.
    let groups = streams(
        &scan.clips,
        analysis.adapt,
        |c| &c.path,
        |c| c.speaker.as_str(),
    );
    let mut score =
        |clip: &corpus::Clip, result: Result<classify::ClipResult, classify::ClassifyError>| {
            match result {
                Ok(r) => {
                    let Some(truth) = labels.iter().position(|l| *l == clip.label) else {
                        failed.push(format!(
                            "{}: label \"{}\" is not one the model knows",
                            clip.path.display(),
                            clip.label
                        ));
                        return;
                    };
                    per_corpus
                        .entry(clip.corpus)
                        .or_insert_with(|| Confusion::new(&labels))
                        .add(truth, r.verdict.map(|v| v.top));
                }
                Err(e) => failed.push(e.to_string()),
            }
        };
    let mut done = 0;
    pool::ordered(
        &groups,
        jobs(args.jobs),
        |group| {
            let paths: Vec<&Path> = group
                .iter()
                .map(|&i| scan.clips[i].path.as_path())
                .collect();
            classify::analyze_stream(&paths, &model, &config)
        },
        |_, group, results| {
            for (&i, result) in group.iter().zip(results) {
                done += 1;
                if show_progress && (done % 25 == 0 || done == total) {
                    eprint!("\r{done}/{total} clips");
                }
                score(&scan.clips[i], result);
            }
        },
    );
    if show_progress {
        eprintln!();
    }
    for f in &failed {
        say(format_args!("emotty: {f}"));
    }
    let mut pooled = Confusion::new(&labels);
    for c in per_corpus.values() {
        pooled.merge(c);
    }
    let info = model.info();
    let mut out = std::io::stdout().lock();
    if args.json {
        let corpora: serde_json::Map<String, serde_json::Value> = per_corpus
            .iter()
            .map(|(k, c)| (k.name().to_string(), report_json(c)))
            .collect();
        let report = json!({
            "model": {
                "name": info.meta.name,
                "version": info.meta.version,
                "path": info.path,
                "sha256": info.sha256,
            },
            "window_s": config.window_s,
            "hop_s": config.hop_s,
            "labels": labels,
            "corpora": corpora,
            "pooled": report_json(&pooled),
            "failed": failed,
            "unlabeled": scan.unlabeled.len(),
        });
        stdout_ok(writeln!(out, "{report}"))?;
    } else {
        let text = report_table(&labels, &per_corpus, &pooled, &info.meta.name, &info.path);
        stdout_ok(write!(out, "{text}"))?;
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn report_json(c: &Confusion) -> serde_json::Value {
    let s = c.scores();
    json!({
        "clips": s.clips,
        "no_speech": s.no_speech,
        "accuracy": s.accuracy,
        "uar": s.uar,
        "macro_f1": s.macro_f1,
        "recall": c.labels.iter().zip(&s.recall)
            .map(|(l, r)| (l.clone(), json!(r)))
            .collect::<serde_json::Map<_, _>>(),
        "confusion": c.matrix,
        "confusion_columns": c.labels.iter().cloned().chain(["no speech".to_string()]).collect::<Vec<_>>(),
    })
}

fn report_table(
    labels: &[String],
    per_corpus: &BTreeMap<Corpus, Confusion>,
    pooled: &Confusion,
    model_name: &str,
    model_path: &std::path::Path,
) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(t, "model: {model_name} ({})", model_path.display());
    let _ = writeln!(
        t,
        "\n{:<11} {:>6} {:>9} {:>9} {:>7} {:>9}",
        "corpus", "clips", "no-speech", "accuracy", "UAR", "macro-F1"
    );
    let mut rows: Vec<(&str, Scores)> = per_corpus
        .iter()
        .map(|(k, c)| (k.name(), c.scores()))
        .collect();
    if per_corpus.len() > 1 {
        rows.push(("pooled", pooled.scores()));
    }
    for (name, s) in &rows {
        let _ = writeln!(
            t,
            "{:<11} {:>6} {:>9} {:>9.3} {:>7.3} {:>9.3}",
            name, s.clips, s.no_speech, s.accuracy, s.uar, s.macro_f1
        );
    }
    let _ = write!(t, "\nrecall      ");
    for l in labels {
        let _ = write!(t, " {:>9}", l);
    }
    let _ = writeln!(t);
    for (name, s) in &rows {
        let _ = write!(t, "{:<11} ", name);
        for r in &s.recall {
            match r {
                Some(r) => {
                    let _ = write!(t, " {:>9.3}", r);
                }
                None => {
                    let _ = write!(t, " {:>9}", "-");
                }
            }
        }
        let _ = writeln!(t);
    }
    let title = if per_corpus.len() > 1 { "pooled " } else { "" };
    let _ = writeln!(
        t,
        "\n{title}confusion matrix (rows: true emotion, columns: predicted)"
    );
    let _ = write!(t, "{:<11} ", "");
    for l in labels {
        let _ = write!(t, " {:>9}", l);
    }
    let _ = writeln!(t, " {:>9}", "no speech");
    for (i, row) in pooled.matrix.iter().enumerate() {
        let _ = write!(t, "{:<11} ", labels[i]);
        for v in row {
            let _ = write!(t, " {:>9}", v);
        }
        let _ = writeln!(t);
    }
    t
}
