//! Labeled audio on disk: the RAVDESS, TESS and nEMO layouts and emotty's own recordings.
//!
//! `emotty eval` and `emotty features` take directories, not file lists, so that a
//! tester's new clips, a corpus download and a mix of both are all one argument away.
//! Each file's label, speaker and corpus come from the layout it sits in:
//!
//! - RAVDESS: `Actor_NN/03-01-EE-II-SS-RR-NN.ext`; emotion code EE (01 neutral … 08
//!   surprised), actor NN (odd male, even female).
//! - TESS: `<SPEAKER>_<emotion>/<SPEAKER>_<word>_<emotion>.ext`, the emotion being one
//!   of angry, disgust, fear, happy, neutral, ps, sad (case-insensitive); fear maps to
//!   fearful and ps (pleasant surprise) to surprised.
//! - nEMO: `<SPEAKER>_<emotion>_<n>.ext` (`samples/EB0_anger_12.wav`), the speaker two
//!   capital letters and a digit, the emotion one of anger, fear, happiness, neutral,
//!   sadness, surprised (mapped to angry, fearful, happy, neutral, sad, surprised).
//! - Recordings: a folder with `manifest.jsonl` (one JSON object per clip, with at
//!   least `file` and `label`, usually `speaker`), or without a manifest,
//!   `<label>/<anything>_<speaker>.wav`, the label being one of the eight emotions.
//!
//! Speakers are namespaced by corpus ("ravdess:07", "tess:OAF") so that folds can hold
//! out whole speakers across corpora without collisions.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::emotion::{self, EMOTIONS};

/// File name extensions treated as audio when walking directories.
const AUDIO_EXTENSIONS: [&str; 8] = ["wav", "flac", "aif", "aiff", "aifc", "mp3", "ogg", "m4a"];

/// The name of the recordings manifest.
pub const MANIFEST: &str = "manifest.jsonl";

/// Which layout a clip was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Corpus {
    Ravdess,
    Tess,
    Nemo,
    Recordings,
}

impl Corpus {
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Ravdess => "ravdess",
            Corpus::Tess => "tess",
            Corpus::Nemo => "nemo",
            Corpus::Recordings => "recordings",
        }
    }
}

/// One labeled clip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clip {
    pub path: PathBuf,
    pub corpus: Corpus,
    /// One of [`EMOTIONS`].
    pub label: String,
    /// Namespaced speaker id, e.g. "ravdess:07".
    pub speaker: String,
}

/// What a directory walk found.
#[derive(Debug, Default)]
pub struct Scan {
    pub clips: Vec<Clip>,
    /// Audio files whose label could not be read from the layout.
    pub unlabeled: Vec<PathBuf>,
    /// Problems that did not stop the scan (unreadable manifest lines, missing files).
    pub warnings: Vec<String>,
}

/// Errors that stop a scan.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks a speaker id: it becomes part of file names and of the corpus layout
/// (`<time>_<speaker>.wav`, split at the last underscore), so it is limited to
/// letters, digits, `-` and `.`.
pub fn check_speaker(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.chars().count() > 40 {
        return Err("must be at most 40 characters".into());
    }
    if id.starts_with('.') {
        return Err("must not start with a dot".into());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "may only hold ASCII letters and digits, '-' and '.' (not {c:?})"
        ));
    }
    Ok(())
}

/// Walks each path (a directory or a single file) and labels every audio file in it.
/// Files are returned sorted by path, so runs are reproducible.
pub fn scan(paths: &[PathBuf]) -> Result<Scan, CorpusError> {
    let mut scan = Scan::default();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CorpusError::NotFound { path: path.clone() },
            _ => CorpusError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            walk(path, None, &mut scan)?;
        } else {
            label_file(path, None, &mut scan);
        }
    }
    scan.clips.sort_by(|a, b| a.path.cmp(&b.path));
    scan.clips.dedup_by(|a, b| a.path == b.path);
    scan.unlabeled.sort();
    Ok(scan)
}

