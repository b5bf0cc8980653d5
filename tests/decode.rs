//! Decoding real files and streams: every container, sample format and failure the
//! CLI can meet, checked against signals whose values are known independently.
//!
//! WAV and AIFF inputs are generated here (with `hound` where it can write the
//! variant, by hand otherwise, cross-checked against `hound`'s reader) so no large
//! fixtures are committed. FLAC is checked on the eight committed corpus clips
//! against numbers produced by other decoders (soxi, libsndfile).

use std::f64::consts::PI;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use emotty::audio::decode::{
    AudioReader, AudioSpec, DecodeError, MAX_BLOCK_FRAMES, MAX_BLOCK_SAMPLES, RawEncoding,
    RawFormat, open_file, open_stream, read_all,
};

// ---------------------------------------------------------------------------
// Helpers: readers, signals, writers.
// ---------------------------------------------------------------------------

/// Only `Read`: no `Seek`, like stdin.
struct NonSeek<R>(R);

impl<R: Read> Read for NonSeek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// A pipe that delivers its bytes a few at a time (1, 2, ... 7, 1, 2, ...), so
/// frames and even header fields arrive split across reads.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn stream(bytes: Vec<u8>) -> Box<dyn Read + Send + Sync> {
    Box::new(NonSeek(Cursor::new(bytes)))
}

/// Interleaved test signal: channel `c` is a sine of 440·(c+1) Hz at amplitude
/// 0.5/(c+1) (−6 dBFS for channel 0), so channels are told apart by their values.
fn signal(frames: usize, channels: usize, rate: u32) -> Vec<f64> {
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        for c in 0..channels {
            let f = 440.0 * (c + 1) as f64;
            let amp = 0.5 / (c + 1) as f64;
            out.push(amp * (2.0 * PI * f * i as f64 / f64::from(rate)).sin());
        }
    }
    out
}

/// Reads every block, checking the block contract, and returns all samples.
fn drain(reader: &mut dyn AudioReader) -> Result<Vec<f32>, DecodeError> {
    let channels = usize::from(reader.spec().channels);
    let mut all = Vec::new();
    let mut block = Vec::new();
    while reader.read_block(&mut block)? {
        assert!(
            !block.is_empty(),
            "a block returned with true is never empty"
        );
        assert_eq!(block.len() % channels, 0, "blocks hold whole frames");
        assert!(block.len() / channels <= MAX_BLOCK_FRAMES);
        assert!(block.len() <= MAX_BLOCK_SAMPLES);
        assert!(block.iter().all(|x| (-1.0..=1.0).contains(x)));
        all.extend_from_slice(&block);
    }
    assert!(block.is_empty(), "end of stream leaves the buffer empty");
    assert!(!reader.read_block(&mut block)?, "stays at end of stream");
    Ok(all)
}

/// Integer quantisation the way every writer here does it: round to nearest.
fn quantise(x: f64, bits: u32) -> i64 {
    let full = (1i64 << (bits - 1)) as f64;
    ((x * full).round() as i64).clamp(-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
}

/// Asserts decoded samples equal the signal within half a quantisation step of
/// `bits` (plus f32 rounding).
fn assert_close(decoded: &[f32], expected: &[f64], bits: u32, what: &str) {
    assert_eq!(decoded.len(), expected.len(), "{what}: sample count");
    let tol = 0.5 / (1u64 << (bits - 1)) as f64 + 1e-7;
    for (i, (&d, &e)) in decoded.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(d) - e).abs() <= tol,
            "{what}: sample {i} is {d}, expected {e} (tolerance {tol})"
        );
    }
}

#[derive(Clone, Copy)]
enum Enc {
    /// Integer PCM, `bits` per sample, 8-bit unsigned like every WAV.
    Int(u32),
    /// IEEE float, 32 or 64 bits.
    Float(u32),
}

impl Enc {
    fn bytes(self) -> usize {
        match self {
            Enc::Int(b) | Enc::Float(b) => (b as usize).div_ceil(8),
        }
    }

    fn bits(self) -> u32 {
        match self {
            Enc::Int(b) | Enc::Float(b) => b,
        }
    }

    /// Little-endian encoding of one sample.
    fn encode_le(self, x: f64, out: &mut Vec<u8>) {
        match self {
            Enc::Int(8) => out.push((quantise(x, 8) + 128) as u8),
            Enc::Int(bits) => {
                let q = quantise(x, bits) << (8 * self.bytes() as u32 - bits);
                out.extend_from_slice(&q.to_le_bytes()[..self.bytes()]);
            }
            Enc::Float(32) => out.extend_from_slice(&(x as f32).to_le_bytes()),
            Enc::Float(_) => out.extend_from_slice(&x.to_le_bytes()),
        }
    }
}

/// Options for the hand-written WAV header.
#[derive(Clone, Copy)]
struct WavOpts {
    extensible: bool,
    /// Override of the data chunk length (streaming writers put 0 or 0xFFFFFFFF).
    data_len: Option<u32>,
    riff_len: Option<u32>,
}

const PLAIN: WavOpts = WavOpts {
    extensible: false,
    data_len: None,
    riff_len: None,
};

