//! The whole monitor, as a user runs it: `emotty` in a tmux pane with `TERM=xterm` and
//! no `COLORTERM` (as over SSH), an isolated home and data directories, keys sent with
//! `send-keys`, the screen read with `capture-pane`. After each exit the pane's shell
//! prints the exit code and `stty -a`, so the tests see whether the terminal came back
//! (main screen, echo and canonical mode on) however the program ended.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, json_lines, model, only_session, read_json, repo, speech_wav};

/// The clip whose verdict the first test checks: 4 s of an angry RAVDESS actor.
const CLIP: &str = "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac";

/// A private tmux server with one pane running a command; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// `None` when tmux is not installed (outside CI, where bootstrap installs it).
    fn start(cmd: &str, width: u16, height: u16) -> Option<Tmux> {
        if Command::new("tmux")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "tmux is missing (CI installs it with scripts/bootstrap.sh --test)"
            );
            eprintln!("skipped: tmux is not installed here");
            return None;
        }
        let socket = format!(
            "emotty-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let t = Tmux { socket };
        let status = t
            .tmux()
            .args(["new-session", "-d", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(cmd)
            .status()
            .unwrap();
        assert!(status.success(), "tmux did not start");
        Some(t)
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-u", "-L", &self.socket, "-f", "/dev/null"])
            .env("LANG", "C.UTF-8")
            .env_remove("TMUX");
        c
    }

    fn capture(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let out = self
            .tmux()
            .args(["display-message", "-p", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends tmux key names ("q", "Escape", "F12").
    fn keys(&self, keys: &[&str]) {
        let status = self.tmux().arg("send-keys").args(keys).status().unwrap();
        assert!(status.success());
    }

    /// Waits until the screen satisfies `pred`; returns it (panics after `timeout`).
    #[track_caller]
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the program the pane's shell is running.
    fn program_pid(&self) -> i32 {
        let shell: i32 = self.display("#{pane_pid}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
                .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                return pid.parse().unwrap();
            }
            assert!(Instant::now() < deadline, "no child of the pane's shell");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// The pane's command: emotty with `args` in `home`, as over SSH (TERM=xterm, no
/// COLORTERM), then the exit code and the terminal's modes.
fn pane_command(home: &Home, args: &str, extra_env: &str) -> String {
    piped_pane_command(home, args, extra_env, "")
}

/// [`pane_command`] with `pipe` (e.g. `cat FILE |`) in front of emotty.
fn piped_pane_command(home: &Home, args: &str, extra_env: &str, pipe: &str) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_emotty"));
    format!(
        "cd {repo}; {pipe} env -u COLORTERM TERM=xterm LANG=C.UTF-8 HOME={h} XDG_CONFIG_HOME={h}/config \
         XDG_DATA_HOME={h}/data {extra_env} {bin} {args}; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' \
         | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 600",
        repo = quote(&repo()),
        h = quote(home.path()),
        bin = quote(&bin),
    )
}

/// After the program exited: its code, and that the terminal is back to normal.
#[track_caller]
fn assert_exited_and_restored(t: &Tmux, code: i32) -> String {
    let screen = t.wait_for("the exit", Duration::from_secs(30), |s| {
        s.contains("EXIT=") && s.contains("icanon")
    });
    assert!(screen.contains(&format!("EXIT={code}")), "{screen}");
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    let modes = screen
        .lines()
        .find(|l| l.contains("icanon"))
        .unwrap_or_default();
    assert!(
        modes.split_whitespace().any(|m| m == "icanon")
            && modes.split_whitespace().any(|m| m == "echo"),
        "the terminal was left in raw mode: {modes}"
    );
    screen
}

/// What `emotty classify` says about the clip's last window: the monitor shows it
/// after the input ends.
fn last_window_verdict(home: &Home, clip: &str) -> (String, u32) {
    let run = home
        .run(&[
            "classify",
            "--format",
            "json",
            "--timeline",
            "--model",
            model().to_str().unwrap(),
            clip,
        ])
        .ok();
    let last = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|v| v["type"] == "window")
        .expect("classify printed no windows");
    let emotion = last["emotion"]
        .as_str()
        .expect("the clip's last window has speech")
        .to_string();
    let p = last["probs"][&emotion].as_f64().unwrap();
    (emotion, (p * 100.0).round() as u32)
}

/// The status line's session clock ("00:01:05"), in seconds.
fn clock_seconds(screen: &str) -> Option<u64> {
    let status = screen.lines().next()?;
    status.split_whitespace().find_map(|w| {
        let p: Vec<&str> = w.split(':').collect();
        if p.len() != 3 || p.iter().any(|x| x.len() != 2) {
            return None;
        }
        let n: Vec<u64> = p.iter().filter_map(|x| x.parse().ok()).collect();
        (n.len() == 3).then(|| n[0] * 3600 + n[1] * 60 + n[2])
    })
}

fn dirs(home: &Home) -> (PathBuf, PathBuf) {
    (home.path().join("sessions"), home.path().join("recordings"))
}

/// The monitor on 20 s of speech in an 80×24 pane, once its level meter is up: the
/// pane and the sessions folder. `None` where tmux cannot start.
fn monitor_on_speech(home: &Home, extra_env: &str) -> Option<(Tmux, PathBuf)> {
    let wav = speech_wav(home.path(), 20.0);
    let (sessions, _) = dirs(home);
    let args = format!(
        "--input {} --model {} --sessions-dir {}",
        quote(&wav),
        quote(&model()),
        quote(&sessions)
    );
    let t = Tmux::start(&pane_command(home, &args, extra_env), 80, 24)?;
    t.wait_for("the level meter", Duration::from_secs(30), |s| {
        s.contains("dBFS")
    });
    Some((t, sessions))
}

#[test]
fn monitor_shows_the_clips_emotion_then_help_a_marker_and_quits_cleanly() {
    let home = Home::new();
    let (expected, pct) = last_window_verdict(&home, CLIP);
    let (sessions, recordings) = dirs(&home);
    let args = format!(
        "--input {CLIP} --model {} --sessions-dir {} --recordings-dir {}",
        quote(&model()),
        quote(&sessions),
        quote(&recordings)
    );
    let Some(t) = Tmux::start(&pane_command(&home, &args, ""), 80, 24) else {
        return;
    };
    let screen = t.wait_for("the end of the clip", Duration::from_secs(60), |s| {
        s.contains("end of input")
    });
    // The headline is the emotion in the large font, and its bar has its percentage.
    let big = emotty::ui::widgets::font::render(&expected.to_uppercase());
    for row in &big {
        assert!(
            screen.contains(row.as_str()),
            "no {expected} headline:\n{screen}"
        );
    }
    let bar = screen
        .lines()
        .find(|l| l.contains(&format!("│{expected:<9} ")))
        .unwrap_or_else(|| panic!("no {expected} bar:\n{screen}"));
    assert!(bar.contains(&format!("{pct:>3}%")), "{bar}");
    assert!(
        screen.contains("file ") && screen.contains("00:00:"),
        "{screen}"
    );
    assert!(!screen.contains("ALSA lib"), "{screen}");

    t.keys(&["?"]);
    let help = t.wait_for("the help", Duration::from_secs(10), |s| {
        s.contains("keys in force")
    });
    assert!(help.contains("drop a marker") && help.contains("choose the input device"));
    t.keys(&["Escape"]);
    t.wait_for("the help to close", Duration::from_secs(10), |s| {
        !s.contains("keys in force")
    });
    t.keys(&["m"]);
    t.wait_for("the marker in the log", Duration::from_secs(10), |s| {
        s.contains("▲ marker 1")
    });
    let session = only_session(&sessions);
    let events = json_lines(&session.join("events.jsonl"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "marker" && e["label"] == "marker 1"),
        "{events:?}"
    );

    t.keys(&["q"]);
    assert_exited_and_restored(&t, 0);
    let meta = read_json(&session.join("session.json"));
    assert_eq!(meta["status"], "closed");
    assert_eq!(meta["ended"]["reason"], "end_of_input");
    let rows = json_lines(&session.join("timeline.jsonl"));
    assert_eq!(rows.last().unwrap()["emotion"], expected.as_str());
}

#[test]
fn r_and_a_digit_record_a_labeled_clip_and_r_saves_it() {
    let home = Home::new();
    let wav = speech_wav(home.path(), 30.0);
    let (sessions, recordings) = dirs(&home);
    let args = format!(
        "--input {} --model {} --sessions-dir {} --recordings-dir {} --speaker tess",
        quote(&wav),
        quote(&model()),
        quote(&sessions),
        quote(&recordings)
    );
    let Some(t) = Tmux::start(&pane_command(&home, &args, ""), 80, 24) else {
        return;
    };
    // Into the second clip of the speech file (an actor shouting, from 4.3 s on): the
    // status clock runs with the paced file.
    t.wait_for("five seconds of audio", Duration::from_secs(30), |s| {
        clock_seconds(s).is_some_and(|c| c >= 5)
    });
    t.keys(&["r"]);
    t.wait_for("the label chooser", Duration::from_secs(10), |s| {
        s.contains("label of the clip")
    });
    t.keys(&["5"]);
    t.wait_for("the recording mark", Duration::from_secs(10), |s| {
        s.contains("REC angry")
    });
    std::thread::sleep(Duration::from_millis(1500));
    t.keys(&["r"]);
    let screen = t.wait_for("the saved clip", Duration::from_secs(10), |s| {
        s.contains("saved angry/")
    });
    assert!(!screen.contains("REC angry"), "{screen}");

    let manifest = json_lines(&recordings.join("manifest.jsonl"));
    assert_eq!(manifest.len(), 1, "{manifest:?}");
    let m = &manifest[0];
    assert_eq!(
        (m["label"].as_str(), m["speaker"].as_str()),
        (Some("angry"), Some("tess"))
    );
    assert_eq!(m["pre_roll"], 0.5);
    let duration = m["duration"].as_f64().unwrap();
    assert!((1.7..4.0).contains(&duration), "{duration}");
    let file = recordings.join(m["file"].as_str().unwrap());
    let (rate, channels, samples) = common::read_wav(&file);
    assert_eq!((rate, channels), (16_000, 1));
    assert!((samples.len() as f64 / 16_000.0 - duration).abs() < 0.01);
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        peak > 1000,
        "the clip is speech: peak {peak} of {} samples",
        samples.len()
    );
    let session = only_session(&sessions);
    let events = json_lines(&session.join("events.jsonl"));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "recording" && e["label"] == "angry" && e["file"] == m["file"]),
        "{events:?}"
    );
    t.keys(&["q"]);
    assert_exited_and_restored(&t, 0);
}

#[test]
fn sigterm_and_sighup_close_the_session_and_give_the_terminal_back() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let home = Home::new();
        let Some((t, sessions)) = monitor_on_speech(&home, "") else {
            return;
        };
        let pid = t.program_pid();
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        assert_exited_and_restored(&t, 0);
        let meta = read_json(&only_session(&sessions).join("session.json"));
        assert_eq!(meta["status"], "closed", "{name}");
        assert_eq!(meta["ended"]["reason"], "signal");
        assert_eq!(meta["ended"]["message"], name);
    }
}

