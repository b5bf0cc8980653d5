//! Shared formatting of verdicts and windows for table, JSON-lines and CSV output.

use serde_json::{Map, Value, json};

use emotty::classify::ClipResult;
use emotty::engine::WindowResult;
use emotty::model::Affect;
use emotty::precision;
use emotty::text::csv_field;

/// What one table or CSV row says: a clip's verdict or a window's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Cells<'a> {
    /// The top label, `None` for no speech.
    pub top: Option<usize>,
    pub probs: Option<&'a [f32]>,
    /// Arousal and valence, from models that rate them.
    pub affect: Option<Affect>,
    pub speech_ratio: f64,
}

impl<'a> Cells<'a> {
    pub fn clip(clip: &'a ClipResult) -> Self {
        Cells {
            top: clip.verdict.as_ref().map(|v| v.top),
            probs: clip.verdict.as_ref().map(|v| v.probs.as_slice()),
            affect: clip.verdict.as_ref().and_then(|v| v.affect),
            speech_ratio: clip.speech_ratio(),
        }
    }

    pub fn window(w: &'a WindowResult) -> Self {
        Cells {
            top: w.top(),
            probs: w.probs(),
            affect: w.affect(),
            speech_ratio: f64::from(w.speech_ratio),
        }
    }
}

/// `"arousal"` and `"valence"` as JSON numbers rounded to 4 decimals, or nulls.
fn affect_json(affect: Option<Affect>) -> (Value, Value) {
    match affect {
        Some(a) => (
            json!(precision::ratio(a.arousal)),
            json!(precision::ratio(a.valence)),
        ),
        None => (Value::Null, Value::Null),
    }
}

/// `{"neutral": 0.1, …}` in label order.
pub fn probs_object(labels: &[String], probs: &[f32]) -> Value {
    let mut map = Map::new();
    for (l, p) in labels.iter().zip(probs) {
        map.insert(l.clone(), json!(precision::ratio(*p)));
    }
    Value::Object(map)
}

/// Percentages for a table row: " 71%".
pub fn percent(p: f32) -> String {
    format!("{:>3.0}%", p * 100.0)
}

/// One JSON object for a whole clip.
pub fn clip_json(file: &str, labels: &[String], clip: &ClipResult) -> Value {
    let (emotion, confidence, probs) = match &clip.verdict {
        Some(v) => (
            json!(labels[v.top]),
            json!(precision::ratio(v.probs[v.top])),
            probs_object(labels, &v.probs),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let (arousal, valence) = affect_json(clip.verdict.as_ref().and_then(|v| v.affect));
    json!({
        "type": "clip",
        "file": file,
        "emotion": emotion,
        "confidence": confidence,
        "arousal": arousal,
        "valence": valence,
        "speech_ratio": precision::ratio(clip.speech_ratio() as f32),
        "duration_s": precision::seconds(clip.duration_s),
        "windows": clip.windows.len(),
        "probs": probs,
    })
}

/// What the model heard over a saved recording: "the model heard angry 61%", or "the
/// model heard no speech".
pub fn heard(prediction: Option<&emotty::recording::Prediction>) -> String {
    match prediction {
        Some(p) => format!(
            "the model heard {} {}",
            p.emotion,
            percent(p.probs.get(&p.emotion).copied().unwrap_or(0.0)).trim()
        ),
        None => "the model heard no speech".into(),
    }
}

/// One JSON object for a window.
pub fn window_json(file: &str, labels: &[String], w: &WindowResult) -> Value {
    let (emotion, probs) = match (w.top(), w.probs()) {
        (Some(top), Some(p)) => (json!(labels[top]), probs_object(labels, p)),
        _ => (Value::Null, Value::Null),
    };
    let (arousal, valence) = affect_json(w.affect());
    json!({
        "type": "window",
        "file": file,
        "index": w.index,
        "start_s": precision::seconds(w.start_s),
        "end_s": precision::seconds(w.end_s),
        "emotion": emotion,
        "no_speech": w.top().is_none(),
        "arousal": arousal,
        "valence": valence,
        "speech_ratio": precision::ratio(w.speech_ratio),
        "rms_dbfs": precision::decibels(w.rms_dbfs),
        "probs": probs,
    })
}

/// CSV header: kind, file, times, verdict, one column per label, arousal and valence
/// (empty for models that do not rate them).
pub fn csv_header(labels: &[String]) -> String {
    let mut h = String::from("kind,file,start_s,end_s,emotion,confidence,speech_ratio");
    for l in labels {
        h.push(',');
        h.push_str(l);
    }
    h.push_str(",arousal,valence");
    h
}

/// A CSV row; the probabilities empty for no speech.
pub fn csv_row(
    kind: &str,
    file: &str,
    start_s: f64,
    end_s: f64,
    labels: &[String],
    cells: Cells,
) -> String {
    let emotion = cells.top.map(|t| labels[t].as_str()).unwrap_or("no speech");
    let confidence = match (cells.top, cells.probs) {
        (Some(t), Some(p)) => format!("{:.4}", p[t]),
        _ => String::new(),
    };
    let mut row = format!(
        "{kind},{},{start_s:.3},{end_s:.3},{emotion},{confidence},{:.4}",
        csv_field(file),
        cells.speech_ratio
    );
    for i in 0..labels.len() {
        row.push(',');
        if let Some(p) = cells.probs {
            row.push_str(&format!("{:.4}", p[i]));
        }
    }
    match cells.affect {
        Some(a) => row.push_str(&format!(",{:.4},{:.4}", a.arousal, a.valence)),
        None => row.push_str(",,"),
    }
    row
}

/// Table header for clips/windows: name column of `width`, then the verdict columns,
/// and arousal and valence where the model rates them.
pub fn table_header(width: usize, labels: &[String], affect: bool) -> String {
    let mut h = format!(
        "{:<width$}  {:<10} {:>5} {:>6}",
        "FILE", "EMOTION", "CONF", "SPEECH"
    );
    for l in labels {
        h.push_str(&format!(" {:>w$}", short(l), w = short(l).len().max(4)));
    }
    if affect {
        h.push_str(&format!(" {:>5} {:>5}", "arous", "valen"));
    }
    h
}

/// A table row; `affect` as in [`table_header`].
pub fn table_row(
    width: usize,
    name: &str,
    labels: &[String],
    cells: Cells,
    affect: bool,
) -> String {
    let emotion = cells.top.map(|t| labels[t].as_str()).unwrap_or("no speech");
    let conf = match (cells.top, cells.probs) {
        (Some(t), Some(p)) => percent(p[t]),
        _ => "   -".to_string(),
    };
    let mut row = format!(
        "{name:<width$}  {emotion:<10} {conf:>5} {:>6}",
        format!("{:.0}%", cells.speech_ratio * 100.0)
    );
    for (i, l) in labels.iter().enumerate() {
        let cell = cells
            .probs
            .map(|p| percent(p[i]))
            .unwrap_or_else(|| "-".into());
        row.push_str(&format!(" {:>w$}", cell, w = short(l).len().max(4)));
    }
    if affect {
        match cells.affect {
            Some(a) => row.push_str(&format!(" {:>+5.2} {:>+5.2}", a.arousal, a.valence)),
            None => row.push_str(&format!(" {:>5} {:>5}", "-", "-")),
        }
    }
    row
}

/// Column headings short enough for an 80-column terminal.
fn short(label: &str) -> &str {
    match label {
        "neutral" => "neut",
        "fearful" => "fear",
        "disgust" => "disg",
        "surprised" => "surp",
        "angry" => "angr",
        "happy" => "happ",
        other => other,
    }
}