/// Writes a WAV file's bytes by hand, for the variants hound does not write (plain
/// 24/32-bit and float tags, 64-bit float, streaming lengths).
fn wav_bytes(enc: Enc, channels: u16, rate: u32, samples: &[f64], opts: WavOpts) -> Vec<u8> {
    let mut data = Vec::new();
    for &x in samples {
        enc.encode_le(x, &mut data);
    }
    let block_align = enc.bytes() as u16 * channels;
    let tag: u16 = match enc {
        Enc::Int(_) => 1,
        Enc::Float(_) => 3,
    };
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&(if opts.extensible { 0xfffe } else { tag }).to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&(enc.bytes() as u16 * 8).to_le_bytes());
    if opts.extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&(enc.bits() as u16).to_le_bytes());
        fmt.extend_from_slice(&0u32.to_le_bytes());
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
        ]);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    let riff_len = 4 + 8 + fmt.len() + 8 + data.len() + (data.len() & 1);
    out.extend_from_slice(&opts.riff_len.unwrap_or(riff_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&opts.data_len.unwrap_or(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Writes a WAV with hound (an independent encoder) into `path`.
fn hound_wav(path: &Path, enc: Enc, channels: u16, rate: u32, samples: &[f64]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: enc.bits() as u16,
        sample_format: match enc {
            Enc::Int(_) => hound::SampleFormat::Int,
            Enc::Float(_) => hound::SampleFormat::Float,
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &x in samples {
        match enc {
            Enc::Int(8) => w.write_sample(quantise(x, 8) as i8).unwrap(),
            Enc::Int(16) => w.write_sample(quantise(x, 16) as i16).unwrap(),
            Enc::Int(bits) => w.write_sample(quantise(x, bits) as i32).unwrap(),
            Enc::Float(_) => w.write_sample(x as f32).unwrap(),
        }
    }
    w.finalize().unwrap();
}

/// 80-bit IEEE extended encoding of an integer rate, as AIFF stores it.
fn extended(rate: u32) -> [u8; 10] {
    let exp = 31 - rate.leading_zeros();
    let biased = (16383 + exp) as u16;
    let mantissa = u64::from(rate) << (63 - exp);
    let mut out = [0u8; 10];
    out[..2].copy_from_slice(&biased.to_be_bytes());
    out[2..].copy_from_slice(&mantissa.to_be_bytes());
    out
}

/// Writes AIFF (compression `None`) or AIFF-C bytes of integer PCM by hand.
/// `sowt` stores samples little-endian, everything else big-endian.
fn aiff_bytes(
    bits: u32,
    channels: u16,
    rate: u32,
    samples: &[f64],
    compression: Option<&[u8; 4]>,
) -> Vec<u8> {
    let bytes = (bits as usize).div_ceil(8);
    let little = compression == Some(b"sowt");
    let mut data = Vec::new();
    for &x in samples {
        let q = quantise(x, bits) << (8 * bytes as u32 - bits);
        if little {
            data.extend_from_slice(&q.to_le_bytes()[..bytes]);
        } else {
            data.extend_from_slice(&q.to_be_bytes()[8 - bytes..]);
        }
    }
    let mut comm = Vec::new();
    comm.extend_from_slice(&channels.to_be_bytes());
    comm.extend_from_slice(&((samples.len() / usize::from(channels)) as u32).to_be_bytes());
    comm.extend_from_slice(&(bits as u16).to_be_bytes());
    comm.extend_from_slice(&extended(rate));
    if let Some(c) = compression {
        comm.extend_from_slice(c);
        comm.extend_from_slice(b"\x0cnot compressed\0"); // pstring, padded to even
    }
    let mut body = Vec::new();
    body.extend_from_slice(if compression.is_some() {
        b"AIFC"
    } else {
        b"AIFF"
    });
    if compression.is_some() {
        body.extend_from_slice(b"FVER\0\0\0\x04\xa2\x80\x51\x40");
    }
    body.extend_from_slice(b"COMM");
    body.extend_from_slice(&(comm.len() as u32).to_be_bytes());
    body.extend_from_slice(&comm);
    body.extend_from_slice(b"SSND");
    body.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
    body.extend_from_slice(&[0; 8]); // offset, block size
    body.extend_from_slice(&data);
    if data.len() % 2 == 1 {
        body.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"FORM");
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn err_of(result: Result<Box<dyn AudioReader>, DecodeError>) -> DecodeError {
    match result {
        Ok(r) => panic!("expected an error, got a reader for {}", r.describe()),
        Err(e) => e,
    }
}

/// Every message is one line, starts with the name as given, and reads as `expected`.
fn assert_message(err: &DecodeError, expected: &str) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    assert_eq!(msg, expected);
}

// ---------------------------------------------------------------------------
// Errors that name the file.
// ---------------------------------------------------------------------------

#[test]
fn missing_file_is_reported_by_name() {
    let path = Path::new("tests/fixtures/no-such-dir/missing.wav");
    let err = err_of(open_file(path));
    assert!(matches!(err, DecodeError::NotFound { .. }));
    assert_message(&err, "tests/fixtures/no-such-dir/missing.wav: no such file");
    assert_eq!(err.name(), "tests/fixtures/no-such-dir/missing.wav");
}

#[test]
fn directory_is_not_an_audio_file() {
    let err = err_of(open_file(Path::new("tests/fixtures/corpus/")));
    assert!(matches!(err, DecodeError::IsDirectory { .. }));
    assert_message(
        &err,
        "tests/fixtures/corpus/: is a directory, not an audio file",
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.wav", b"");
    let err = err_of(open_file(&path));
    assert!(matches!(err, DecodeError::EmptyFile { .. }));
    assert_message(&err, &format!("{}: file is empty", path.display()));
}

#[test]
fn truncated_wav_header() {
    let dir = tempfile::tempdir().unwrap();
    let full = wav_bytes(Enc::Int(16), 1, 16000, &signal(100, 1, 16000), PLAIN);
    let path = write(dir.path(), "cut.wav", &full[..20]);
    let err = err_of(open_file(&path));
    assert!(matches!(err, DecodeError::BadHeader { .. }), "{err}");
    assert_message(
        &err,
        &format!(
            "{}: truncated or corrupt header (ends inside the 'fmt' chunk)",
            path.display()
        ),
    );
    // Cut inside the 12-byte RIFF header itself.
    let path = write(dir.path(), "cut8.wav", &full[..8]);
    let err = err_of(open_file(&path));
    assert!(matches!(err, DecodeError::BadHeader { .. }), "{err}");
    // Header complete but the data chunk header missing.
    let path = write(dir.path(), "nodata.wav", &full[..36]);
    let err = err_of(open_file(&path));
    assert_message(
        &err,
        &format!(
            "{}: truncated or corrupt header (no data chunk)",
            path.display()
        ),
    );
}

#[test]
fn random_bytes_are_not_audio() {
    // xorshift64, fixed seed: the same "random" file every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "junk.bin", &bytes);
    let err = err_of(open_file(&path));
    assert!(matches!(err, DecodeError::NotRecognised { .. }));
    assert_message(
        &err,
        &format!(
            "{}: not a recognised audio format (WAV, FLAC, AIFF, MP3, Ogg Vorbis, AAC or ALAC in MP4/M4A)",
            path.display()
        ),
    );
    // A RIFF container that is not WAVE (an AVI) is not audio either.
    let mut avi = b"RIFF\x04\x10\0\0AVI LIST".to_vec();
    avi.extend_from_slice(&bytes);
    let path = write(dir.path(), "clip.avi", &avi);
    assert!(matches!(
        err_of(open_file(&path)),
        DecodeError::NotRecognised { .. }
    ));
}

#[test]
fn wav_with_zero_samples_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "silent.wav",
        &wav_bytes(Enc::Int(16), 1, 16000, &[], PLAIN),
    );
    // hound agrees the file is valid and empty.
    assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 0);
    let err = err_of(open_file(&path));
    assert!(matches!(err, DecodeError::NoSamples { .. }));
    assert_message(
        &err,
        &format!("{}: contains no audio samples", path.display()),
    );
    // One byte of a 2-byte sample is not a frame either.
    let mut half = wav_bytes(Enc::Int(16), 1, 16000, &[], PLAIN);
    half[40..44].copy_from_slice(&1u32.to_le_bytes());
    half.push(0x12);
    let path = write(dir.path(), "half.wav", &half);
    assert!(matches!(
        err_of(open_file(&path)),
        DecodeError::NoSamples { .. }
    ));
}

#[test]
fn nonsense_specs_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let good = wav_bytes(Enc::Int(16), 1, 16000, &signal(10, 1, 16000), PLAIN);
    // Offsets in the canonical 44-byte header: channels at 22, rate at 24.
    let cases: [(&str, usize, Vec<u8>, &str); 3] = [
        ("zero-ch.wav", 22, 0u16.to_le_bytes().to_vec(), "0 channels"),
        (
            "many-ch.wav",
            22,
            33u16.to_le_bytes().to_vec(),
            "33 channels, at most 32 are supported",
        ),
        (
            "zero-hz.wav",
            24,
            0u32.to_le_bytes().to_vec(),
            "sample rate of 0 Hz",
        ),
    ];
    for (name, offset, patch, detail) in cases {
        let mut bytes = good.clone();
        bytes[offset..offset + patch.len()].copy_from_slice(&patch);
        let path = write(dir.path(), name, &bytes);
        let err = err_of(open_file(&path));
        assert!(matches!(err, DecodeError::BadSpec { .. }), "{err}");
        assert_message(
            &err,
            &format!("{}: invalid audio format ({detail})", path.display()),
        );
    }
    let raw = RawFormat {
        encoding: RawEncoding::S16Le,
        sample_rate: 0,
        channels: 1,
    };
    let err = err_of(open_stream(stream(vec![0; 64]), Some(raw), "stdin"));
    assert_message(&err, "stdin: invalid audio format (sample rate of 0 Hz)");
}

#[test]
fn compressed_wav_is_unsupported_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = wav_bytes(Enc::Int(8), 1, 8000, &signal(100, 1, 8000), PLAIN);
    bytes[20..22].copy_from_slice(&7u16.to_le_bytes()); // WAVE_FORMAT_MULAW
    let path = write(dir.path(), "phone.wav", &bytes);
    let err = err_of(open_file(&path));
    assert_message(
        &err,
        &format!(
            "{}: unsupported audio encoding (WAV format tag 0x0007 (mu-law))",
            path.display()
        ),
    );
}

