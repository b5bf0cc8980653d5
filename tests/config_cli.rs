//! The configuration file through the real binary: malformed files name their line,
//! `emotty config` shows which value comes from where, and commands use the file.

mod common;

use common::*;
use serde_json::Value;

fn write_config(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn settings(home: &Home, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["config", "--json"]);
    let run = home.run(&all).ok();
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn a_malformed_config_names_the_file_and_line_for_every_command() {
    let home = Home::new();
    let path = home.config_file();
    for (text, line, needle) in [
        (
            "hop = 0.5\ndevice = \"USB\"\nwindow = \"long\"\n",
            3,
            "invalid type",
        ),
        (
            "# mine\nhop = 0.5\n\n\nmicrophone = \"USB\"\n",
            5,
            "unknown field `microphone`",
        ),
        ("hop = 0.5\nspeaker = \"ann\n", 2, ""),
        ("hop = 0\n", 1, "hop must be a number of seconds above 0"),
    ] {
        write_config(&path, text);
        for cmd in [&["config"][..], &["sessions"][..], &["devices"][..]] {
            let got = home.run(cmd).fails_with_one_line();
            let want = format!("emotty: {}:{line}: ", path.display());
            assert!(got.starts_with(&want), "{text:?} → {got}");
            assert!(got.contains(needle), "{text:?} → {got}");
        }
    }
    // A file named explicitly must exist.
    let got = home
        .run(&["--config", "no/such.toml", "config"])
        .fails_with_one_line();
    assert_eq!(
        got,
        "emotty: no/such.toml: cannot read: No such file or directory (os error 2)"
    );
    // An endless file, by flag or by environment, is refused after 1 MiB, not read
    // until memory runs out; so is one that is not text.
    let want = "emotty: /dev/zero: larger than 1024 KiB; a config file is a few lines";
    let got = home
        .run(&["--config", "/dev/zero", "config"])
        .fails_with_one_line();
    assert_eq!(got, want);
    let mut cmd = home.emotty();
    cmd.env("EMOTTY_CONFIG", "/dev/zero").arg("config");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), want);
    std::fs::write(&path, b"hop = 0.5\n\xff\xfe\n").unwrap();
    let got = home.run(&["config"]).fails_with_one_line();
    assert_eq!(got, format!("emotty: {}: not UTF-8 text", path.display()));
}

#[test]
fn config_shows_where_each_value_comes_from() {
    let home = Home::new();
    // Nothing configured: defaults, under this home.
    let v = settings(&home, &[]);
    assert!(
        v["config_file_source"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
    assert_eq!(v["settings"]["hop"]["source"], "default");
    assert_eq!(
        v["settings"]["hop"]["value"],
        "0.5 s (a streaming model: 0.25 s in whole steps)"
    );
    assert_eq!(
        v["settings"]["sessions_dir"]["value"],
        home.sessions().display().to_string()
    );
    assert_eq!(v["settings"]["speaker"]["value"], "unknown");

    write_config(
        &home.config_file(),
        "hop = 0.25\nsessions_dir = \"/srv/sessions\"\nspeaker = \"ann\"\ndevice = \"USB\"\ncolours = \"16\"\n",
    );
    let v = settings(&home, &[]);
    assert_eq!(v["config_file"], home.config_file().display().to_string());
    assert_eq!(v["config_file_source"], "default location");
    let s = &v["settings"];
    assert_eq!(
        (s["hop"]["value"].as_str(), s["hop"]["source"].as_str()),
        (Some("0.25 s"), Some("config"))
    );
    assert_eq!(s["sessions_dir"]["value"], "/srv/sessions");
    assert_eq!(s["sessions_dir"]["source"], "config");
    assert_eq!(s["recordings_dir"]["source"], "default");
    assert_eq!(s["speaker"]["value"], "ann");
    assert_eq!(s["device"]["value"], "USB");
    assert_eq!(s["colours"]["value"], "16");
    assert_eq!(s["colours"]["source"], "config");
    assert_eq!(s["emoji"]["source"], "default");

    // Flags beat the file.
    let v = settings(
        &home,
        &[
            "--hop",
            "1",
            "--sessions-dir",
            "/tmp/s",
            "--speaker",
            "bo",
            "--device",
            "Blue",
        ],
    );
    let s = &v["settings"];
    assert_eq!(
        (s["hop"]["value"].as_str(), s["hop"]["source"].as_str()),
        (Some("1 s"), Some("flag"))
    );
    assert_eq!(s["sessions_dir"]["source"], "flag");
    assert_eq!(s["speaker"]["value"], "bo");
    assert_eq!(s["device"]["value"], "Blue");

    // EMOTTY_CONFIG beats the default location, --config beats EMOTTY_CONFIG.
    let env_file = home.path().join("env.toml");
    write_config(&env_file, "hop = 2\n");
    let flag_file = home.path().join("flag.toml");
    write_config(&flag_file, "hop = 3\n");
    let run = home
        .emotty()
        .env("EMOTTY_CONFIG", &env_file)
        .args(["config", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["config_file_source"], "EMOTTY_CONFIG");
    assert_eq!(v["settings"]["hop"]["value"], "2 s");
    let run = home
        .emotty()
        .env("EMOTTY_CONFIG", &env_file)
        .args(["--config", flag_file.to_str().unwrap(), "config", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["config_file_source"], "--config");
    assert_eq!(v["settings"]["hop"]["value"], "3 s");

    // The table says the same for people.
    let table = home.run(&["--hop", "1", "config"]).ok().stdout;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("hop") && l.contains("flag") && l.ends_with("1 s")),
        "{table}"
    );
}

#[test]
fn commands_use_the_configured_directories_and_hop() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("my-sessions");
    write_config(
        &home.config_file(),
        &format!("sessions_dir = \"{}\"\nhop = 1.0\n", sessions.display()),
    );
    let wav = speech_wav(tmp.path(), 4.0);
    home.run(&[
        "listen",
        "--input",
        wav.to_str().unwrap(),
        "--fast",
        "--model",
        model().to_str().unwrap(),
    ])
    .ok();
    let dir = only_session(&sessions);
    assert_eq!(read_json(&dir.join("session.json"))["hop_s"], 1.0);
    assert!(!home.sessions().exists());
}
