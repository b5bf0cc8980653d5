//! `emotty sessions export --format csv|json`: a session as one file for other tools.
//!
//! CSV is for spreadsheets: one row per analysis hop (`kind` = `window`) with the
//! probabilities in the model's label order, then arousal and valence (empty where the
//! model does not rate them), and the events (markers, notes, pauses,
//! …) as rows of their own kind with their text, all in time order. JSON is for
//! programs: `session.json`, the summary, the debounced changes, the timeline and the
//! events in one object.

use serde_json::{Value, json};

use super::format::{EventKind, EventRecord, TimelineRow};
use super::store::Loaded;
use super::summary::{emotion_changes, shares};
use crate::emotion::{CHANGE_HOLD_S, hold_windows};
use crate::text::csv_field;

/// The hold in windows for this session.
pub fn change_hold(loaded: &Loaded) -> usize {
    hold_windows(
        CHANGE_HOLD_S,
        loaded
            .info
            .meta
            .hop_s
            .unwrap_or(crate::engine::DEFAULT_HOP_S),
    )
}

/// The session as one JSON value.
pub fn to_json(loaded: &Loaded) -> Value {
    let changes: Vec<Value> = emotion_changes(&loaded.rows, change_hold(loaded))
        .into_iter()
        .map(|c| json!({"t": c.t, "from": c.from, "to": c.to}))
        .collect();
    let shares: serde_json::Map<String, Value> = shares(&loaded.summary)
        .into_iter()
        .map(|(k, v)| (k, json!(crate::precision::ratio(v))))
        .collect();
    json!({
        "id": loaded.info.meta.id,
        "status": loaded.info.status,
        "session": loaded.info.meta,
        "summary": loaded.summary,
        "shares": shares,
        "changes": changes,
        "timeline": loaded.rows,
        "events": loaded.events,
        "warnings": loaded.warnings,
    })
}

/// The text an event carries, for tables and CSV.
pub fn event_text(kind: &EventKind) -> (&'static str, String) {
    match kind {
        EventKind::Marker { label } => ("marker", label.clone()),
        EventKind::Note { text } => ("note", text.clone()),
        EventKind::Recording { file, label, .. } => ("recording", format!("{label}: {file}")),
        EventKind::DeviceChanged { source } => (
            "device_changed",
            format!(
                "{} {} ({} Hz, {} ch)",
                source.kind, source.name, source.sample_rate, source.channels
            ),
        ),
        EventKind::Pause => ("pause", String::new()),
        EventKind::Resume => ("resume", String::new()),
        EventKind::Warning { message } => ("warning", message.clone()),
        EventKind::Started { source } => (
            "started",
            format!(
                "{} {} ({} Hz, {} ch)",
                source.kind, source.name, source.sample_rate, source.channels
            ),
        ),
        EventKind::Ended { reason, message } => (
            "ended",
            match message {
                Some(m) => format!("{reason}: {m}"),
                None => reason.clone(),
            },
        ),
    }
}

/// The session as CSV text.
pub fn to_csv(loaded: &Loaded) -> String {
    let labels = &loaded.info.meta.labels;
    let mut out = String::from("kind,start_s,end_s,wall,emotion,speech_ratio,rms_dbfs");
    for l in labels {
        out.push(',');
        out.push_str(&csv_field(l));
    }
    out.push_str(",arousal,valence,text\n");
    enum Item<'a> {
        Row(&'a TimelineRow),
        Event(&'a EventRecord),
    }
    let mut items: Vec<(f64, Item)> = loaded
        .rows
        .iter()
        .map(|r| (r.end_s, Item::Row(r)))
        .chain(loaded.events.iter().map(|e| (e.t, Item::Event(e))))
        .collect();
    // Stable: at equal times rows come before the events logged after them.
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, item) in items {
        match item {
            Item::Row(r) => {
                out.push_str(&format!(
                    "window,{:.3},{:.3},{},{},{:.4},{:.1}",
                    r.start_s,
                    r.end_s,
                    r.wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    r.emotion.as_deref().unwrap_or("no speech"),
                    r.speech_ratio,
                    r.rms_dbfs
                ));
                let probs = r.probs_in(labels);
                for i in 0..labels.len() {
                    out.push(',');
                    if let Some(p) = &probs {
                        out.push_str(&format!("{:.4}", p[i]));
                    }
                }
                for v in [r.arousal, r.valence] {
                    out.push(',');
                    if let Some(v) = v {
                        out.push_str(&format!("{v:.4}"));
                    }
                }
                out.push_str(",\n");
            }
            Item::Event(e) => {
                let (kind, text) = event_text(&e.kind);
                out.push_str(&format!(
                    "{kind},{:.3},,{},,,",
                    e.t,
                    e.wall.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ));
                out.push_str(&",".repeat(labels.len() + 2));
                out.push(',');
                out.push_str(&csv_field(&text));
                out.push('\n');
            }
        }
    }
    out
}