// ---------------------------------------------------------------------------
// WAV sample formats, against a known signal.
// ---------------------------------------------------------------------------

/// A 440 Hz sine at −6 dBFS in every WAV sample format, written by hound where it
/// can and by hand otherwise, must decode to the sine within the format's
/// quantisation.
#[test]
fn wav_bit_depths_and_float() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 16000;
    let sine = signal(1000, 1, rate);
    // (file, encoding, writer, expected description)
    let cases = [
        ("u8.wav", Enc::Int(8), "hound", "WAV 8-bit 16000 Hz mono"),
        ("s16.wav", Enc::Int(16), "hound", "WAV 16-bit 16000 Hz mono"),
        // hound writes > 16 bits as WAVE_FORMAT_EXTENSIBLE ...
        (
            "s24x.wav",
            Enc::Int(24),
            "hound",
            "WAV 24-bit 16000 Hz mono",
        ),
        (
            "s32x.wav",
            Enc::Int(32),
            "hound",
            "WAV 32-bit 16000 Hz mono",
        ),
        (
            "f32x.wav",
            Enc::Float(32),
            "hound",
            "WAV 32-bit float 16000 Hz mono",
        ),
        // ... so the plain tags come from the hand-written header.
        ("s24.wav", Enc::Int(24), "plain", "WAV 24-bit 16000 Hz mono"),
        ("s32.wav", Enc::Int(32), "plain", "WAV 32-bit 16000 Hz mono"),
        (
            "f32.wav",
            Enc::Float(32),
            "plain",
            "WAV 32-bit float 16000 Hz mono",
        ),
        (
            "f64.wav",
            Enc::Float(64),
            "plain",
            "WAV 64-bit float 16000 Hz mono",
        ),
    ];
    for (name, enc, writer, description) in cases {
        let path = dir.path().join(name);
        if writer == "hound" {
            hound_wav(&path, enc, 1, rate, &sine);
        } else {
            std::fs::write(&path, wav_bytes(enc, 1, rate, &sine, PLAIN)).unwrap();
        }
        let mut reader = open_file(&path).unwrap();
        assert_eq!(
            reader.spec(),
            AudioSpec {
                sample_rate: rate,
                channels: 1
            }
        );
        assert_eq!(reader.total_frames(), Some(1000), "{name}");
        assert_eq!(reader.describe(), description, "{name}");
        let decoded = drain(reader.as_mut()).unwrap();
        let bits = match enc {
            Enc::Int(b) => b,
            Enc::Float(_) => 24, // f32 precision
        };
        assert_close(&decoded, &sine, bits, name);
        // Integer formats decode exactly to q / 2^(bits-1).
        if let Enc::Int(bits) = enc {
            let full = (1u64 << (bits - 1)) as f32;
            for (i, &d) in decoded.iter().enumerate() {
                assert_eq!(
                    d,
                    quantise(sine[i], bits) as f32 / full,
                    "{name} sample {i}"
                );
            }
        }
    }
}

#[test]
fn extensible_wav_by_hand() {
    // 16-bit in WAVE_FORMAT_EXTENSIBLE (hound would write a plain header for this)
    // and 64-bit float extensible.
    let dir = tempfile::tempdir().unwrap();
    let sine = signal(777, 1, 22050);
    let ext = WavOpts {
        extensible: true,
        ..PLAIN
    };
    for (name, enc, bits) in [
        ("x16.wav", Enc::Int(16), 16),
        ("xf64.wav", Enc::Float(64), 24),
    ] {
        let bytes = wav_bytes(enc, 1, 22050, &sine, ext);
        assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 0xfffe);
        let path = write(dir.path(), name, &bytes);
        let (spec, decoded) = read_all(&path).unwrap();
        assert_eq!(spec.sample_rate, 22050);
        assert_close(&decoded, &sine, bits, name);
    }
    // hound reads the hand-written 16-bit extensible file the same way.
    let from_hound: Vec<i16> = hound::WavReader::open(dir.path().join("x16.wav"))
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    let (_, ours) = read_all(&dir.path().join("x16.wav")).unwrap();
    assert_eq!(from_hound.len(), ours.len());
    for (h, o) in from_hound.iter().zip(&ours) {
        assert_eq!(f32::from(*h) / 32768.0, *o);
    }
}

