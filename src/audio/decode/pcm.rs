//! Uncompressed PCM: the sample codings WAV, AIFF and raw pipes use, and the one
//! streaming reader they all share.
//!
//! The reader owns one fixed byte buffer of a block's size and converts whole frames
//! out of it; a partial frame is moved to the front and completed by the next read.
//! A pipe's `read` returns what has arrived, so blocks come out as soon as one whole
//! frame is there instead of after a full block: live input keeps low latency.

use std::io::{self, Read};

use super::{
    AudioReader, AudioSpec, ChannelsText, Ctx, DecodeError, Input, RawEncoding, RawFormat,
    block_frames,
};

/// Byte order of multi-byte samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

/// How one sample is stored. Integers narrower than their container are
/// left-justified (WAV and AIFF both say so), so scaling by the container width is
/// right for any valid bit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    /// Unsigned 8-bit, 128 is silence (WAV).
    U8,
    /// Signed 8-bit (AIFF).
    S8,
    S16(Endian),
    S24(Endian),
    S32(Endian),
    F32(Endian),
    F64(Endian),
}

impl Coding {
    /// Bytes per sample.
    pub(super) fn bytes(self) -> usize {
        match self {
            Coding::U8 | Coding::S8 => 1,
            Coding::S16(_) => 2,
            Coding::S24(_) => 3,
            Coding::S32(_) | Coding::F32(_) => 4,
            Coding::F64(_) => 8,
        }
    }

    /// The signed integer coding for a container of `bytes` bytes (1 to 4).
    pub(super) fn signed(bytes: usize, endian: Endian) -> Option<Coding> {
        match bytes {
            1 => Some(Coding::S8),
            2 => Some(Coding::S16(endian)),
            3 => Some(Coding::S24(endian)),
            4 => Some(Coding::S32(endian)),
            _ => None,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Coding::F32(_) | Coding::F64(_))
    }
}

const SCALE8: f32 = 1.0 / 128.0;
const SCALE16: f32 = 1.0 / 32768.0;
const SCALE32: f32 = 1.0 / 2_147_483_648.0;

/// Float samples may exceed full scale (or be NaN) in a float file; the rest of the
/// pipeline is promised `[-1, 1]`.
fn clamp_unit(x: f32) -> f32 {
    if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) }
}

/// Appends the samples in `bytes` (a whole number of samples) to `out` as f32.
pub(super) fn convert(coding: Coding, bytes: &[u8], out: &mut Vec<f32>) {
    use Endian::{Big, Little};
    match coding {
        Coding::U8 => out.extend(bytes.iter().map(|&b| (f32::from(b) - 128.0) * SCALE8)),
        Coding::S8 => out.extend(bytes.iter().map(|&b| f32::from(b as i8) * SCALE8)),
        Coding::S16(Little) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * SCALE16),
        ),
        Coding::S16(Big) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_be_bytes([b[0], b[1]])) * SCALE16),
        ),
        // 24-bit goes into the top of an i32: exact in f32 (24-bit mantissa).
        Coding::S24(Little) => out.extend(
            bytes
                .chunks_exact(3)
                .map(|b| i32::from_le_bytes([0, b[0], b[1], b[2]]) as f32 * SCALE32),
        ),
        Coding::S24(Big) => out.extend(
            bytes
                .chunks_exact(3)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], 0]) as f32 * SCALE32),
        ),
        Coding::S32(Little) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * SCALE32),
        ),
        Coding::S32(Big) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f32 * SCALE32),
        ),
        Coding::F32(Little) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| clamp_unit(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        ),
        Coding::F32(Big) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| clamp_unit(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        ),
        Coding::F64(Little) => out.extend(bytes.chunks_exact(8).map(|b| {
            clamp_unit(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
        })),
        Coding::F64(Big) => out.extend(bytes.chunks_exact(8).map(|b| {
            clamp_unit(f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
        })),
    }
}

