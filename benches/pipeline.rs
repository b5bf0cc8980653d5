//! The whole `classify` pipeline on real clips: decoding, the reader thread and ring
//! buffer, downmix and resampling, VAD and pitch, the front end and one inference per
//! speech window, exactly as `emotty classify` runs it. The eight fixture sentences
//! hold 23.4 s of audio, so the real-time factor is 23.4 s divided by the time per
//! iteration. Run it under `taskset -c 0` for the one-core figure (benches/report.sh
//! does).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use emotty::classify::analyze_file;
use emotty::engine::AnalysisConfig;
use emotty::model::Model;

fn clips() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    match emotty::dataset::corpus::scan(&[root]) {
        Ok(scan) => scan.clips.into_iter().map(|c| c.path).collect(),
        Err(e) => panic!("{e}"),
    }
}

fn model() -> (String, Arc<Model>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, rel) in [
        ("shipped", "models/emotty.onnx"),
        ("test", "tests/fixtures/test-model.onnx"),
    ] {
        if let Ok(m) = Model::load(&root.join(rel)) {
            return (name.to_string(), Arc::new(m));
        }
    }
    panic!("no model to run");
}

fn pipeline(c: &mut Criterion) {
    let clips = clips();
    let (name, model) = model();
    let config = AnalysisConfig::for_model(&model);
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(20);
    group.bench_function(format!("classify-8-clips-{name}"), |b| {
        b.iter(|| {
            for clip in &clips {
                if let Err(e) = analyze_file(clip, &model, &config) {
                    panic!("{e}");
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