#[test]
fn stereo_and_six_channels_keep_channel_order() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [2u16, 6] {
        let rate = 48000;
        let sig = signal(2000, usize::from(channels), rate);
        let path = dir.path().join(format!("{channels}ch.wav"));
        hound_wav(&path, Enc::Int(16), channels, rate, &sig);
        let mut reader = open_file(&path).unwrap();
        assert_eq!(reader.spec().channels, channels);
        assert_eq!(reader.total_frames(), Some(2000));
        let decoded = drain(reader.as_mut()).unwrap();
        assert_close(&decoded, &sig, 16, &format!("{channels} channels"));
        // Each channel has its own amplitude 0.5/(c+1): the peak per channel says
        // which channel is where.
        for c in 0..usize::from(channels) {
            let peak = decoded
                .iter()
                .skip(c)
                .step_by(usize::from(channels))
                .fold(0f32, |m, x| m.max(x.abs()));
            let amp = 0.5 / (c + 1) as f32;
            assert!(
                (peak - amp).abs() < 0.002,
                "channel {c}: peak {peak}, amp {amp}"
            );
        }
    }
    let path = dir.path().join("6ch.wav");
    assert_eq!(
        open_file(&path).unwrap().describe(),
        "WAV 16-bit 48000 Hz 6 channels"
    );
}

#[test]
fn low_and_high_sample_rates() {
    let dir = tempfile::tempdir().unwrap();
    for (rate, seconds) in [(8000u32, 1.5f64), (96000, 1.5)] {
        let frames = (f64::from(rate) * seconds) as usize;
        let sig = signal(frames, 1, rate);
        let path = dir.path().join(format!("{rate}.wav"));
        hound_wav(&path, Enc::Int(24), 1, rate, &sig);
        let mut reader = open_file(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, rate);
        assert_eq!(reader.total_frames(), Some(frames as u64));
        let decoded = drain(reader.as_mut()).unwrap();
        assert_eq!(decoded.len(), frames);
        assert_close(&decoded, &sig, 24, &format!("{rate} Hz"));
    }
}

// ---------------------------------------------------------------------------
// AIFF.
// ---------------------------------------------------------------------------

/// TESS ships AIFF files named `.wav`: the content decides, not the name.
#[test]
fn aiff_named_wav_is_decoded_as_aiff() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 24414; // TESS's original rate
    let sig = signal(5000, 1, rate);
    let path = write(
        dir.path(),
        "OAF_back_angry.wav",
        &aiff_bytes(16, 1, rate, &sig, None),
    );
    let mut reader = open_file(&path).unwrap();
    assert_eq!(reader.describe(), "AIFF 16-bit 24414 Hz mono");
    assert_eq!(reader.total_frames(), Some(5000));
    let decoded = drain(reader.as_mut()).unwrap();
    assert_close(&decoded, &sig, 16, "aiff");
}

#[test]
fn aiff_c_variants_and_depths() {
    let dir = tempfile::tempdir().unwrap();
    let sig = signal(3001, 2, 44100);
    let cases: [(u32, Option<&[u8; 4]>, &str); 5] = [
        (8, None, "AIFF 8-bit 44100 Hz stereo"),
        (24, None, "AIFF 24-bit 44100 Hz stereo"),
        (16, Some(b"NONE"), "AIFF-C 16-bit 44100 Hz stereo"),
        (16, Some(b"sowt"), "AIFF-C 16-bit 44100 Hz stereo"),
        (32, Some(b"sowt"), "AIFF-C 32-bit 44100 Hz stereo"),
    ];
    for (bits, compression, description) in cases {
        let path = write(
            dir.path(),
            "x.aif",
            &aiff_bytes(bits, 2, 44100, &sig, compression),
        );
        let mut reader = open_file(&path).unwrap();
        assert_eq!(reader.describe(), description);
        let decoded = drain(reader.as_mut()).unwrap();
        assert_close(&decoded, &sig, bits, description);
    }
    // A compressed AIFF-C is named in the error.
    let mut ulaw = aiff_bytes(16, 1, 8000, &signal(10, 1, 8000), Some(b"NONE"));
    let at = ulaw.windows(4).position(|w| w == b"NONE").unwrap();
    ulaw[at..at + 4].copy_from_slice(b"ulaw");
    let path = write(dir.path(), "ulaw.aifc", &ulaw);
    assert_message(
        &err_of(open_file(&path)),
        &format!(
            "{}: unsupported audio encoding (AIFF-C compression 'ulaw')",
            path.display()
        ),
    );
}

// ---------------------------------------------------------------------------
// FLAC: the committed corpus clips.
// ---------------------------------------------------------------------------

struct FlacFixture {
    path: &'static str,
    /// `soxi -s` on the file.
    frames: u64,
    /// The rest came from libsndfile 1.2.2 (python-soundfile 0.14,
    /// `sf.read(path, dtype="int16")`): sum of |x| over all samples, the index and
    /// value of the largest |x|, and samples 10000..10004, all in 16-bit units.
    sum_abs: i64,
    peak_at: usize,
    peak: i16,
    at_10000: [i16; 4],
}

const FLAC_FIXTURES: [FlacFixture; 8] = [
    FlacFixture {
        path: "tests/fixtures/corpus/ravdess/Actor_19/03-01-01-01-02-01-19.flac",
        frames: 53387,
        sum_abs: 2794809,
        peak_at: 28906,
        peak: -773,
        at_10000: [0, 0, 0, 0],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac",
        frames: 63530,
        sum_abs: 57573858,
        peak_at: 26102,
        peak: 31718,
        at_10000: [0, 0, 0, 0],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/ravdess/Actor_20/03-01-03-02-01-02-20.flac",
        frames: 68869,
        sum_abs: 21546391,
        peak_at: 38728,
        peak: 6723,
        at_10000: [61, -142, -120, -6],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/ravdess/Actor_20/03-01-04-02-02-01-20.flac",
        frames: 60861,
        sum_abs: 3120049,
        peak_at: 40116,
        peak: -878,
        at_10000: [0, 0, 0, 0],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/tess/OAF_angry/OAF_bath_angry.flac",
        frames: 25710,
        sum_abs: 28496829,
        peak_at: 4429,
        peak: -11210,
        at_10000: [563, 581, 515, 424],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/tess/OAF_neutral/OAF_bath_neutral.flac",
        frames: 34637,
        sum_abs: 9243067,
        peak_at: 6517,
        peak: -2129,
        at_10000: [602, 652, 696, 756],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/tess/YAF_happy/YAF_bath_happy.flac",
        frames: 29990,
        sum_abs: 56844810,
        peak_at: 13434,
        peak: -21945,
        at_10000: [3051, 2673, 2089, 2201],
    },
    FlacFixture {
        path: "tests/fixtures/corpus/tess/YAF_sad/YAF_bath_sad.flac",
        frames: 36758,
        sum_abs: 31259706,
        peak_at: 7960,
        peak: -7327,
        at_10000: [1152, 480, 219, 307],
    },
];