/// Recursively visits `dir`. `manifest` holds the labels of the nearest enclosing
/// recordings manifest.
fn walk(
    dir: &Path,
    manifest: Option<&BTreeMap<PathBuf, ManifestEntry>>,
    scan: &mut Scan,
) -> Result<(), CorpusError> {
    let io = |source| CorpusError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let own_manifest = if dir.join(MANIFEST).is_file() {
        Some(read_manifest(dir, scan))
    } else {
        None
    };
    let manifest = own_manifest.as_ref().or(manifest);
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, manifest, scan)?;
        } else if is_audio(&entry) {
            label_file(&entry, manifest, scan);
        }
    }
    Ok(())
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

fn label_file(path: &Path, manifest: Option<&BTreeMap<PathBuf, ManifestEntry>>, scan: &mut Scan) {
    let clip = manifest
        .and_then(|m| m.get(path))
        .map(|entry| Clip {
            path: path.to_path_buf(),
            corpus: Corpus::Recordings,
            label: entry.label.clone(),
            speaker: format!(
                "recordings:{}",
                entry.speaker.as_deref().unwrap_or("unknown")
            ),
        })
        .or_else(|| ravdess(path))
        .or_else(|| tess(path))
        .or_else(|| nemo(path))
        .or_else(|| recording_by_folder(path));
    match clip {
        Some(clip) => scan.clips.push(clip),
        None => scan.unlabeled.push(path.to_path_buf()),
    }
}