#[test]
fn a_dropped_connection_ends_the_program_and_closes_the_session() {
    // The terminal goes away under the program, as when an SSH connection drops: the
    // tmux server is killed, the pty hangs up. crossterm spins on a hung-up terminal,
    // so without a check of its own the monitor stayed alive at 100 % of a core with
    // its session open; with a file and with no microphone at all.
    for source in ["file", "no device"] {
        let home = Home::new();
        let (sessions, _) = dirs(&home);
        let input = match source {
            "file" => format!("--input {}", quote(&speech_wav(home.path(), 20.0))),
            _ => "--device no-such-microphone-xyz".to_string(),
        };
        let args = format!(
            "{input} --model {} --sessions-dir {}",
            quote(&model()),
            quote(&sessions)
        );
        let Some(t) = Tmux::start(&pane_command(&home, &args, ""), 80, 24) else {
            return;
        };
        t.wait_for("the monitor", Duration::from_secs(30), |s| {
            s.contains("dBFS") || s.contains("No audio input")
        });
        let pid = t.program_pid();
        drop(t);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
        {
            assert!(
                Instant::now() < deadline,
                "{source}: the monitor is still running 10 s after its terminal hung up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let meta = read_json(&only_session(&sessions).join("session.json"));
        assert_eq!(meta["status"], "closed", "{source}: {meta}");
        assert_eq!(meta["ended"]["reason"], "signal", "{source}");
    }
}

#[test]
fn a_panic_gives_the_terminal_back_and_its_message_is_readable() {
    let home = Home::new();
    let Some((t, sessions)) = monitor_on_speech(&home, "EMOTTY_TEST_PANIC=1") else {
        return;
    };
    t.keys(&["F12"]);
    let screen = assert_exited_and_restored(&t, 101);
    assert!(screen.contains("test panic requested with F12"), "{screen}");
    // The session was not closed, but everything logged is there: it reads as
    // interrupted.
    let listed = home
        .run(&[
            "sessions",
            "--json",
            "--sessions-dir",
            sessions.to_str().unwrap(),
        ])
        .ok();
    assert!(listed.stdout.contains("interrupted"), "{}", listed.stdout);
}

#[test]
fn without_a_microphone_it_opens_anyway_and_shows_the_ways_out() {
    let home = Home::new();
    let (sessions, _) = dirs(&home);
    let args = format!(
        "--device no-such-microphone-xyz --model {} --sessions-dir {}",
        quote(&model()),
        quote(&sessions)
    );
    let Some(t) = Tmux::start(&pane_command(&home, &args, ""), 80, 24) else {
        return;
    };
    let screen = t.wait_for("the no-device screen", Duration::from_secs(30), |s| {
        s.contains("No audio input")
    });
    assert!(screen.contains("--input FILE") && screen.contains("choose a device"));
    assert!(
        screen.contains("no-such-microphone-xyz") || screen.contains("no microphone"),
        "{screen}"
    );
    assert!(
        !screen.contains("ALSA lib") && !screen.contains("jack"),
        "{screen}"
    );
    t.keys(&["d"]);
    t.wait_for("the device picker", Duration::from_secs(20), |s| {
        s.contains("╭ input device") && !s.contains("looking for input devices")
    });
    t.keys(&["Escape"]);
    // A q right behind the Escape would read as Alt-q.
    t.wait_for("the picker to close", Duration::from_secs(10), |s| {
        s.contains("No audio input") && !s.contains("╭ input device")
    });
    t.keys(&["q"]);
    assert_exited_and_restored(&t, 0);
    let meta = read_json(&only_session(&sessions).join("session.json"));
    assert_eq!(meta["status"], "closed");
}

#[test]
fn without_a_terminal_it_says_so_and_logs_no_session() {
    let home = Home::new();
    let (sessions, _) = dirs(&home);
    let run = home.run(&[
        "--input",
        CLIP,
        "--model",
        model().to_str().unwrap(),
        "--sessions-dir",
        sessions.to_str().unwrap(),
    ]);
    let line = run.fails_with_one_line();
    assert!(
        line.contains("not a terminal") && line.contains("emotty listen"),
        "{line}"
    );
    assert!(!sessions.exists() || std::fs::read_dir(&sessions).unwrap().next().is_none());
}

#[test]
fn a_real_microphone_feeds_the_monitor_and_its_loss_is_logged() {
    let Some(pulse) = common::Pulse::start() else {
        return;
    };
    let home = Home::new();
    let (sessions, _) = dirs(&home);
    let args = format!(
        "--model {} --sessions-dir {}",
        quote(&model()),
        quote(&sessions)
    );
    let env = format!("XDG_RUNTIME_DIR={}", quote(pulse.runtime.path()));
    let Some(t) = Tmux::start(&pane_command(&home, &args, &env), 80, 24) else {
        return;
    };
    t.wait_for("the microphone", Duration::from_secs(30), |s| {
        s.contains(" mic ") && s.contains("dBFS")
    });
    let wav = speech_wav(home.path(), 8.0);
    pulse.play(&wav);
    t.wait_for(
        "an emotion from the microphone",
        Duration::from_secs(30),
        |s| s.contains("◆"),
    );
    pulse.kill();
    let screen = t.wait_for("the loss in the log", Duration::from_secs(30), |s| {
        s.contains("device lost")
    });
    assert!(screen.contains("lost, retrying"), "{screen}");
    let session = only_session(&sessions);
    let events = json_lines(&session.join("events.jsonl"));
    assert!(
        events.iter().any(|e| e["kind"] == "warning"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("device lost"))),
        "{events:?}"
    );
    let rows = json_lines(&session.join("timeline.jsonl"));
    assert!(
        rows.iter().any(|r| r["no_speech"] == false),
        "speech was analysed"
    );
    t.keys(&["q"]);
    assert_exited_and_restored(&t, 0);
}

#[test]
fn audio_on_a_pipe_leaves_the_keyboard_to_the_terminal() {
    // `--input -`: standard input is the audio, so keys must come from the terminal.
    // A WAV stream, and raw PCM as `arecord -t raw` sends it over SSH.
    for (pipe_args, strip_header) in [("", false), ("--format s16le --rate 16000", true)] {
        let home = Home::new();
        let wav = speech_wav(home.path(), 10.0);
        let (sessions, _) = dirs(&home);
        let args = format!(
            "--input - {pipe_args} --model {} --sessions-dir {}",
            quote(&model()),
            quote(&sessions)
        );
        // write_wav writes a plain 44-byte header: the rest is s16le samples.
        let pipe = if strip_header {
            format!("tail -c +45 {} |", quote(&wav))
        } else {
            format!("cat {} |", quote(&wav))
        };
        let Some(t) = Tmux::start(&piped_pane_command(&home, &args, "", &pipe), 80, 24) else {
            return;
        };
        let screen = t.wait_for("the end of the piped audio", Duration::from_secs(60), |s| {
            s.contains("end of input")
        });
        assert!(
            screen.contains("pipe stdin") && screen.contains("◆"),
            "{pipe_args}: {screen}"
        );
        t.keys(&["m"]);
        t.wait_for("the marker", Duration::from_secs(10), |s| {
            s.contains("▲ marker 1")
        });
        t.keys(&["q"]);
        assert_exited_and_restored(&t, 0);
        let rows = json_lines(&only_session(&sessions).join("timeline.jsonl"));
        assert!(
            rows.len() >= 15,
            "{pipe_args}: {} rows for 10 s of audio",
            rows.len()
        );
    }
}

#[test]
fn a_file_that_fails_midway_is_recorded_as_failed_and_exits_1() {
    let home = Home::new();
    let (sessions, _) = dirs(&home);
    // The first half of a real clip: decoding fails where the data stops.
    let bytes = std::fs::read(repo().join(CLIP)).unwrap();
    let cut = home.path().join("cut.flac");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let args = format!(
        "--input {} --model {} --sessions-dir {}",
        quote(&cut),
        quote(&model()),
        quote(&sessions)
    );
    let Some(t) = Tmux::start(&pane_command(&home, &args, ""), 100, 30) else {
        return;
    };
    t.wait_for(
        "the decoding error on screen",
        Duration::from_secs(30),
        |s| s.contains("ends early"),
    );
    t.keys(&["q"]);
    let screen = assert_exited_and_restored(&t, 1);
    assert!(screen.contains("audio data ends early"), "{screen}");
    let meta = read_json(&only_session(&sessions).join("session.json"));
    assert_eq!(meta["status"], "closed", "{meta}");
    assert_eq!(meta["ended"]["reason"], "failed", "{meta}");
    let message = meta["ended"]["message"].as_str().unwrap();
    assert!(message.contains("ends early"), "{message}");
}