fn check_flac_content(fx: &FlacFixture, decoded: &[f32]) {
    assert_eq!(decoded.len() as u64, fx.frames, "{}", fx.path);
    let ints: Vec<i32> = decoded.iter().map(|&x| (x * 32768.0) as i32).collect();
    // 16-bit FLAC decodes to exact multiples of 1/32768.
    for (i, (&x, &q)) in decoded.iter().zip(&ints).enumerate() {
        assert_eq!(
            x,
            q as f32 / 32768.0,
            "{} sample {i} is not 16-bit",
            fx.path
        );
    }
    let sum_abs: i64 = ints.iter().map(|&q| i64::from(q.abs())).sum();
    assert_eq!(sum_abs, fx.sum_abs, "{}", fx.path);
    let (peak_at, peak) = ints
        .iter()
        .enumerate()
        .fold((0usize, 0i32), |(bi, bv), (i, &v)| {
            if v.abs() > bv.abs() { (i, v) } else { (bi, bv) }
        });
    assert_eq!(
        (peak_at, peak),
        (fx.peak_at, i32::from(fx.peak)),
        "{}",
        fx.path
    );
    let at: Vec<i32> = ints[10000..10004].to_vec();
    let want: Vec<i32> = fx.at_10000.iter().map(|&v| i32::from(v)).collect();
    assert_eq!(at, want, "{}", fx.path);
}

#[test]
fn flac_fixtures_match_independent_decoders() {
    for fx in &FLAC_FIXTURES {
        let mut reader = open_file(Path::new(fx.path)).unwrap();
        assert_eq!(
            reader.spec(),
            AudioSpec {
                sample_rate: 16000,
                channels: 1
            }
        );
        assert_eq!(reader.total_frames(), Some(fx.frames), "{}", fx.path);
        assert_eq!(reader.describe(), "FLAC 16-bit 16000 Hz mono");
        let decoded = drain(reader.as_mut()).unwrap();
        check_flac_content(fx, &decoded);
    }
}