/// `Actor_NN/03-01-EE-II-SS-RR-NN.ext`
fn ravdess(path: &Path) -> Option<Clip> {
    let stem = path.file_stem()?.to_str()?;
    let fields: Vec<&str> = stem.split('-').collect();
    if fields.len() != 7
        || !fields
            .iter()
            .all(|f| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    // Vocal channel 01 is speech; 02 is song, which has no place in a speech model.
    if fields[1] != "01" {
        return None;
    }
    let code: usize = fields[2].parse().ok()?;
    let label = EMOTIONS.get(code.checked_sub(1)?)?;
    let actor = fields[6];
    Some(Clip {
        path: path.to_path_buf(),
        corpus: Corpus::Ravdess,
        label: (*label).to_string(),
        speaker: format!("ravdess:{actor}"),
    })
}

/// `<SPEAKER>_<emotion>/<SPEAKER>_<word>_<emotion>.ext`
fn tess(path: &Path) -> Option<Clip> {
    let folder = path.parent()?.file_name()?.to_str()?;
    let speaker = folder.split('_').next()?.to_ascii_uppercase();
    if speaker != "OAF" && speaker != "YAF" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    let label = match stem.rsplit('_').next()? {
        "angry" => "angry",
        "disgust" => "disgust",
        "fear" => "fearful",
        "happy" => "happy",
        "neutral" => "neutral",
        "ps" => "surprised",
        "sad" => "sad",
        _ => return None,
    };
    Some(Clip {
        path: path.to_path_buf(),
        corpus: Corpus::Tess,
        label: label.to_string(),
        speaker: format!("tess:{speaker}"),
    })
}

/// `<SPEAKER>_<emotion>_<n>.ext`, nEMO's `samples/` naming.
fn nemo(path: &Path) -> Option<Clip> {
    let stem = path.file_stem()?.to_str()?;
    let mut fields = stem.split('_');
    let (speaker, emotion, number) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some()
        || !matches!(speaker.as_bytes(), [a, b, c] if a.is_ascii_uppercase() && b.is_ascii_uppercase() && c.is_ascii_digit())
        || number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let label = match emotion {
        "anger" => "angry",
        "fear" => "fearful",
        "happiness" => "happy",
        "neutral" => "neutral",
        "sadness" => "sad",
        "surprised" => "surprised",
        _ => return None,
    };
    Some(Clip {
        path: path.to_path_buf(),
        corpus: Corpus::Nemo,
        label: label.to_string(),
        speaker: format!("nemo:{speaker}"),
    })
}

/// `<label>/<time>_<speaker>.wav` without a manifest.
fn recording_by_folder(path: &Path) -> Option<Clip> {
    let folder = path.parent()?.file_name()?.to_str()?.to_ascii_lowercase();
    let label = EMOTIONS.iter().find(|e| **e == folder)?;
    let stem = path.file_stem()?.to_str()?;
    let speaker = stem.rsplit_once('_').map(|(_, s)| s).unwrap_or("unknown");
    Some(Clip {
        path: path.to_path_buf(),
        corpus: Corpus::Recordings,
        label: (*label).to_string(),
        speaker: format!("recordings:{speaker}"),
    })
}

/// The fields of a manifest line that labeling needs; the rest is ignored here.
#[derive(Debug, Clone, Deserialize)]
struct ManifestEntry {
    file: PathBuf,
    label: String,
    #[serde(default)]
    speaker: Option<String>,
}

/// Reads `dir/manifest.jsonl` into a map from the clip's full path to its entry. Bad
/// lines and unknown labels become warnings: one broken line must not hide the rest.
fn read_manifest(dir: &Path, scan: &mut Scan) -> BTreeMap<PathBuf, ManifestEntry> {
    let path = dir.join(MANIFEST);
    let mut map = BTreeMap::new();
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            scan.warnings
                .push(format!("{}: cannot read: {e}", path.display()));
            return map;
        }
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ManifestEntry>(line) {
            // A line whose clip is gone (deleted by hand, or a copy that missed it)
            // would otherwise vanish without a word.
            Ok(entry)
                if emotion::index(&entry.label).is_some() && !dir.join(&entry.file).is_file() =>
            {
                scan.warnings.push(format!(
                    "{}:{}: {} is listed but missing",
                    path.display(),
                    n + 1,
                    entry.file.display()
                ))
            }
            Ok(entry) if emotion::index(&entry.label).is_some() => {
                map.insert(dir.join(&entry.file), entry);
            }
            Ok(entry) => scan.warnings.push(format!(
                "{}:{}: unknown label \"{}\"",
                path.display(),
                n + 1,
                entry.label
            )),
            Err(e) => scan
                .warnings
                .push(format!("{}:{}: {e}", path.display(), n + 1)),
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
    }

    #[test]
    fn fixture_corpora_are_labeled_from_their_layouts() {
        let scan = scan(&[fixtures()]).unwrap();
        assert!(scan.unlabeled.is_empty(), "{:?}", scan.unlabeled);
        let got: Vec<(String, &str, &str)> = scan
            .clips
            .iter()
            .map(|c| {
                (
                    c.path.file_name().unwrap().to_string_lossy().into_owned(),
                    c.label.as_str(),
                    c.speaker.as_str(),
                )
            })
            .collect();
        let expected = [
            ("03-01-01-01-02-01-19.flac", "neutral", "ravdess:19"),
            ("03-01-05-02-01-01-19.flac", "angry", "ravdess:19"),
            ("03-01-03-02-01-02-20.flac", "happy", "ravdess:20"),
            ("03-01-04-02-02-01-20.flac", "sad", "ravdess:20"),
            ("OAF_bath_angry.flac", "angry", "tess:OAF"),
            ("OAF_bath_neutral.flac", "neutral", "tess:OAF"),
            ("YAF_bath_happy.flac", "happy", "tess:YAF"),
            ("YAF_bath_sad.flac", "sad", "tess:YAF"),
        ];
        let expected: Vec<(String, &str, &str)> = expected
            .iter()
            .map(|(f, l, s)| (f.to_string(), *l, *s))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn tess_quirks_are_handled() {
        // The typo'd original name and the two surprise spellings.
        let c = tess(Path::new("tess/OAF_neutral/OA_bite_neutral.flac")).unwrap();
        assert_eq!(
            (c.label.as_str(), c.speaker.as_str()),
            ("neutral", "tess:OAF")
        );
        let c = tess(Path::new("tess/YAF_pleasant_surprised/YAF_back_ps.flac")).unwrap();
        assert_eq!(c.label, "surprised");
        let c = tess(Path::new("tess/OAF_Fear/OAF_back_fear.flac")).unwrap();
        assert_eq!(c.label, "fearful");
        assert!(tess(Path::new("other/OAF_back_fear.flac")).is_none());
    }

    #[test]
    fn nemo_names_map_onto_the_eight_classes() {
        let c = nemo(Path::new("nemo/samples/EB0_anger_12.wav")).unwrap();
        assert_eq!(
            (c.label.as_str(), c.speaker.as_str(), c.corpus),
            ("angry", "nemo:EB0", Corpus::Nemo)
        );
        for (name, label) in [
            ("WR0_fear_1.wav", "fearful"),
            ("KS0_happiness_70.wav", "happy"),
            ("MP0_neutral_3.wav", "neutral"),
            ("SM0_sadness_9.wav", "sad"),
            ("TP0_surprised_64.wav", "surprised"),
        ] {
            assert_eq!(nemo(Path::new(name)).unwrap().label, label, "{name}");
        }
        for name in [
            "EB0_boredom_1.wav",
            "eb0_anger_1.wav",
            "EB0_anger_x.wav",
            "EB0_anger_1_2.wav",
            "EB0_anger.wav",
            "20261121-101500_ann.wav",
        ] {
            assert!(nemo(Path::new(name)).is_none(), "{name}");
        }
    }

    #[test]
    fn ravdess_song_and_malformed_names_are_not_speech_clips() {
        assert!(ravdess(Path::new("Actor_01/03-02-01-01-01-01-01.wav")).is_none());
        assert!(ravdess(Path::new("Actor_01/03-01-09-01-01-01-01.wav")).is_none());
        assert!(ravdess(Path::new("Actor_01/notes.wav")).is_none());
        let c = ravdess(Path::new("Actor_01/03-01-08-02-01-01-01.wav")).unwrap();
        assert_eq!(
            (c.label.as_str(), c.speaker.as_str()),
            ("surprised", "ravdess:01")
        );
    }

    #[test]
    fn recordings_come_from_the_manifest_or_the_label_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("angry")).unwrap();
        fs::create_dir_all(root.join("sad")).unwrap();
        fs::write(root.join("angry/20261121-101500_ann.wav"), b"x").unwrap();
        fs::write(root.join("sad/20261121-101600_bob.wav"), b"x").unwrap();
        fs::write(root.join("sad/20261121-101700_cy.wav"), b"x").unwrap();
        // The manifest says the second sad clip is really calm; it wins over the folder.
        fs::write(
            root.join(MANIFEST),
            concat!(
                "{\"file\":\"sad/20261121-101700_cy.wav\",\"label\":\"calm\",\"speaker\":\"cy\"}\n",
                "not json\n",
                "{\"file\":\"x.wav\",\"label\":\"bored\"}\n"
            ),
        )
        .unwrap();
        let scan = scan(&[root.to_path_buf()]).unwrap();
        let got: Vec<(&str, &str)> = scan
            .clips
            .iter()
            .map(|c| (c.label.as_str(), c.speaker.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("angry", "recordings:ann"),
                ("sad", "recordings:bob"),
                ("calm", "recordings:cy")
            ]
        );
        assert_eq!(scan.warnings.len(), 2, "{:?}", scan.warnings);
        assert!(scan.warnings[0].contains(":2:"));
        assert!(scan.warnings[1].contains("unknown label \"bored\""));
    }

    #[test]
    fn a_manifest_line_without_its_clip_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("happy")).unwrap();
        fs::write(root.join("happy/20261121-101500_ann.wav"), b"x").unwrap();
        fs::write(
            root.join(MANIFEST),
            concat!(
                "{\"file\":\"happy/20261121-101500_ann.wav\",\"label\":\"happy\",\"speaker\":\"ann\"}\n",
                "{\"file\":\"happy/20261121-101501_ann.wav\",\"label\":\"happy\",\"speaker\":\"ann\"}\n",
            ),
        )
        .unwrap();
        let scan = scan(&[root.to_path_buf()]).unwrap();
        assert_eq!(scan.clips.len(), 1);
        assert_eq!(scan.warnings.len(), 1, "{:?}", scan.warnings);
        assert!(
            scan.warnings[0].ends_with(":2: happy/20261121-101501_ann.wav is listed but missing"),
            "{}",
            scan.warnings[0]
        );
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = scan(&[PathBuf::from("no/such/dir")]).unwrap_err();
        assert_eq!(err.to_string(), "no/such/dir: no such file or directory");
    }
}