/// Data lengths from here up are placeholders, not lengths.
///
/// A writer that cannot seek back to fix its header (one writing into a pipe)
/// puts a large guess there: sox 0x7FFFF000 for WAV and about 0x7F000000 for AIFF,
/// arecord 0x80000000, ffmpeg 0xFFFFFFFF (all measured or read from their output
/// here). Honouring them would stop a live capture after 2 GiB, a few hours of
/// audio. The price: a genuine WAV over 2 GiB with chunks after its data has those
/// few bytes decoded as audio at its very end.
pub(super) const PLACEHOLDER_LEN: u64 = 0x7f00_0000;

/// A header's data length, or None if it is 0 or a [`PLACEHOLDER_LEN`] (unknown:
/// the data runs to the end of the input).
pub(super) fn known_len(len: u64) -> Option<u64> {
    (len != 0 && len < PLACEHOLDER_LEN).then_some(len)
}

/// Where a PCM reader's data ends.
#[derive(Debug, Clone, Copy)]
pub(super) enum DataEnd {
    /// This many bytes of sample data are left; the stream may still end sooner.
    Bytes(u64),
    /// The data runs to the end of the input.
    Eof,
}

/// Streams interleaved PCM of one [`Coding`] from an input positioned at the first
/// sample.
pub(super) struct PcmReader {
    src: Input,
    name: String,
    spec: AudioSpec,
    coding: Coding,
    frame_bytes: usize,
    /// Fixed size: one block of frames. Never grows.
    bytes: Vec<u8>,
    /// Valid bytes at the front of `bytes` (less than one frame between calls).
    filled: usize,
    end: DataEnd,
    total_frames: Option<u64>,
    finished: bool,
    description: String,
}

impl PcmReader {
    /// `label` starts the description ("WAV", "AIFF", "raw"); `bits` is the number
    /// of meaningful bits per sample for the description.
    pub(super) fn new(
        src: Input,
        name: &str,
        spec: AudioSpec,
        coding: Coding,
        end: DataEnd,
        total_frames: Option<u64>,
        description: String,
    ) -> PcmReader {
        let frame_bytes = coding.bytes() * usize::from(spec.channels);
        PcmReader {
            src,
            name: name.to_owned(),
            spec,
            coding,
            frame_bytes,
            bytes: vec![0; frame_bytes * block_frames(spec.channels)],
            filled: 0,
            end,
            total_frames,
            finished: false,
            description,
        }
    }

    /// Reads until at least one whole frame is buffered or the data ends (then
    /// `finished` is set).
    fn fill(&mut self) -> Result<(), DecodeError> {
        loop {
            let space = self.bytes.len() - self.filled;
            let want = match self.end {
                DataEnd::Bytes(left) => space.min(usize::try_from(left).unwrap_or(usize::MAX)),
                DataEnd::Eof => space,
            };
            if want == 0 {
                self.finished = true;
                return Ok(());
            }
            match self
                .src
                .read(&mut self.bytes[self.filled..self.filled + want])
            {
                Ok(0) => {
                    self.finished = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.filled += n;
                    if let DataEnd::Bytes(left) = &mut self.end {
                        *left -= n as u64;
                    }
                    if self.filled >= self.frame_bytes {
                        return Ok(());
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.finished = true;
                    return Err(DecodeError::Read {
                        name: self.name.clone(),
                        err,
                    });
                }
            }
        }
    }
}

impl AudioReader for PcmReader {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }

    fn read_block(&mut self, buf: &mut Vec<f32>) -> Result<bool, DecodeError> {
        buf.clear();
        if self.finished {
            // Anything left in `filled` is a partial frame: dropped.
            self.filled = 0;
            return Ok(false);
        }
        self.fill()?;
        let whole = self.filled / self.frame_bytes * self.frame_bytes;
        if whole == 0 {
            // The data ended; a partial last frame is dropped.
            self.filled = 0;
            return Ok(false);
        }
        convert(self.coding, &self.bytes[..whole], buf);
        self.bytes.copy_within(whole..self.filled, 0);
        self.filled -= whole;
        Ok(true)
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Describes a PCM stream: "WAV 16-bit 16000 Hz mono", "AIFF 32-bit float 48000 Hz stereo".
pub(super) fn describe(label: &str, coding: Coding, bits: u32, spec: AudioSpec) -> String {
    let float = if coding.is_float() { " float" } else { "" };
    format!(
        "{label} {bits}-bit{float} {} Hz {}",
        spec.sample_rate,
        ChannelsText(spec.channels)
    )
}

/// Headerless PCM in the format the user gave.
pub(super) fn open_raw(src: Input, ctx: &Ctx, raw: RawFormat) -> Result<PcmReader, DecodeError> {
    let spec = ctx.check_spec(raw.sample_rate, u32::from(raw.channels))?;
    let (coding, text) = match raw.encoding {
        RawEncoding::S16Le => (Coding::S16(Endian::Little), "s16le"),
        RawEncoding::F32Le => (Coding::F32(Endian::Little), "f32le"),
    };
    let description = format!(
        "raw {text} {} Hz {}",
        spec.sample_rate,
        ChannelsText(spec.channels)
    );
    Ok(PcmReader::new(
        src,
        &ctx.name,
        spec,
        coding,
        DataEnd::Eof,
        None,
        description,
    ))
}

/// A four-character code for messages, escaped so that a corrupt one can never put
/// a newline or control character into a one-line error.
pub(super) fn fourcc(id: &[u8]) -> String {
    id.escape_ascii().to_string()
}

/// "'fmt' chunk", "'LIST' chunk": how header errors name a chunk.
pub(super) fn chunk_name(id: &[u8]) -> String {
    format!("'{}' chunk", fourcc(id).trim_end())
}

/// Reads exactly `N` header bytes, naming `what` was being read if the input ends.
pub(super) fn read_array<const N: usize>(
    src: &mut Input,
    ctx: &Ctx,
    what: &str,
) -> Result<[u8; N], DecodeError> {
    let mut out = [0u8; N];
    match src.read_exact(&mut out) {
        Ok(()) => Ok(out),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
            Err(ctx.bad_header(format!("ends inside the {what}")))
        }
        Err(err) => Err(ctx.read_error(err)),
    }
}

/// Reads and discards `n` header bytes (an unknown chunk), without seeking.
pub(super) fn skip(src: &mut Input, ctx: &Ctx, n: u64, what: &str) -> Result<(), DecodeError> {
    let copied = io::copy(&mut src.take(n), &mut io::sink()).map_err(|e| ctx.read_error(e))?;
    if copied < n {
        return Err(ctx.bad_header(format!("ends inside the {what}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_extremes_map_to_unit_range() {
        let mut out = Vec::new();
        convert(Coding::U8, &[0, 128, 255], &mut out);
        assert_eq!(out, [-1.0, 0.0, 127.0 / 128.0]);
        out.clear();
        convert(
            Coding::S16(Endian::Little),
            &[0x00, 0x80, 0xff, 0x7f],
            &mut out,
        );
        assert_eq!(out, [-1.0, 32767.0 / 32768.0]);
        out.clear();
        convert(
            Coding::S24(Endian::Big),
            &[0x80, 0, 0, 0x40, 0, 0],
            &mut out,
        );
        assert_eq!(out, [-1.0, 0.5]);
        out.clear();
        convert(Coding::S32(Endian::Little), &[0, 0, 0, 0xc0], &mut out);
        assert_eq!(out, [-0.5]);
    }

    #[test]
    fn placeholder_lengths_are_unknown() {
        for placeholder in [0, 0x7fff_f000, 0x7f00_0004, 0x8000_0000, 0xffff_ffff] {
            assert_eq!(known_len(placeholder), None, "{placeholder:#x}");
        }
        assert_eq!(known_len(200), Some(200));
        assert_eq!(known_len(0x7eff_ffff), Some(0x7eff_ffff));
    }

    #[test]
    fn chunk_names_stay_on_one_line() {
        assert_eq!(chunk_name(b"fmt "), "'fmt' chunk");
        assert_eq!(chunk_name(b"D\nM\xff"), "'D\\nM\\xff' chunk");
    }

    #[test]
    fn floats_are_clamped_and_nan_is_silence() {
        let mut bytes = Vec::new();
        for x in [1.5f32, -2.0, f32::NAN, 0.25] {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        let mut out = Vec::new();
        convert(Coding::F32(Endian::Little), &bytes, &mut out);
        assert_eq!(out, [1.0, -1.0, 0.0, 0.25]);
    }
}