#[test]
fn flac_cut_in_the_middle_is_an_error_after_the_good_part() {
    let fx = &FLAC_FIXTURES[1];
    let bytes = std::fs::read(fx.path).unwrap();
    let (_, full) = read_all(Path::new(fx.path)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "cut.flac", &bytes[..bytes.len() / 2]);
    let mut reader = open_file(&path).unwrap();
    // The header still promises the whole clip.
    assert_eq!(reader.total_frames(), Some(fx.frames));
    let mut got = Vec::new();
    let mut block = Vec::new();
    let err = loop {
        match reader.read_block(&mut block) {
            Ok(true) => got.extend_from_slice(&block),
            Ok(false) => panic!("a cut FLAC must not end cleanly"),
            Err(err) => break err,
        }
    };
    match &err {
        DecodeError::Truncated {
            frames, expected, ..
        } => {
            assert_eq!(*expected, fx.frames);
            assert_eq!(*frames, got.len() as u64);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with(&format!("{}: audio data ends early", path.display()))
    );
    // What came out before the cut is exactly the start of the clip, and most of
    // the first half of it.
    assert!(
        got.len() > full.len() / 3,
        "{} of {}",
        got.len(),
        full.len()
    );
    assert_eq!(got[..], full[..got.len()]);
    // After an error the reader is finished.
    assert!(!reader.read_block(&mut block).unwrap());
}

#[test]
fn flac_header_cut_short() {
    let bytes = std::fs::read(FLAC_FIXTURES[0].path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "head.flac", &bytes[..20]);
    let err = err_of(open_file(&path));
    assert_message(
        &err,
        &format!(
            "{}: truncated or corrupt header (ends inside the STREAMINFO block)",
            path.display()
        ),
    );
}

#[test]
fn flac_corrupt_in_the_middle_is_an_error_not_a_hang() {
    let fx = &FLAC_FIXTURES[4];
    let mut bytes = std::fs::read(fx.path).unwrap();
    let (_, full) = read_all(Path::new(fx.path)).unwrap();
    // Overwrite 64 bytes in the middle with a pattern.
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 64].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0x5a;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "damaged.flac", &bytes);
    let mut reader = open_file(&path).unwrap();
    let mut got = Vec::new();
    let mut block = Vec::new();
    let err = loop {
        match reader.read_block(&mut block) {
            Ok(true) => got.extend_from_slice(&block),
            Ok(false) => panic!("damaged FLAC decoded to the end without an error"),
            Err(err) => break err,
        }
    };
    assert!(matches!(err, DecodeError::Corrupt { .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'));
    assert!(got.len() < full.len());
    assert_eq!(
        got[..],
        full[..got.len()],
        "audio before the damage is intact"
    );
}

// ---------------------------------------------------------------------------
// Pipes.
// ---------------------------------------------------------------------------

#[test]
fn wav_stream_with_unknown_lengths_plays_to_eof() {
    let sig = signal(12345, 2, 16000);
    for (data_len, riff_len) in [
        (0xffff_ffff, 0xffff_ffff), // ffmpeg to a pipe
        (0, 0),                     // other capture tools
        (0x7fff_f000, 0x7fff_f024), // sox to a pipe (seen here: `sox ... -t wav -`)
        (0x8000_0000, 0x8000_0024), // arecord to a pipe (seen here: `arecord -D null -t wav -`)
    ] {
        let opts = WavOpts {
            data_len: Some(data_len),
            riff_len: Some(riff_len),
            ..PLAIN
        };
        let bytes = wav_bytes(Enc::Int(16), 2, 16000, &sig, opts);
        let mut reader = open_stream(stream(bytes), None, "stdin").unwrap();
        assert_eq!(reader.total_frames(), None);
        assert_eq!(reader.spec().channels, 2);
        let decoded = drain(reader.as_mut()).unwrap();
        assert_close(&decoded, &sig, 16, &format!("data length {data_len:#x}"));
    }
}

#[test]
fn wav_stream_stops_at_data_end_before_trailing_chunks() {
    let sig = signal(1000, 1, 16000);
    let mut bytes = wav_bytes(Enc::Int(16), 1, 16000, &sig, PLAIN);
    // A LIST chunk after the data, as many editors write: must not become audio.
    bytes.extend_from_slice(b"LIST\x0c\0\0\0INFOISFT\0\0\0\0");
    let mut reader = open_stream(stream(bytes.clone()), None, "stdin").unwrap();
    let decoded = drain(reader.as_mut()).unwrap();
    assert_close(&decoded, &sig, 16, "data then LIST");
    // Same as a file.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "list.wav", &bytes);
    assert_eq!(read_all(&path).unwrap().1, decoded);
}

#[test]
fn streams_split_into_tiny_reads_decode_the_same() {
    let sig = signal(3000, 2, 44100);
    let bytes = wav_bytes(Enc::Int(24), 2, 44100, &sig, PLAIN);
    let trickle = Trickle {
        data: bytes.clone(),
        pos: 0,
        step: 0,
    };
    let mut reader = open_stream(Box::new(trickle), None, "stdin").unwrap();
    let decoded = drain(reader.as_mut()).unwrap();
    assert_close(&decoded, &sig, 24, "trickled 24-bit stereo");
    let mut reader = open_stream(stream(bytes), None, "stdin").unwrap();
    assert_eq!(drain(reader.as_mut()).unwrap(), decoded);
}

#[test]
fn flac_and_aiff_through_a_pipe() {
    let fx = &FLAC_FIXTURES[6];
    let bytes = std::fs::read(fx.path).unwrap();
    let mut reader = open_stream(stream(bytes), None, "stdin").unwrap();
    assert_eq!(reader.total_frames(), None, "pipes report no total");
    assert_eq!(reader.describe(), "FLAC 16-bit 16000 Hz mono");
    check_flac_content(fx, &drain(reader.as_mut()).unwrap());

    let sig = signal(4000, 1, 16000);
    let aiff = aiff_bytes(16, 1, 16000, &sig, None);
    let mut reader = open_stream(stream(aiff.clone()), None, "stdin").unwrap();
    assert_close(&drain(reader.as_mut()).unwrap(), &sig, 16, "aiff pipe");
    // The placeholder sizes sox writes into a pipe (`sox ... -t aiff -`, seen here):
    // FORM 0x7F000050, COMM frames 0x3F800000, SSND 0x7F000008.
    let mut sox_like = aiff;
    sox_like[4..8].copy_from_slice(&0x7f00_0050u32.to_be_bytes());
    let comm = sox_like.windows(4).position(|w| w == b"COMM").unwrap();
    sox_like[comm + 10..comm + 14].copy_from_slice(&0x3f80_0000u32.to_be_bytes());
    let ssnd = sox_like.windows(4).position(|w| w == b"SSND").unwrap();
    sox_like[ssnd + 4..ssnd + 8].copy_from_slice(&0x7f00_0008u32.to_be_bytes());
    let mut reader = open_stream(stream(sox_like), None, "stdin").unwrap();
    assert_close(
        &drain(reader.as_mut()).unwrap(),
        &sig,
        16,
        "sox-style aiff pipe",
    );
}

#[test]
fn raw_s16le_and_f32le_with_explicit_format() {
    let sig = signal(5000, 2, 16000);
    let mut s16 = Vec::new();
    for &x in &sig {
        s16.extend_from_slice(&(quantise(x, 16) as i16).to_le_bytes());
    }
    let raw = RawFormat {
        encoding: RawEncoding::S16Le,
        sample_rate: 16000,
        channels: 2,
    };
    let mut reader = open_stream(stream(s16), Some(raw), "stdin").unwrap();
    assert_eq!(reader.describe(), "raw s16le 16000 Hz stereo");
    assert_eq!(reader.total_frames(), None);
    assert_close(&drain(reader.as_mut()).unwrap(), &sig, 16, "s16le");

    let mono = signal(5000, 1, 22050);
    let mut f32s = Vec::new();
    for &x in &mono {
        f32s.extend_from_slice(&(x as f32).to_le_bytes());
    }
    let raw = RawFormat {
        encoding: RawEncoding::F32Le,
        sample_rate: 22050,
        channels: 1,
    };
    let mut reader = open_stream(stream(f32s), Some(raw), "stdin").unwrap();
    assert_eq!(reader.spec().sample_rate, 22050);
    assert_close(&drain(reader.as_mut()).unwrap(), &mono, 24, "f32le");
}

#[test]
fn header_wins_over_a_raw_format() {
    // `--format s16le --rate 8000` on a WAV stream: the header is authoritative.
    let sig = signal(800, 1, 44100);
    let bytes = wav_bytes(Enc::Float(32), 1, 44100, &sig, PLAIN);
    let raw = RawFormat {
        encoding: RawEncoding::S16Le,
        sample_rate: 8000,
        channels: 2,
    };
    let mut reader = open_stream(stream(bytes), Some(raw), "stdin").unwrap();
    assert_eq!(
        reader.spec(),
        AudioSpec {
            sample_rate: 44100,
            channels: 1
        }
    );
    assert_close(
        &drain(reader.as_mut()).unwrap(),
        &sig,
        24,
        "wav with raw hint",
    );
}

#[test]
fn raw_bytes_without_a_format_are_refused() {
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let err = err_of(open_stream(stream(bytes), None, "stdin"));
    assert!(matches!(err, DecodeError::NotWavStream { .. }));
    assert_message(
        &err,
        "stdin: not a WAV, AIFF, FLAC, MP3, Ogg or MP4 stream; for raw PCM pass --format s16le|f32le --rate N --channels N",
    );
    let err = err_of(open_stream(stream(Vec::new()), None, "stdin"));
    assert_message(&err, "stdin: stream is empty (no data received)");
    let raw = RawFormat {
        encoding: RawEncoding::S16Le,
        sample_rate: 16000,
        channels: 1,
    };
    let err = err_of(open_stream(stream(Vec::new()), Some(raw), "stdin"));
    assert_message(&err, "stdin: contains no audio samples");
}

#[test]
fn partial_last_frame_is_dropped() {
    let raw = RawFormat {
        encoding: RawEncoding::S16Le,
        sample_rate: 16000,
        channels: 2,
    };
    // 10 whole stereo frames (frame k = (k, -k)) and 3 bytes of an 11th.
    let mut bytes = Vec::new();
    for k in 0..10i16 {
        bytes.extend_from_slice(&(k * 1000).to_le_bytes());
        bytes.extend_from_slice(&(-k * 1000).to_le_bytes());
    }
    bytes.extend_from_slice(&[1, 2, 3]);
    let mut reader = open_stream(stream(bytes.clone()), Some(raw), "stdin").unwrap();
    let decoded = drain(reader.as_mut()).unwrap();
    let expected: Vec<f32> = (0..10)
        .flat_map(|k| [k as f32 * 1000.0 / 32768.0, -k as f32 * 1000.0 / 32768.0])
        .collect();
    assert_eq!(decoded, expected);
    // The same with bytes trickling in.
    let trickle = Trickle {
        data: bytes,
        pos: 0,
        step: 3,
    };
    let mut reader = open_stream(Box::new(trickle), Some(raw), "stdin").unwrap();
    assert_eq!(drain(reader.as_mut()).unwrap(), expected);
    // And a WAV whose data ends mid-frame.
    let sig = signal(100, 2, 8000);
    let mut wav = wav_bytes(Enc::Int(16), 2, 8000, &sig, PLAIN);
    wav.truncate(wav.len() - 1);
    let mut reader = open_stream(stream(wav), None, "stdin").unwrap();
    assert_close(&drain(reader.as_mut()).unwrap(), &sig[..198], 16, "cut wav");
}

/// Big-endian RIFX: the canonical 44-byte header and every 16-bit sample
/// byte-swapped from the little-endian file.
#[test]
fn rifx_big_endian_wav() {
    let sig = signal(1500, 1, 16000);
    let mut bytes = wav_bytes(Enc::Int(16), 1, 16000, &sig, PLAIN);
    bytes[..4].copy_from_slice(b"RIFX");
    for at in [4, 16, 24, 28, 40] {
        bytes[at..at + 4].reverse();
    }
    for at in [20, 22, 32, 34] {
        bytes[at..at + 2].reverse();
    }
    for sample in bytes[44..].chunks_exact_mut(2) {
        sample.reverse();
    }
    let mut reader = open_stream(stream(bytes), None, "stdin").unwrap();
    assert_eq!(reader.describe(), "WAV (RIFX) 16-bit 16000 Hz mono");
    assert_close(&drain(reader.as_mut()).unwrap(), &sig, 16, "rifx");
}

/// RF64 (EBU Tech 3306): 32-bit sizes are 0xFFFFFFFF and the real ones live in a
/// ds64 chunk, which must be honoured: a trailing chunk after the data stays out.
#[test]
fn rf64_wav_uses_the_ds64_sizes() {
    let sig = signal(2500, 2, 48000);
    let plain = wav_bytes(Enc::Int(24), 2, 48000, &sig, PLAIN);
    let data = &plain[44..];
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RF64\xff\xff\xff\xffWAVE");
    bytes.extend_from_slice(b"ds64");
    bytes.extend_from_slice(&28u32.to_le_bytes());
    bytes.extend_from_slice(&(plain.len() as u64 - 8 + 36).to_le_bytes()); // riff size
    bytes.extend_from_slice(&(data.len() as u64).to_le_bytes()); // data size
    bytes.extend_from_slice(&2500u64.to_le_bytes()); // sample count
    bytes.extend_from_slice(&0u32.to_le_bytes()); // table length
    bytes.extend_from_slice(&plain[12..36]); // fmt chunk
    bytes.extend_from_slice(b"data\xff\xff\xff\xff");
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"JUNK\x04\0\0\0\x7f\x7f\x7f\x7f");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "long.wav", &bytes);
    let mut reader = open_file(&path).unwrap();
    assert_eq!(reader.describe(), "WAV (RF64) 24-bit 48000 Hz stereo");
    assert_eq!(reader.total_frames(), Some(2500));
    let decoded = drain(reader.as_mut()).unwrap();
    assert_close(&decoded, &sig, 24, "rf64 file");
    let mut reader = open_stream(stream(bytes), None, "stdin").unwrap();
    assert_eq!(drain(reader.as_mut()).unwrap(), decoded, "rf64 pipe");
}

