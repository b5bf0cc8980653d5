//! Decoding audio files and pipes into interleaved `f32` blocks, streaming.
//!
//! Everything here reads its input front to back exactly once and never seeks, so a
//! file, a named pipe and stdin all take the same path and memory stays flat however
//! long the input is (a few hundred KiB per open reader, see [`MAX_BLOCK_SAMPLES`]).
//!
//! The container is detected from the first bytes, never from the file name: TESS
//! ships AIFF files named `.wav`, and `--input -` has no name at all.
//!
//! - **WAV** (RIFF, RIFX, RF64/BW64) and **AIFF / AIFF-C** are parsed here rather
//!   than by symphonia. Symphonia 0.6's WAV reader rejects the `RIFF` length 0 that
//!   some programs write when streaming, stops at once on a `data` length of 0, and
//!   drops up to 1151 trailing frames when the data ends before its declared length
//!   (it reads fixed 1152-frame packets with `read_boxed_slice`). Those are exactly
//!   the headers that `arecord`, `sox` and `ffmpeg` write into pipes, so a small
//!   header parser that plays such streams to their end is the simpler, safer path.
//! - **FLAC** is decoded by symphonia (bit-exact, and far too much to rewrite).
//! - **MP3, Ogg Vorbis, AAC and ALAC in MP4/M4A** are decoded by symphonia under the
//!   same rules as FLAC: a damaged or cut-off file is reported, never played with holes
//!   (`compressed.rs`, which also says why Opus is not read).
//! - **Raw PCM** (`s16le`, `f32le`) is read only when the caller says so, because
//!   raw bytes carry no rate or channel count to check.
//!
//! Conventions: integers are scaled by the width of their container (`x / 2^(bits-1)`,
//! 8-bit WAV is unsigned around 128); floats are clamped to `[-1, 1]` and NaN becomes 0,
//! so every sample handed out lies in `[-1, 1]`. A partial frame at the end of the
//! data is dropped silently.
//!
//! Every opener decodes the first block before returning, so an input without a
//! single whole frame fails at open time with [`DecodeError::NoSamples`]; a reader
//! that was returned always yields at least one block.

mod aiff;
mod compressed;
mod flac;
mod pcm;
mod wav;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most frames [`AudioReader::read_block`] returns at once.
///
/// Downstream buffers (the ring buffer, the resampler) can be sized from this.
pub const MAX_BLOCK_FRAMES: usize = 4096;

/// The most samples (frames × channels) [`AudioReader::read_block`] returns at once.
///
/// With many channels blocks get fewer frames, so a block never exceeds 64 KiB of f32.
pub const MAX_BLOCK_SAMPLES: usize = 16384;

/// The most channels accepted: anything above is far more likely a corrupt header
/// than a real recording, and would only be downmixed anyway.
pub const MAX_CHANNELS: u16 = 32;

/// The highest sample rate accepted (768 kHz, the top of what real converters do).
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Sample rate and channel count of a decoded stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioSpec {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame; blocks are interleaved in this order.
    pub channels: u16,
}

/// A streaming decoder. Blocks are interleaved f32, `channels` samples per frame.
pub trait AudioReader: Send {
    /// Rate and channel count, fixed for the whole stream.
    fn spec(&self) -> AudioSpec;
    /// Frames in the whole stream if the container says so (None for pipes / unknown).
    ///
    /// For WAV and AIFF files this is what the file actually holds (the declared data
    /// length clipped to the file's size), so it equals the frames that will be read.
    fn total_frames(&self) -> Option<u64>;
    /// Clears `buf` and fills it with the next block (up to a few thousand frames; whole
    /// frames only). Returns Ok(false) at end of stream (buf left empty).
    ///
    /// Blocks hold at most [`MAX_BLOCK_FRAMES`] frames and [`MAX_BLOCK_SAMPLES`]
    /// samples; a pipe returns what has arrived (at least one frame) rather than
    /// waiting for a full block, which keeps latency low for live input. After an
    /// error the reader is finished: the next call returns Ok(false).
    fn read_block(&mut self, buf: &mut Vec<f32>) -> Result<bool, DecodeError>;
    /// Human-readable description for status lines, e.g. "FLAC 16-bit 16000 Hz mono".
    fn describe(&self) -> String;
}

