//! The monitor's cost while it runs: CPU, memory and the latency from the end of an
//! analysis window's audio to its bars on screen.
//!
//! Not a criterion bench: it runs the real `emotty` binary in a tmux pane (80×24, then
//! 200×60) on a paced speech file for 60 s each, samples the process from /proc, and
//! reads the `--latency-log` the monitor writes. Run it with
//! `scripts/bench-monitor.sh` (or `cargo bench --bench monitor`); set
//! `EMOTTY_BENCH_SECONDS` for a shorter run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// The tests' helpers: the same speech file the monitor's tmux tests play.
#[path = "../tests/common/mod.rs"]
mod common;
use common::repo;

struct Figures {
    cpu_percent: f64,
    peak_rss_mb: f64,
    frames_logged: usize,
    latency_ms: Vec<f64>,
    emitted_ms: Vec<f64>,
}

fn tmux(socket: &str) -> Command {
    let mut c = Command::new("tmux");
    c.args(["-u", "-L", socket, "-f", "/dev/null"])
        .env("LANG", "C.UTF-8")
        .env_remove("TMUX");
    c
}

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn run(width: u16, height: u16, seconds: u64, wav: &Path, dir: &Path) -> Figures {
    let socket = format!("emotty-bench-{}-{width}x{height}", std::process::id());
    let log = dir.join(format!("latency-{width}x{height}.jsonl"));
    let bin = env!("CARGO_BIN_EXE_emotty");
    let model = bench_model();
    // exec: the pane's process is emotty itself. True colour: the most bytes per frame.
    let cmd = format!(
        "exec env TERM=xterm-256color COLORTERM=truecolor HOME={d} XDG_DATA_HOME={d}/data \
         XDG_CONFIG_HOME={d}/config {bin} --input {wav} --model {model} --sessions-dir {d}/sessions \
         --recordings-dir {d}/recordings --latency-log {log}",
        d = dir.display(),
        wav = wav.display(),
        model = model.display(),
        log = log.display(),
    );
    let ok = tmux(&socket)
        .args([
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &cmd,
        ])
        .status()
        .expect("tmux")
        .success();
    assert!(ok, "tmux did not start");
    let pid: u32 = {
        let out = tmux(&socket)
            .args(["display-message", "-p", "#{pane_pid}"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    };
    // Startup (model load, first frames) is not what is measured.
    std::thread::sleep(Duration::from_secs(3));
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let t0 = Instant::now();
    let c0 = proc_cpu_ticks(pid).expect("the monitor is not running");
    std::thread::sleep(Duration::from_secs(seconds));
    let c1 = proc_cpu_ticks(pid).expect("the monitor stopped early");
    let wall = t0.elapsed().as_secs_f64();
    let rss = peak_rss_kb(pid).unwrap_or(0);
    let _ = tmux(&socket).args(["send-keys", "q"]).status();
    std::thread::sleep(Duration::from_millis(500));
    let _ = tmux(&socket)
        .arg("kill-server")
        .stderr(std::process::Stdio::null())
        .status();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut latency_ms = Vec::new();
    let mut emitted_ms = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("latency line");
        latency_ms.push(v["audio_end_to_screen_ms"].as_f64().unwrap_or(f64::NAN));
        emitted_ms.push(v["emitted_to_screen_ms"].as_f64().unwrap_or(f64::NAN));
    }
    Figures {
        cpu_percent: (c1 - c0) as f64 / hz / wall * 100.0,
        peak_rss_mb: rss as f64 / 1024.0,
        frames_logged: latency_ms.len(),
        latency_ms,
        emitted_ms,
    }
}

/// The shipped model by default: what users run. `EMOTTY_BENCH_MODEL` overrides it.
fn bench_model() -> PathBuf {
    std::env::var("EMOTTY_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("models/emotty.onnx"))
}

fn stats(v: &[f64]) -> String {
    if v.is_empty() {
        return "no windows drawn".into();
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    format!(
        "mean {mean:.1}  p50 {:.1}  p95 {:.1}  max {:.1}",
        q(0.5),
        q(0.95),
        q(1.0)
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run this too: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("bench-monitor: tmux is not installed (scripts/bootstrap.sh --test)");
        std::process::exit(1);
    }
    let seconds: u64 = std::env::var("EMOTTY_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = common::speech_wav(dir.path(), seconds as f64 + 10.0);
    println!(
        "monitor on a paced speech file, {seconds} s per size, true colour, model {}",
        bench_model().display()
    );
    println!("(floors from issue 4: CPU <= 5% of one core, RSS <= 80 MB, latency <= 50 ms)");
    for (w, h) in [(80, 24), (200, 60)] {
        let f = run(w, h, seconds, &wav, dir.path());
        println!("{w}x{h}:");
        println!("  CPU          {:.1}% of one core", f.cpu_percent);
        println!("  peak RSS     {:.1} MB", f.peak_rss_mb);
        println!("  windows      {} drawn", f.frames_logged);
        println!("  window end -> on screen (ms): {}", stats(&f.latency_ms));
        println!("  engine sent -> on screen (ms): {}", stats(&f.emitted_ms));
    }
}