/// Some taggers put an ID3v2 tag in front of a FLAC file.
#[test]
fn id3_tag_before_flac_is_skipped() {
    let fx = &FLAC_FIXTURES[5];
    let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x14".to_vec(); // 20-byte body
    bytes.extend_from_slice(b"TIT2\x00\x00\x00\x0a\x00\x00\x03OAF bath\x00");
    assert_eq!(bytes.len(), 30);
    bytes.extend_from_slice(&std::fs::read(fx.path).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tagged.flac", &bytes);
    let mut reader = open_file(&path).unwrap();
    assert_eq!(reader.total_frames(), Some(fx.frames));
    check_flac_content(fx, &drain(reader.as_mut()).unwrap());
}

/// `emotty --input <(sox ...)` hands us a path that is a pipe: it must stream.
#[cfg(unix)]
#[test]
fn named_pipe_path_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("live.wav");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let sig = signal(20000, 1, 16000);
    let bytes = wav_bytes(
        Enc::Int(16),
        1,
        16000,
        &sig,
        WavOpts {
            data_len: Some(u32::MAX),
            riff_len: Some(u32::MAX),
            ..PLAIN
        },
    );
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        // Two writes with a pause, like a live producer.
        f.write_all(&bytes[..5000]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        f.write_all(&bytes[5000..]).unwrap();
    });
    let mut reader = open_file(&fifo).unwrap();
    assert_eq!(reader.total_frames(), None);
    let decoded = drain(reader.as_mut()).unwrap();
    writer.join().unwrap();
    assert_close(&decoded, &sig, 16, "fifo");
}

// ---------------------------------------------------------------------------
// Long inputs: memory stays flat.
// ---------------------------------------------------------------------------

const LONG_RATE: u32 = 16000;
/// One hour and one second.
const LONG_FRAMES: u64 = 3601 * LONG_RATE as u64;

/// The k-th sample of the long test signal: a wrapping ramp that visits every
/// 16-bit value, so any dropped, repeated or misaligned sample shows.
fn long_sample(k: u64) -> i16 {
    (k.wrapping_mul(7919) & 0xffff) as u16 as i16
}

/// A 16 kHz mono 16-bit WAV of `LONG_FRAMES` frames, synthesised on the fly: the
/// bytes never exist all at once, in memory or on disk.
struct LongWav {
    header: Vec<u8>,
    pos: u64,
}

impl LongWav {
    fn new() -> LongWav {
        let mut header = wav_bytes(Enc::Int(16), 1, LONG_RATE, &[], PLAIN);
        let data_len = (LONG_FRAMES * 2) as u32;
        header[40..44].copy_from_slice(&data_len.to_le_bytes());
        header[4..8].copy_from_slice(&(data_len + 36).to_le_bytes());
        LongWav { header, pos: 0 }
    }

    fn len(&self) -> u64 {
        self.header.len() as u64 + LONG_FRAMES * 2
    }
}