/// Sample encoding of headerless PCM read from a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEncoding {
    /// Signed 16-bit little-endian integers (`arecord -f S16_LE`, `sox -t s16`).
    S16Le,
    /// 32-bit little-endian IEEE floats (`sox -t f32`, `ffmpeg -f f32le`).
    F32Le,
}

/// What the user said a headerless stream contains (`--format/--rate/--channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFormat {
    /// How each sample is stored.
    pub encoding: RawEncoding,
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels per frame.
    pub channels: u16,
}

/// Why audio could not be opened or decoded.
///
/// Every message is one line that starts with the file name exactly as the user gave
/// it (or the stream's name, e.g. "stdin"), so the CLI can print it as is.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The path does not exist.
    #[error("{name}: no such file")]
    NotFound { name: String },
    /// The path is a directory.
    #[error("{name}: is a directory, not an audio file")]
    IsDirectory { name: String },
    /// The file exists but could not be opened (permissions, ...).
    ///
    /// The I/O error is part of the message and deliberately not a `source()`, so
    /// that `anyhow`'s `{:#}` does not print it twice.
    #[error("{name}: cannot open: {err}")]
    Open { name: String, err: io::Error },
    /// The file has zero bytes.
    #[error("{name}: file is empty")]
    EmptyFile { name: String },
    /// The stream ended before its first byte.
    #[error("{name}: stream is empty (no data received)")]
    EmptyStream { name: String },
    /// A file whose content is no format read here.
    #[error(
        "{name}: not a recognised audio format (WAV, FLAC, AIFF, MP3, Ogg Vorbis, AAC or ALAC in MP4/M4A)"
    )]
    NotRecognised { name: String },
    /// A stream with no recognised header and no raw format given.
    #[error(
        "{name}: not a WAV, AIFF, FLAC, MP3, Ogg or MP4 stream; for raw PCM pass --format s16le|f32le --rate N --channels N"
    )]
    NotWavStream { name: String },
    /// A container that holds no audio track (a video-only MP4, say).
    #[error("{name}: {container} file with no audio track")]
    NoAudioTrack {
        name: String,
        container: &'static str,
    },
    /// The container header is cut short or inconsistent.
    #[error("{name}: truncated or corrupt header ({detail})")]
    BadHeader { name: String, detail: String },
    /// A well-formed header for an encoding this decoder does not handle (µ-law, ADPCM, ...).
    #[error("{name}: unsupported audio encoding ({detail})")]
    Unsupported { name: String, detail: String },
    /// Nonsense parameters: 0 channels, 0 Hz, more than [`MAX_CHANNELS`] channels, ...
    #[error("{name}: invalid audio format ({detail})")]
    BadSpec { name: String, detail: String },
    /// A valid header but not one whole frame of audio.
    #[error("{name}: contains no audio samples")]
    NoSamples { name: String },
    /// Undecodable audio data in the middle of the stream.
    #[error("{name}: corrupt audio data after {frame} frames ({detail})")]
    Corrupt {
        name: String,
        frame: u64,
        detail: String,
    },
    /// A FLAC stream that ends before the number of frames its header announces.
    #[error("{name}: audio data ends early, after {frames} of {expected} frames (truncated file?)")]
    Truncated {
        name: String,
        frames: u64,
        expected: u64,
    },
    /// The operating system failed a read.
    ///
    /// As with [`DecodeError::Open`], the I/O error is in the message, not `source()`.
    #[error("{name}: read error: {err}")]
    Read { name: String, err: io::Error },
}

impl DecodeError {
    /// The file or stream name the error is about, as the user gave it.
    pub fn name(&self) -> &str {
        match self {
            DecodeError::NotFound { name }
            | DecodeError::IsDirectory { name }
            | DecodeError::Open { name, .. }
            | DecodeError::EmptyFile { name }
            | DecodeError::EmptyStream { name }
            | DecodeError::NotRecognised { name }
            | DecodeError::NotWavStream { name }
            | DecodeError::NoAudioTrack { name, .. }
            | DecodeError::BadHeader { name, .. }
            | DecodeError::Unsupported { name, .. }
            | DecodeError::BadSpec { name, .. }
            | DecodeError::NoSamples { name }
            | DecodeError::Corrupt { name, .. }
            | DecodeError::Truncated { name, .. }
            | DecodeError::Read { name, .. } => name,
        }
    }
}

