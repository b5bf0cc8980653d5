//! Helpers for the tests that run the `emotty` binary on real files and processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The small untrained TEST model: tests must not depend on which emotions it outputs.
pub fn model() -> PathBuf {
    repo().join("tests/fixtures/test-model.onnx")
}

/// A private home for one test: config and data directories that are not the user's.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_file(&self) -> PathBuf {
        self.path().join("config/emotty/config.toml")
    }

    /// Where sessions go by default in this home.
    pub fn sessions(&self) -> PathBuf {
        self.path().join("data/emotty/sessions")
    }

    pub fn recordings(&self) -> PathBuf {
        self.path().join("data/emotty/recordings")
    }

    /// `emotty` with this home's environment, run from the repository root.
    pub fn emotty(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_emotty"));
        c.current_dir(repo())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env_remove("EMOTTY_CONFIG")
            .env_remove("RUST_BACKTRACE");
        c
    }

    /// Runs to completion; panics if it cannot be started.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.emotty().args(args).output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "stderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// Failed with exit 1 and exactly one line on stderr that starts with "emotty: ".
    #[track_caller]
    pub fn fails_with_one_line(self) -> String {
        assert_eq!(self.code, Some(1), "stderr:\n{}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr:\n{}", self.stderr);
        assert!(lines[0].starts_with("emotty: "), "{}", lines[0]);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        lines[0].to_string()
    }
}

/// A child whose stdout lines arrive on a channel, with the time each arrived.
pub struct Running {
    pub child: Child,
    pub lines: Receiver<(Instant, String)>,
    pub stderr: Receiver<String>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let (etx, stderr) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if etx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    /// Collects stdout lines until `n` have arrived or `timeout` passes.
    pub fn take_lines(&self, n: usize, timeout: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => got.push(l),
                Err(_) => break,
            }
        }
        got
    }

    pub fn signal(&self, sig: i32) {
        let r = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(r, 0, "kill failed");
    }

    /// Waits for the exit (killing it after `timeout`), then returns the exit status and
    /// the rest of stdout and stderr.
    pub fn finish(mut self, timeout: Duration) -> (std::process::ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("emotty did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let rest: Vec<String> = self.lines.iter().map(|(_, l)| l).collect();
        let err: Vec<String> = self.stderr.iter().collect();
        (status, rest, err.join("\n"))
    }
}

/// Writes interleaved samples as a 16-bit WAV.
pub fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Reads a 16-bit WAV: (rate, channels, samples).
pub fn read_wav(path: &Path) -> (u32, u16, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(spec.bits_per_sample, 16);
    let s = r.samples::<i16>().map(|s| s.unwrap()).collect();
    (spec.sample_rate, spec.channels, s)
}

/// Real speech: the eight corpus clips one after another (16 kHz mono), repeated until
/// at least `min_s` seconds, as a WAV in `dir`.
pub fn speech_wav(dir: &Path, min_s: f64) -> PathBuf {
    let corpus = repo().join("tests/fixtures/corpus");
    let mut files = Vec::new();
    for sub in [
        "ravdess/Actor_19",
        "ravdess/Actor_20",
        "tess/OAF_angry",
        "tess/YAF_happy",
    ] {
        for e in std::fs::read_dir(corpus.join(sub)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    files.sort();
    let mut all = Vec::new();
    while (all.len() as f64) < min_s * 16000.0 {
        for f in &files {
            let (spec, samples) = emotty::audio::decode::read_all(f).unwrap();
            assert_eq!((spec.sample_rate, spec.channels), (16000, 1));
            all.extend(samples);
        }
    }
    let path = dir.join(format!("speech-{}s.wav", min_s));
    write_wav(&path, 16000, 1, &all);
    path
}

/// JSON lines of a file, skipping none (panics on a bad line).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The only session folder under `root`.
pub fn only_session(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.into_iter().next().unwrap()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A small tmpfs to fill, when this process may mount one (root in a container);
/// `None` otherwise. Unmounted on drop.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(kib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(SmallDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A private PulseAudio daemon with a null sink `vsink`: ALSA's `default` device (what
/// cpal opens) records the sink's monitor in real time, so a file played into the sink
/// with `paplay -d vsink` reaches emotty through the real capture path. Children must
/// get `XDG_RUNTIME_DIR` = [`Pulse::runtime`]. Killed on drop.
pub struct Pulse {
    pub runtime: tempfile::TempDir,
}

impl Pulse {
    /// `None` if PulseAudio is not installed or does not start; under CI (where
    /// `scripts/bootstrap.sh --test` installs it) that is a failure, not a skip.
    pub fn start() -> Option<Pulse> {
        let runtime = tempfile::tempdir().unwrap();
        let status = Command::new("pulseaudio")
            .args([
                "-D",
                "--exit-idle-time=-1",
                "-n",
                "--load=module-native-protocol-unix",
                "--load=module-null-sink sink_name=vsink",
                "--load=module-always-sink",
            ])
            .env("XDG_RUNTIME_DIR", runtime.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Some(Pulse { runtime }),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "PulseAudio did not start (CI installs it with scripts/bootstrap.sh --test)"
                );
                eprintln!("skipped: PulseAudio is not installed here");
                None
            }
        }
    }

    /// Plays a file into the null sink; returns when playback has finished.
    pub fn play(&self, file: &Path) {
        let status = Command::new("paplay")
            .args(["-d", "vsink"])
            .arg(file)
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .status()
            .unwrap();
        assert!(status.success(), "paplay failed");
    }

    /// Stops the daemon now (the device disappears under whoever is recording).
    pub fn kill(&self) {
        let _ = Command::new("pulseaudio")
            .arg("--kill")
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the test `name` of the current test binary again, alone in a process of its own
/// with `env` set (the test checks it to do the real work), so that `RUSAGE_CHILDREN`
/// there counts that test's children only. Fails with its output if it fails, and checks
/// that it printed its "peak RSS" line.
pub fn rerun_alone(name: &str, env: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", name, "--nocapture"])
        .env(env, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("peak RSS"), "{text}");
}

/// The largest resident set of this process's waited-for children, in KiB.
pub fn max_child_rss_kib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(r, 0);
    usage.ru_maxrss
}
