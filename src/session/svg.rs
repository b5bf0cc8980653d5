//! `emotty sessions export --format svg`: the session's timeline as a picture for a
//! report.
//!
//! The probabilities of each analysis hop are drawn as stacked areas (one colour per
//! emotion, in the model's label order, so the same emotion is always in the same
//! band). Hops without enough speech are hatched grey gaps rather than interpolated
//! over: the model said nothing there, and the picture must not suggest otherwise.
//! Paused stretches are shaded and labelled. Markers and notes are vertical lines
//! with their text above the plot (the full text is also in a `<title>`, shown on
//! hover). A legend and a time axis (m:ss, or h:mm:ss past an hour) make it readable
//! on paper. Colours match the monitor's.
//!
//! Where the model rated arousal and valence, a second strip under the time axis draws
//! both as lines over [-1, 1], with the same gaps where there was no speech.
//!
//! Long sessions are binned to at most one column per horizontal pixel, averaging
//! the probabilities of the speech hops in each bin, so an hour-long session stays a
//! file a browser opens instantly.

use std::fmt::Write as _;

use super::export::event_text;
use super::format::EventKind;
use super::store::Loaded;
use crate::emotion;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 64.0;
const PLOT_W: f64 = 840.0;
const TOP: f64 = 110.0;
const PLOT_H: f64 = 260.0;
const HEIGHT: f64 = TOP + PLOT_H + 64.0;
/// The arousal/valence strip: its top edge and height, and what it adds to the picture.
const AFFECT_TOP: f64 = HEIGHT + 8.0;
const AFFECT_H: f64 = 100.0;
const AFFECT_EXTRA: f64 = AFFECT_H + 40.0;
const AROUSAL_COLOUR: &str = "#c0392b";
const VALENCE_COLOUR: &str = "#2471a3";

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `m:ss`, or `h:mm:ss` when `long`.
pub fn clock(t: f64, long: bool) -> String {
    let s = t.max(0.0).round() as u64;
    if long {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// One drawn column: a stretch of time and what the model said about it.
#[derive(Debug, Clone)]
struct Column {
    a: f64,
    b: f64,
    probs: Option<Vec<f32>>,
    /// Arousal and valence, where the model rated them.
    affect: Option<(f32, f32)>,
}

fn columns(loaded: &Loaded, max: usize) -> Vec<Column> {
    let labels = &loaded.info.meta.labels;
    let hop = loaded
        .info
        .meta
        .hop_s
        .unwrap_or(crate::engine::DEFAULT_HOP_S)
        .max(1e-3);
    let mut cols: Vec<Column> = Vec::with_capacity(loaded.rows.len());
    let mut prev_end: Option<f64> = None;
    for row in &loaded.rows {
        let a = match prev_end {
            None => row.start_s,
            Some(p) if row.end_s - p <= 1.5 * hop => p,
            Some(_) => row.end_s - hop,
        };
        prev_end = Some(row.end_s);
        if row.end_s <= a {
            continue;
        }
        cols.push(Column {
            a,
            b: row.end_s,
            probs: row.probs_in(labels),
            affect: row.arousal.zip(row.valence),
        });
    }
    if cols.len() <= max {
        return cols;
    }
    let end = cols.last().map_or(0.0, |c| c.b);
    let width = end / max as f64;
    let n = labels.len();
    /// What one pixel column gathers: time-weighted sums over the hops in it.
    #[derive(Clone)]
    struct Bin {
        seen: bool,
        speech_s: f64,
        probs: Vec<f64>,
        rated_s: f64,
        affect: [f64; 2],
    }
    let empty = Bin {
        seen: false,
        speech_s: 0.0,
        probs: vec![0.0; n],
        rated_s: 0.0,
        affect: [0.0; 2],
    };
    let mut bins = vec![empty; max];
    for c in &cols {
        let k = (((c.a + c.b) / 2.0 / width) as usize).min(max - 1);
        let bin = &mut bins[k];
        bin.seen = true;
        let d = c.b - c.a;
        if let Some(p) = &c.probs {
            bin.speech_s += d;
            for (acc, v) in bin.probs.iter_mut().zip(p) {
                *acc += f64::from(*v) * d;
            }
        }
        if let Some((ar, va)) = c.affect {
            bin.rated_s += d;
            bin.affect[0] += f64::from(ar) * d;
            bin.affect[1] += f64::from(va) * d;
        }
    }
    bins.into_iter()
        .enumerate()
        .filter(|(_, b)| b.seen)
        .map(|(k, b)| Column {
            a: k as f64 * width,
            b: (k + 1) as f64 * width,
            probs: (b.speech_s > 0.0)
                .then(|| b.probs.iter().map(|s| (s / b.speech_s) as f32).collect()),
            affect: (b.rated_s > 0.0).then(|| {
                (
                    (b.affect[0] / b.rated_s) as f32,
                    (b.affect[1] / b.rated_s) as f32,
                )
            }),
        })
        .collect()
}

fn tick_step(duration: f64) -> f64 {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| duration / s <= 10.0)
        .unwrap_or(14400.0)
}

/// Renders the session as a standalone SVG document.
pub fn render(loaded: &Loaded) -> String {
    let meta = &loaded.info.meta;
    let labels = &meta.labels;
    let cols = columns(loaded, PLOT_W as usize);
    let duration = loaded
        .summary
        .duration_s
        .max(cols.last().map_or(0.0, |c| c.b))
        .max(loaded.events.iter().map(|e| e.t).fold(0.0, f64::max))
        .max(1.0);
    let long = duration >= 3600.0;
    let x = |t: f64| LEFT + PLOT_W * (t / duration).clamp(0.0, 1.0);
    let y = |v: f64| TOP + PLOT_H * (1.0 - v.clamp(0.0, 1.0));
    let rated = cols.iter().any(|c| c.affect.is_some());
    let height = if rated { HEIGHT + AFFECT_EXTRA } else { HEIGHT };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<defs><pattern id="nospeech" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c8c8c8" stroke-width="2"/></pattern></defs>
<rect width="100%" height="100%" fill="white"/>"##
    );
    // Title.
    let title = match &meta.name {
        Some(n) => format!("Session {n} ({})", meta.id),
        None => format!("Session {}", meta.id),
    };
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&title)
    );
    let sub = format!(
        "{} · {} · speech {} · {} · model {} {}",
        meta.start.local.format("%Y-%m-%d %H:%M"),
        clock(loaded.summary.duration_s, long),
        clock(loaded.summary.speech_s, long),
        loaded.info.status.name(),
        meta.model.name,
        meta.model.version
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="42" fill="#555">{}</text>"##,
        escape(&sub)
    );
    // Plot frame.
    let _ = writeln!(
        s,
        r##"<rect class="plot" x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="#999"/>"##
    );
    // No-speech gaps, merged when adjacent.
    let _ = writeln!(s, r#"<g class="no-speech">"#);
    let mut i = 0;
    while i < cols.len() {
        if cols[i].probs.is_some() {
            i += 1;
            continue;
        }
        let a = cols[i].a;
        let mut b = cols[i].b;
        while i + 1 < cols.len() && cols[i + 1].probs.is_none() && cols[i + 1].a - b < 1e-6 {
            i += 1;
            b = cols[i].b;
        }
        let _ = writeln!(
            s,
            r#"<rect x="{:.2}" y="{TOP}" width="{:.2}" height="{PLOT_H}" fill="url(#nospeech)"><title>no speech {}–{}</title></rect>"#,
            x(a),
            (x(b) - x(a)).max(0.5),
            clock(a, long),
            clock(b, long)
        );
        i += 1;
    }
    let _ = writeln!(s, "</g>");
    // Stacked areas: one path per emotion per contiguous run of speech columns.
    let mut runs: Vec<&[Column]> = Vec::new();
    let mut start = None;
    for (i, c) in cols.iter().enumerate() {
        let continues = i > 0 && cols[i - 1].probs.is_some() && (c.a - cols[i - 1].b).abs() < 1e-6;
        match (&c.probs, start) {
            (Some(_), Some(_)) if continues => {}
            (Some(_), Some(st)) => {
                runs.push(&cols[st..i]);
                start = Some(i);
            }
            (Some(_), None) => start = Some(i),
            (None, Some(st)) => {
                runs.push(&cols[st..i]);
                start = None;
            }
            (None, None) => {}
        }
    }
    if let Some(st) = start {
        runs.push(&cols[st..]);
    }
    for (k, label) in labels.iter().enumerate() {
        let (r, g, b) = emotion::label_colour(label, k);
        let _ = writeln!(
            s,
            r#"<g class="emotion" data-emotion="{}" fill="rgb({r},{g},{b})">"#,
            escape(label)
        );
        for run in &runs {
            let level = |c: &Column, upto: usize| -> f64 {
                c.probs
                    .as_ref()
                    .map_or(0.0, |p| p[..upto].iter().map(|v| f64::from(*v)).sum())
            };
            let mut d = String::new();
            for (j, c) in run.iter().enumerate() {
                let top = level(c, k + 1);
                let cmd = if j == 0 { 'M' } else { 'L' };
                let _ = write!(
                    d,
                    "{cmd}{:.2},{:.2}L{:.2},{:.2}",
                    x(c.a),
                    y(top),
                    x(c.b),
                    y(top)
                );
            }
            for c in run.iter().rev() {
                let bottom = level(c, k);
                let _ = write!(
                    d,
                    "L{:.2},{:.2}L{:.2},{:.2}",
                    x(c.b),
                    y(bottom),
                    x(c.a),
                    y(bottom)
                );
            }
            d.push('Z');
            let _ = writeln!(s, r#"<path d="{d}"/>"#);
        }
        let _ = writeln!(s, "</g>");
    }
    if cols.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#777">no analysis windows were logged</text>"##,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0
        );
    }
    // Paused stretches.
    let _ = writeln!(s, r#"<g class="paused">"#);
    let mut paused_at: Option<f64> = None;
    let mut spans = Vec::new();
    for e in &loaded.events {
        match e.kind {
            EventKind::Pause if paused_at.is_none() => paused_at = Some(e.t),
            EventKind::Resume => {
                if let Some(a) = paused_at.take() {
                    spans.push((a, e.t));
                }
            }
            _ => {}
        }
    }
    if let Some(a) = paused_at {
        spans.push((a, duration));
    }
    for (a, b) in spans {
        let _ = writeln!(
            s,
            r##"<rect x="{:.2}" y="{TOP}" width="{:.2}" height="{PLOT_H}" fill="#777" fill-opacity="0.25"/><text x="{:.2}" y="{:.1}" fill="#444">paused</text>"##,
            x(a),
            (x(b) - x(a)).max(0.5),
            x(a) + 3.0,
            TOP + 14.0
        );
    }
    let _ = writeln!(s, "</g>");
    // Axes.
    let _ = writeln!(s, r##"<g class="axis" fill="#333" stroke="#333">"##);
    for v in [0.0, 0.5, 1.0] {
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{LEFT}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" stroke="none" text-anchor="end">{:.0}%</text>"#,
            LEFT - 5.0,
            y(v),
            y(v),
            LEFT - 8.0,
            y(v) + 4.0,
            v * 100.0
        );
    }
    let step = tick_step(duration);
    let mut t = 0.0;
    while t <= duration + 1e-9 {
        let _ = writeln!(
            s,
            r#"<line x1="{:.2}" y1="{:.1}" x2="{:.2}" y2="{:.1}"/><text x="{:.2}" y="{:.1}" stroke="none" text-anchor="middle">{}</text>"#,
            x(t),
            TOP + PLOT_H,
            x(t),
            TOP + PLOT_H + 5.0,
            x(t),
            TOP + PLOT_H + 19.0,
            clock(t, long)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" stroke="none" text-anchor="middle">time since start ({})</text>"#,
        LEFT + PLOT_W / 2.0,
        TOP + PLOT_H + 40.0,
        if long { "h:mm:ss" } else { "m:ss" }
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16,{:.1}) rotate(-90)" stroke="none" text-anchor="middle">probability</text>"#,
        TOP + PLOT_H / 2.0
    );
    let _ = writeln!(s, "</g>");
    // Markers and notes, labels staggered over three rows so neighbours stay legible.
    let _ = writeln!(s, r#"<g class="markers">"#);
    let mut n = 0;
    for e in &loaded.events {
        let (kind, text, dash, colour) = match &e.kind {
            EventKind::Marker { .. } => ("marker", event_text(&e.kind).1, "4,3", "#222"),
            EventKind::Note { .. } => ("note", event_text(&e.kind).1, "1,3", "#225"),
            EventKind::Recording { label, .. } => {
                ("recording", format!("rec {label}"), "6,2", "#a22")
            }
            _ => continue,
        };
        let xt = x(e.t);
        let ly = TOP - 10.0 - 16.0 * (n % 3) as f64;
        n += 1;
        let shown: String = if text.chars().count() > 28 {
            text.chars().take(27).chain(['…']).collect()
        } else {
            text.clone()
        };
        let prefix = if kind == "note" { "✎ " } else { "" };
        let _ = writeln!(
            s,
            r#"<g class="{kind}"><title>{} {}: {}</title><line x1="{xt:.2}" y1="{:.1}" x2="{xt:.2}" y2="{:.1}" stroke="{colour}" stroke-dasharray="{dash}"/><text x="{:.2}" y="{ly:.1}" fill="{colour}">{}{}</text></g>"#,
            clock(e.t, long),
            kind,
            escape(&text),
            ly + 3.0,
            TOP + PLOT_H,
            xt + 2.0,
            prefix,
            escape(&shown)
        );
    }
    let _ = writeln!(s, "</g>");
    // Legend.
    let lx = LEFT + PLOT_W + 24.0;
    let _ = writeln!(s, r#"<g class="legend">"#);
    let _ = writeln!(
        s,
        r#"<text x="{lx:.1}" y="{:.1}" font-weight="bold">Emotion</text>"#,
        TOP + 2.0
    );
    let mut ly = TOP + 14.0;
    for (k, label) in labels.iter().enumerate() {
        let (r, g, b) = emotion::label_colour(label, k);
        let _ = writeln!(
            s,
            r#"<rect x="{lx:.1}" y="{ly:.1}" width="14" height="14" fill="rgb({r},{g},{b})"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 20.0,
            ly + 11.0,
            escape(label)
        );
        ly += 20.0;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{lx:.1}" y="{ly:.1}" width="14" height="14" fill="url(#nospeech)" stroke="#bbb"/><text x="{:.1}" y="{:.1}">no speech</text>"##,
        lx + 20.0,
        ly + 11.0
    );
    ly += 20.0;
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#222" stroke-dasharray="4,3"/><text x="{:.1}" y="{:.1}">marker</text>"##,
        lx + 7.0,
        ly,
        lx + 7.0,
        ly + 14.0,
        lx + 20.0,
        ly + 11.0
    );
    let _ = writeln!(s, "</g>");
    if rated {
        affect_strip(&mut s, &cols, &x);
    }
    s.push_str("</svg>\n");
    s
}

/// The arousal and valence strip: one polyline each per run of rated columns, over a
/// [-1, 1] scale with its zero line, and a legend beside it.
fn affect_strip(s: &mut String, cols: &[Column], x: &dyn Fn(f64) -> f64) {
    let y = |v: f32| AFFECT_TOP + AFFECT_H * (1.0 - (f64::from(v).clamp(-1.0, 1.0) + 1.0) / 2.0);
    let _ = writeln!(
        s,
        r##"<g class="affect"><rect x="{LEFT}" y="{AFFECT_TOP}" width="{PLOT_W}" height="{AFFECT_H}" fill="none" stroke="#999"/><line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ccc"/>"##,
        y(0.0),
        LEFT + PLOT_W,
        y(0.0)
    );
    for (v, text) in [(1.0, "+1"), (0.0, "0"), (-1.0, "-1")] {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{text}</text>"##,
            LEFT - 8.0,
            y(v) + 4.0
        );
    }
    for (which, colour, pick) in [
        ("arousal", AROUSAL_COLOUR, 0usize),
        ("valence", VALENCE_COLOUR, 1usize),
    ] {
        let value = |c: &Column| c.affect.map(|a| if pick == 0 { a.0 } else { a.1 });
        let mut points = String::new();
        let mut prev_b: Option<f64> = None;
        let flush = |points: &mut String, s: &mut String| {
            if !points.is_empty() {
                let _ = writeln!(
                    s,
                    r#"<polyline class="{which}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                    points.trim_end()
                );
                points.clear();
            }
        };
        for c in cols {
            match value(c) {
                Some(v) => {
                    if prev_b.is_some_and(|b| (c.a - b).abs() > 1e-6) {
                        flush(&mut points, s);
                    }
                    let _ = write!(points, "{:.2},{:.2} ", x((c.a + c.b) / 2.0), y(v));
                    prev_b = Some(c.b);
                }
                None => {
                    flush(&mut points, s);
                    prev_b = None;
                }
            }
        }
        flush(&mut points, s);
    }
    let lx = LEFT + PLOT_W + 24.0;
    let _ = writeln!(
        s,
        r##"<text x="{lx:.1}" y="{:.1}" font-weight="bold">Affect</text><line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AROUSAL_COLOUR}" stroke-width="2"/><text x="{:.1}" y="{:.1}">arousal (calm → excited)</text><line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{VALENCE_COLOUR}" stroke-width="2"/><text x="{:.1}" y="{:.1}">valence (negative → positive)</text></g>"##,
        AFFECT_TOP + 2.0,
        AFFECT_TOP + 20.0,
        lx + 14.0,
        AFFECT_TOP + 20.0,
        lx + 20.0,
        AFFECT_TOP + 24.0,
        AFFECT_TOP + 40.0,
        lx + 14.0,
        AFFECT_TOP + 40.0,
        lx + 20.0,
        AFFECT_TOP + 44.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats() {
        assert_eq!(clock(0.0, false), "0:00");
        assert_eq!(clock(75.4, false), "1:15");
        assert_eq!(clock(3725.0, true), "1:02:05");
    }

    #[test]
    fn escape_makes_text_safe() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos; ");
    }

    #[test]
    fn ticks_stay_readable() {
        assert_eq!(tick_step(8.0), 1.0);
        assert_eq!(tick_step(95.0), 10.0);
        assert_eq!(tick_step(3000.0), 300.0);
    }
}