/// Opens a file, detecting the format from its content.
///
/// Named pipes and character devices (`/dev/stdin`, `<(sox ...)`) are accepted and
/// treated like [`open_stream`] without a raw format.
pub fn open_file(path: &Path) -> Result<Box<dyn AudioReader>, DecodeError> {
    let name = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(DecodeError::NotFound { name });
        }
        Err(err) => return Err(DecodeError::Open { name, err }),
    };
    if meta.is_dir() {
        return Err(DecodeError::IsDirectory { name });
    }
    let file_len = meta.is_file().then_some(meta.len());
    if file_len == Some(0) {
        return Err(DecodeError::EmptyFile { name });
    }
    let file = std::fs::File::open(path).map_err(|err| DecodeError::Open {
        name: name.clone(),
        err,
    })?;
    let ctx = Ctx {
        name,
        file_len,
        raw: None,
        path: Some(path.to_path_buf()),
    };
    open_input(Box::new(file), &ctx)
}

/// Opens a non-seekable byte stream (stdin). `name` is used in messages ("stdin").
///
/// A stream that starts with a WAV, AIFF or FLAC header is decoded as such, whatever
/// `raw` says (the header is authoritative). Otherwise `raw` must describe the
/// headerless PCM, or this fails with [`DecodeError::NotWavStream`]. This blocks until
/// the header and the first frame have arrived.
pub fn open_stream(
    reader: Box<dyn Read + Send + Sync>,
    raw: Option<RawFormat>,
    name: &str,
) -> Result<Box<dyn AudioReader>, DecodeError> {
    let ctx = Ctx {
        name: name.to_owned(),
        file_len: None,
        raw,
        path: None,
    };
    open_input(reader, &ctx)
}

/// Reads a whole file into (spec, interleaved samples). For tests/tools with short clips.
pub fn read_all(path: &Path) -> Result<(AudioSpec, Vec<f32>), DecodeError> {
    let mut reader = open_file(path)?;
    let spec = reader.spec();
    let mut samples = Vec::new();
    if let Some(total) = reader.total_frames() {
        // A hint only: a corrupt header must not make us allocate gigabytes up front.
        let hint = total.saturating_mul(u64::from(spec.channels)).min(1 << 24);
        samples.reserve(usize::try_from(hint).unwrap_or(0));
    }
    let mut block = Vec::new();
    while reader.read_block(&mut block)? {
        samples.extend_from_slice(&block);
    }
    Ok((spec, samples))
}

/// The input every opener works on: front to back, no seeking.
type Input = Box<dyn Read + Send + Sync>;

/// What an opener knows about its input besides the bytes.
#[derive(Debug)]
struct Ctx {
    /// The name for messages, as the user gave it.
    name: String,
    /// Size of a regular file; `None` for pipes, whose lengths can only be trusted
    /// up to the point where the stream actually ends.
    file_len: Option<u64>,
    /// Raw PCM format to fall back on when there is no header.
    raw: Option<RawFormat>,
    /// The path it was opened by (`None` for a stream): changes the "unknown format"
    /// message, and lets an MP4 be read again with seeking.
    path: Option<PathBuf>,
}

impl Ctx {
    fn bad_header(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::BadHeader {
            name: self.name.clone(),
            detail: detail.into(),
        }
    }

    fn unsupported(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Unsupported {
            name: self.name.clone(),
            detail: detail.into(),
        }
    }

    fn read_error(&self, err: io::Error) -> DecodeError {
        DecodeError::Read {
            name: self.name.clone(),
            err,
        }
    }

    /// Rejects specs that no real audio has, before anything is allocated from them.
    fn check_spec(&self, sample_rate: u32, channels: u32) -> Result<AudioSpec, DecodeError> {
        let bad = |detail: String| DecodeError::BadSpec {
            name: self.name.clone(),
            detail,
        };
        if channels == 0 {
            return Err(bad("0 channels".into()));
        }
        if channels > u32::from(MAX_CHANNELS) {
            return Err(bad(format!(
                "{channels} channels, at most {MAX_CHANNELS} are supported"
            )));
        }
        if sample_rate == 0 {
            return Err(bad("sample rate of 0 Hz".into()));
        }
        if sample_rate > MAX_SAMPLE_RATE {
            return Err(bad(format!(
                "sample rate of {sample_rate} Hz, at most {MAX_SAMPLE_RATE} Hz is supported"
            )));
        }
        Ok(AudioSpec {
            sample_rate,
            // Cannot fail: checked against MAX_CHANNELS above.
            channels: u16::try_from(channels).unwrap_or(MAX_CHANNELS),
        })
    }
}