impl Read for LongWav {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let h = self.header.len() as u64;
        let mut n = 0;
        while n < buf.len() && self.pos < self.len() {
            if self.pos < h {
                buf[n] = self.header[self.pos as usize];
            } else {
                let k = (self.pos - h) / 2;
                buf[n] = long_sample(k).to_le_bytes()[((self.pos - h) % 2) as usize];
            }
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

/// Decodes a long reader block by block, checking every sample and that the block
/// buffer never grows past one block.
fn check_long(reader: &mut dyn AudioReader) {
    let mut block = Vec::new();
    let mut k: u64 = 0;
    while reader.read_block(&mut block).unwrap() {
        assert!(
            block.capacity() <= MAX_BLOCK_SAMPLES,
            "{}",
            block.capacity()
        );
        for &x in &block {
            assert_eq!(x, f32::from(long_sample(k)) / 32768.0, "sample {k}");
            k += 1;
        }
    }
    assert_eq!(k, LONG_FRAMES);
}

#[test]
fn hour_long_stream_decodes_block_by_block() {
    let mut reader = open_stream(Box::new(LongWav::new()), None, "stdin").unwrap();
    assert_eq!(reader.spec().sample_rate, LONG_RATE);
    check_long(reader.as_mut());
}

/// Peak resident memory of this process, from /proc (Linux only).
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A real hour-long file on disk; peak RSS must not follow its 115 MB size.
/// Run alone, since other tests in the process move the peak too:
/// `cargo test --release --test decode -- --ignored --exact hour_long_file_keeps_memory_flat`
#[test]
#[ignore = "writes 115 MB to a temp dir; run alone to measure the process's peak RSS"]
fn hour_long_file_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hour.wav");
    {
        let mut out = io::BufWriter::new(std::fs::File::create(&path).unwrap());
        io::copy(&mut LongWav::new(), &mut out).unwrap();
        out.flush().unwrap();
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        LongWav::new().len()
    );
    let before = vm_hwm_kib();
    let mut reader = open_file(&path).unwrap();
    assert_eq!(reader.total_frames(), Some(LONG_FRAMES));
    check_long(reader.as_mut());
    let grown = vm_hwm_kib() - before;
    eprintln!("peak RSS grew by {grown} KiB decoding a 115 MB file");
    assert!(grown < 20 * 1024, "peak RSS grew by {grown} KiB");
}

// ---------------------------------------------------------------------------
// Compressed formats: fixtures made by tests/fixtures/compressed/make.sh from the
// angry RAVDESS clip (16 kHz mono, 63530 frames).
// ---------------------------------------------------------------------------

fn compressed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compressed")
        .join(name)
}

/// RMS of a signal, for comparing a lossy copy with its source.
fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn mp3_ogg_aac_and_alac_decode_to_the_source_clip() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus/ravdess/Actor_19/03-01-05-02-01-01-19.flac");
    let (_, reference) = read_all(&source).unwrap();
    let ref_rms = rms(&reference);
    let cases = [
        ("angry.mp3", 22050, "MPEG audio MP3"),
        ("angry.ogg", 16000, "Ogg VORBIS"),
        ("angry.m4a", 16000, "MP4 AAC"),
        ("angry-faststart.m4a", 16000, "MP4 AAC"),
        ("angry-alac.m4a", 16000, "MP4 ALAC"),
    ];
    for (name, rate, kind) in cases {
        let path = compressed(name);
        let reader = open_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            reader.spec(),
            AudioSpec {
                sample_rate: rate,
                channels: 1
            },
            "{name}"
        );
        assert!(
            reader.describe().starts_with(kind),
            "{name}: {}",
            reader.describe()
        );
        let (_, samples) = read_all(&path).unwrap();
        // The same 3.97 s, give or take the encoder's delay and padding, which are
        // decoded too (AAC's 2048 priming frames are 0.128 s at 16 kHz).
        let seconds = samples.len() as f64 / f64::from(rate);
        assert!(
            (seconds - 63530.0 / 16000.0).abs() < 0.15,
            "{name}: {seconds} s"
        );
        // The same loudness: a decoder that dropped or zeroed packets would not be.
        let r = rms(&samples);
        assert!(
            (r / ref_rms - 1.0).abs() < 0.05,
            "{name}: rms {r} vs {ref_rms}"
        );
        if name == "angry-alac.m4a" {
            // ALAC is lossless: the very samples of the source.
            assert_eq!(samples, reference, "{name}");
        }
    }
}

#[test]
fn compressed_streams_from_a_pipe() {
    for name in ["angry.mp3", "angry.ogg", "angry-faststart.m4a"] {
        let bytes = std::fs::read(compressed(name)).unwrap();
        let from_file = read_all(&compressed(name)).unwrap().1;
        let mut reader = open_stream(
            Box::new(Trickle {
                data: bytes,
                pos: 0,
                step: 0,
            }),
            None,
            "stdin",
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut all = Vec::new();
        let mut block = Vec::new();
        while reader.read_block(&mut block).unwrap() {
            all.extend_from_slice(&block);
        }
        assert_eq!(all, from_file, "{name}");
    }
    // An M4A with its index after the audio (ffmpeg's default) cannot be streamed.
    let bytes = std::fs::read(compressed("angry.m4a")).unwrap();
    let err = open_stream(stream(bytes), None, "stdin").err().unwrap();
    assert_eq!(
        err.to_string(),
        "stdin: unsupported audio encoding (an MP4 whose index (moov) follows its audio \
         cannot be read from a pipe; give the file's path instead)"
    );
}

#[test]
fn cut_or_damaged_compressed_files_are_errors_not_holes() {
    let dir = tempfile::tempdir().unwrap();
    let cut = |name: &str| {
        let bytes = std::fs::read(compressed(name)).unwrap();
        let path = dir.path().join(format!("cut-{name}"));
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        path
    };
    let drain = |path: &Path| -> Result<usize, DecodeError> {
        let mut reader = open_file(path)?;
        let (mut n, mut block) = (0, Vec::new());
        while reader.read_block(&mut block)? {
            n += block.len();
        }
        Ok(n)
    };
    // MP3 with a Xing header: its length is known, so the cut is named as such.
    let path = cut("angry.mp3");
    let err = drain(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Truncated {
                expected: 87599,
                ..
            }
        ),
        "{err}"
    );
    // Ogg: the stream ends inside a packet.
    let path = cut("angry.ogg");
    let err = drain(&path).unwrap_err();
    assert!(
        err.to_string().contains("stream ends inside a packet"),
        "{err}"
    );
    // An M4A cut before its index.
    let path = cut("angry.m4a");
    let err = drain(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: truncated or corrupt header (no MP4 index (moov): the file was cut short or never finished)",
            path.display()
        )
    );
    // Damage inside AAC and Vorbis data is found: a decode error, or a packet that
    // does not follow on from the last.
    for name in ["angry.m4a", "angry.ogg"] {
        let mut bytes = std::fs::read(compressed(name)).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 300] {
            *b ^= 0x5a;
        }
        let path = dir.path().join(format!("damaged-{name}"));
        std::fs::write(&path, &bytes).unwrap();
        let err = drain(&path).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt { .. }), "{name}: {err}");
    }
}

#[test]
fn opus_and_video_only_files_say_why_they_are_not_read() {
    let path = compressed("angry.opus");
    let err = open_file(&path).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unsupported audio encoding (Opus: no maintained pure-Rust decoder exists; convert it to FLAC or WAV)",
            path.display()
        )
    );
    let path = compressed("video-only.mp4");
    let err = open_file(&path).err().unwrap();
    assert_eq!(
        err.to_string(),
        format!("{}: MP4 file with no audio track", path.display())
    );
}