/// Decoded packets handed out a block at a time: the part of a packet-based reader
/// (FLAC, the compressed formats) that is the same for all of them.
#[derive(Debug, Default)]
struct Packets {
    /// The last decoded packet, interleaved.
    pending: Vec<f32>,
    pos: usize,
    block_samples: usize,
    /// The stream ended or failed: nothing more is decoded.
    finished: bool,
}

impl Packets {
    fn new(channels: u16) -> Packets {
        Packets {
            block_samples: block_frames(channels) * usize::from(channels),
            ..Packets::default()
        }
    }

    /// Fills `buf` with the next block, calling `decode` for another packet (into the
    /// vector it is given, replacing its contents) whenever the last one is used up.
    /// After an error or the end, returns Ok(false).
    fn next_block(
        &mut self,
        buf: &mut Vec<f32>,
        mut decode: impl FnMut(&mut Vec<f32>) -> Result<bool, DecodeError>,
    ) -> Result<bool, DecodeError> {
        buf.clear();
        loop {
            if self.pos < self.pending.len() {
                let end = (self.pos + self.block_samples).min(self.pending.len());
                buf.extend_from_slice(&self.pending[self.pos..end]);
                self.pos = end;
                return Ok(true);
            }
            if self.finished {
                return Ok(false);
            }
            self.pos = 0;
            let result = decode(&mut self.pending);
            if !matches!(result, Ok(true)) {
                // Done: what is left in `pending` was handed out already.
                self.pending.clear();
                self.finished = true;
            }
            if !result? {
                return Ok(false);
            }
        }
    }
}

/// Frames per block for a channel count, within both block limits.
fn block_frames(channels: u16) -> usize {
    (MAX_BLOCK_SAMPLES / usize::from(channels.max(1))).clamp(1, MAX_BLOCK_FRAMES)
}

/// "mono", "stereo" or "6 channels", for descriptions.
struct ChannelsText(u16);

impl fmt::Display for ChannelsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("mono"),
            2 => f.write_str("stereo"),
            n => write!(f, "{n} channels"),
        }
    }
}

/// Bytes sniffed from the start of an input: enough for every magic number here.
const SNIFF_LEN: usize = 12;

/// Which parser the first bytes call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Wav,
    Aiff,
    Flac,
    Compressed(compressed::Kind),
}

enum Sniffed {
    Known(Container),
    /// An ID3v2 tag of this many bytes (header included) precedes the audio; some
    /// taggers put one in front of FLAC.
    Id3(u64),
    /// The input ends inside what starts like a known header.
    Partial,
    Unknown,
}

fn sniff(head: &[u8]) -> Sniffed {
    const WAV_MARKERS: [&[u8; 4]; 4] = [b"RIFF", b"RIFX", b"RF64", b"BW64"];
    if head.len() >= 10 && head.starts_with(b"ID3") {
        let syncsafe = head[6..10]
            .iter()
            .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        return Sniffed::Id3(10 + syncsafe + footer);
    }
    if head.len() >= 4 && &head[..4] == b"fLaC" {
        return Sniffed::Known(Container::Flac);
    }
    if head.len() >= 4 && &head[..4] == b"OggS" {
        return Sniffed::Known(Container::Compressed(compressed::Kind::Ogg));
    }
    // An MPEG audio frame header: 11 sync bits, a version other than "reserved", and
    // a layer other than "reserved" (which also keeps ADTS AAC, layer 0, out).
    if head.len() >= 2
        && head[0] == 0xff
        && head[1] & 0xe0 == 0xe0
        && (head[1] >> 3) & 3 != 1
        && (head[1] >> 1) & 3 != 0
    {
        return Sniffed::Known(Container::Compressed(compressed::Kind::Mpeg));
    }
    if head.len() >= 12 {
        let marker = &head[..4];
        let form = &head[8..12];
        if WAV_MARKERS.iter().any(|m| marker == *m) && form == b"WAVE" {
            return Sniffed::Known(Container::Wav);
        }
        if marker == b"FORM" && (form == b"AIFF" || form == b"AIFC") {
            return Sniffed::Known(Container::Aiff);
        }
        if &head[4..8] == b"ftyp" {
            return Sniffed::Known(Container::Compressed(compressed::Kind::Mp4));
        }
        return Sniffed::Unknown;
    }
    // Fewer than 12 bytes: is it the beginning of something we know?
    let prefixes: [&[u8]; 8] = [
        b"RIFF", b"RIFX", b"RF64", b"BW64", b"FORM", b"fLaC", b"ID3", b"OggS",
    ];
    let looks_known = prefixes.iter().any(|p| {
        let n = head.len().min(p.len());
        head[..n] == p[..n]
    });
    if looks_known && !head.is_empty() {
        Sniffed::Partial
    } else {
        Sniffed::Unknown
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(src: &mut Input, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Detects the container and hands the input (with the sniffed bytes put back in
/// front) to its parser, then decodes the first block.
fn open_input(mut src: Input, ctx: &Ctx) -> Result<Box<dyn AudioReader>, DecodeError> {
    let mut head = [0u8; SNIFF_LEN];
    let mut skipped: u64 = 0;
    let (container, head_len) = loop {
        let n = read_up_to(&mut src, &mut head).map_err(|e| ctx.read_error(e))?;
        if n == 0 && skipped == 0 {
            return Err(match (ctx.file_len, ctx.raw) {
                (Some(_), _) => DecodeError::EmptyFile {
                    name: ctx.name.clone(),
                },
                (None, Some(_)) => DecodeError::NoSamples {
                    name: ctx.name.clone(),
                },
                (None, None) => DecodeError::EmptyStream {
                    name: ctx.name.clone(),
                },
            });
        }
        match sniff(&head[..n]) {
            Sniffed::Known(container) => break (Some(container), n),
            Sniffed::Id3(len) if skipped == 0 => {
                // Skip the tag (the part not sniffed yet) and look again.
                let rest = len.saturating_sub(n as u64);
                let copied = io::copy(&mut (&mut src).take(rest), &mut io::sink())
                    .map_err(|e| ctx.read_error(e))?;
                if copied < rest {
                    return Err(ctx.bad_header("ends inside an ID3 tag"));
                }
                skipped = len;
            }
            Sniffed::Partial => {
                return Err(
                    ctx.bad_header(format!("input ends after {} bytes", skipped + n as u64))
                );
            }
            Sniffed::Id3(_) | Sniffed::Unknown => break (None, n),
        }
    };
    let file_len = ctx.file_len.map(|len| len.saturating_sub(skipped));
    let ctx = Ctx {
        name: ctx.name.clone(),
        file_len,
        raw: ctx.raw,
        path: ctx.path.clone(),
    };
    let prefixed: Input = Box::new(io::Cursor::new(head[..head_len].to_vec()).chain(src));
    let reader: Box<dyn AudioReader> = match container {
        Some(Container::Wav) => Box::new(wav::open(prefixed, &ctx)?),
        Some(Container::Aiff) => Box::new(aiff::open(prefixed, &ctx)?),
        Some(Container::Flac) => Box::new(flac::open(prefixed, &ctx)?),
        Some(Container::Compressed(kind)) => Box::new(compressed::open(prefixed, kind, &ctx)?),
        None => match ctx.raw {
            Some(raw) if skipped == 0 => Box::new(pcm::open_raw(prefixed, &ctx, raw)?),
            _ if ctx.path.is_some() => {
                return Err(DecodeError::NotRecognised {
                    name: ctx.name.clone(),
                });
            }
            _ => {
                return Err(DecodeError::NotWavStream {
                    name: ctx.name.clone(),
                });
            }
        },
    };
    prefetch(reader, &ctx.name)
}

/// Decodes the first block now so that "no audio at all" is an open-time error.
fn prefetch(
    mut inner: Box<dyn AudioReader>,
    name: &str,
) -> Result<Box<dyn AudioReader>, DecodeError> {
    let mut first = Vec::new();
    if !inner.read_block(&mut first)? {
        return Err(DecodeError::NoSamples {
            name: name.to_owned(),
        });
    }
    Ok(Box::new(Prefetched {
        inner,
        first: Some(first),
    }))
}

/// A reader whose first block was decoded at open time.
struct Prefetched {
    inner: Box<dyn AudioReader>,
    first: Option<Vec<f32>>,
}

impl AudioReader for Prefetched {
    fn spec(&self) -> AudioSpec {
        self.inner.spec()
    }

    fn total_frames(&self) -> Option<u64> {
        self.inner.total_frames()
    }

    fn read_block(&mut self, buf: &mut Vec<f32>) -> Result<bool, DecodeError> {
        if let Some(first) = self.first.take() {
            buf.clear();
            buf.extend_from_slice(&first);
            return Ok(true);
        }
        self.inner.read_block(buf)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_magic_numbers_and_prefixes() {
        assert!(matches!(
            sniff(b"RIFF\0\0\0\0WAVEfmt "),
            Sniffed::Known(Container::Wav)
        ));
        assert!(matches!(
            sniff(b"RIFX\0\0\0\0WAVE"),
            Sniffed::Known(Container::Wav)
        ));
        assert!(matches!(
            sniff(b"FORM\0\0\0\0AIFC"),
            Sniffed::Known(Container::Aiff)
        ));
        assert!(matches!(
            sniff(b"fLaC\0\0"),
            Sniffed::Known(Container::Flac)
        ));
        assert!(matches!(
            sniff(b"OggS\0\x02"),
            Sniffed::Known(Container::Compressed(compressed::Kind::Ogg))
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x20ftypM4A "),
            Sniffed::Known(Container::Compressed(compressed::Kind::Mp4))
        ));
        // MPEG-1 layer III; ADTS AAC (layer bits 00) and a reserved version are not.
        assert!(matches!(
            sniff(b"\xff\xfb\x90\x64"),
            Sniffed::Known(Container::Compressed(compressed::Kind::Mpeg))
        ));
        assert!(matches!(sniff(b"\xff\xf1\x50\x80"), Sniffed::Unknown));
        assert!(matches!(sniff(b"\xff\xeb\x90\x64"), Sniffed::Unknown));
        assert!(matches!(sniff(b"Ogg"), Sniffed::Partial));
        assert!(matches!(sniff(b"RIFF\0\0\0\0AVI "), Sniffed::Unknown));
        assert!(matches!(sniff(b"RIF"), Sniffed::Partial));
        assert!(matches!(sniff(b"RIFF\x10\0\0\0"), Sniffed::Partial));
        assert!(matches!(sniff(b"RIFT"), Sniffed::Unknown));
        // ID3v2 size is syncsafe: 0x00 0x00 0x02 0x01 = 2 * 128 + 1 = 257, plus 10.
        assert!(matches!(
            sniff(b"ID3\x04\0\0\0\0\x02\x01xx"),
            Sniffed::Id3(267)
        ));
    }

    #[test]
    fn spec_limits() {
        let ctx = Ctx {
            name: "x.wav".into(),
            file_len: None,
            raw: None,
            path: Some("x.wav".into()),
        };
        assert!(ctx.check_spec(16000, 1).is_ok());
        assert!(
            ctx.check_spec(MAX_SAMPLE_RATE, u32::from(MAX_CHANNELS))
                .is_ok()
        );
        for (rate, ch) in [(0, 1), (16000, 0), (16000, 33), (MAX_SAMPLE_RATE + 1, 1)] {
            let err = ctx.check_spec(rate, ch).unwrap_err();
            assert!(matches!(err, DecodeError::BadSpec { .. }), "{err}");
            assert!(err.to_string().starts_with("x.wav: invalid audio format ("));
        }
    }

    #[test]
    fn block_frames_respects_both_limits() {
        assert_eq!(block_frames(1), MAX_BLOCK_FRAMES);
        assert_eq!(block_frames(2), MAX_BLOCK_FRAMES);
        assert_eq!(block_frames(6), MAX_BLOCK_SAMPLES / 6);
        assert_eq!(block_frames(MAX_CHANNELS), 512);
    }
}
