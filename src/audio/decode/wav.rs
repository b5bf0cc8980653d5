//! A streaming WAV header parser: RIFF (little-endian), RIFX (big-endian) and
//! RF64/BW64 (64-bit sizes), with PCM 8/16/24/32-bit, float 32/64-bit and
//! `WAVE_FORMAT_EXTENSIBLE` of either.
//!
//! The parser reads chunks in order and stops at `data`; it never seeks, so pipes
//! work. Data lengths are treated as programs actually write them:
//! - 0 and anything from 0x7F000000 up mean "unknown" (see [`PLACEHOLDER_LEN`]:
//!   sox, arecord and ffmpeg write such values into pipes): play to the end of the
//!   input. RF64's real 64-bit length from the ds64 chunk is always honoured.
//! - Any other length is an upper bound: the data ends there (so trailing `LIST` or
//!   `id3 ` chunks are never played as noise) or where the input ends, whichever
//!   comes first. A cut download looks the same as a stream that stopped, so
//!   running short is not an error.
//! - For a regular file the length is also clipped to the file's size, which makes
//!   `total_frames` exact.
//!
//! [`PLACEHOLDER_LEN`]: super::pcm::PLACEHOLDER_LEN

use super::pcm::{
    self, Coding, DataEnd, Endian, PcmReader, chunk_name, known_len, read_array, skip,
};
use super::{Ctx, DecodeError, Input};

/// The tail of `KSDATAFORMAT_SUBTYPE_PCM` / `_IEEE_FLOAT` GUIDs (Data4, stored as
/// plain bytes whatever the byte order), after the 2-byte format tag and Data2/3.
const GUID_TAIL: [u8; 8] = [0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

const TAG_PCM: u16 = 0x0001;
const TAG_FLOAT: u16 = 0x0003;
const TAG_EXTENSIBLE: u16 = 0xfffe;

/// What the fmt chunk says, checked and turned into a sample coding.
struct Format {
    spec: super::AudioSpec,
    coding: Coding,
    /// Meaningful bits per sample, for the description.
    bits: u32,
}

struct Order(Endian);

impl Order {
    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        match self.0 {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        match self.0 {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    fn u64(&self, b: &[u8]) -> u64 {
        let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
        match self.0 {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        }
    }
}

/// Names of the common non-PCM format tags, so the error says what the file is.
fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => " (Microsoft ADPCM)",
        0x0006 => " (A-law)",
        0x0007 => " (mu-law)",
        0x0011 => " (IMA ADPCM)",
        0x0031 => " (GSM 6.10)",
        0x0050 => " (MPEG audio)",
        0x0055 => " (MP3)",
        _ => "",
    }
}

/// Parses the fmt chunk's fixed 16 bytes and, for extensible, the 24 that follow.
fn parse_format(
    ctx: &Ctx,
    order: &Order,
    base: &[u8; 16],
    ext: Option<&[u8; 24]>,
) -> Result<Format, DecodeError> {
    let mut tag = order.u16(&base[0..2]);
    let channels = order.u16(&base[2..4]);
    let rate = order.u32(&base[4..8]);
    let block_align = order.u16(&base[12..14]);
    let container_bits = order.u16(&base[14..16]);
    let mut valid_bits = container_bits;
    if tag == TAG_EXTENSIBLE {
        let ext = ext.ok_or_else(|| ctx.bad_header("extensible fmt chunk is too short"))?;
        let valid = order.u16(&ext[2..4]);
        if valid != 0 && valid <= container_bits {
            valid_bits = valid;
        }
        let guid = &ext[8..24];
        if guid[8..16] != GUID_TAIL {
            return Err(ctx.unsupported("extensible WAV with a non-PCM sub-format GUID"));
        }
        tag = order.u16(&guid[0..2]);
    }
    let spec = ctx.check_spec(rate, u32::from(channels))?;
    let endian = order.0;
    let coding = match tag {
        TAG_PCM => {
            if !(1..=32).contains(&container_bits) {
                return Err(ctx.unsupported(format!("{container_bits}-bit integer PCM")));
            }
            let natural = usize::from(container_bits).div_ceil(8);
            // Some writers put 24-bit samples in 4-byte containers and say so only
            // through block_align.
            let from_align = usize::from(block_align) / usize::from(channels);
            let bytes = if usize::from(block_align) % usize::from(channels) == 0
                && (natural..=4).contains(&from_align)
            {
                from_align
            } else {
                natural
            };
            if bytes == 1 {
                Coding::U8
            } else {
                Coding::signed(bytes, endian)
                    .ok_or_else(|| ctx.unsupported(format!("{bytes}-byte integer samples")))?
            }
        }
        TAG_FLOAT => match container_bits {
            32 => Coding::F32(endian),
            64 => Coding::F64(endian),
            bits => return Err(ctx.unsupported(format!("{bits}-bit float"))),
        },
        other => {
            return Err(ctx.unsupported(format!("WAV format tag 0x{other:04x}{}", tag_name(other))));
        }
    };
    let bits = if matches!(coding, Coding::F32(_) | Coding::F64(_)) {
        u32::from(container_bits)
    } else {
        u32::from(valid_bits)
    };
    Ok(Format { spec, coding, bits })
}

/// Parses a WAV header from `src` (positioned at "RIFF") and returns a reader
/// positioned at the first sample.
pub(super) fn open(mut src: Input, ctx: &Ctx) -> Result<PcmReader, DecodeError> {
    let riff: [u8; 12] = read_array(&mut src, ctx, "RIFF header")?;
    let order = Order(if &riff[..4] == b"RIFX" {
        Endian::Big
    } else {
        Endian::Little
    });
    let is_rf64 = &riff[..4] == b"RF64" || &riff[..4] == b"BW64";
    let mut pos: u64 = 12;
    let mut format: Option<Format> = None;
    let mut ds64_data_len: Option<u64> = None;
    loop {
        let mut header = [0u8; 8];
        let n = super::read_up_to(&mut src, &mut header).map_err(|e| ctx.read_error(e))?;
        if n < header.len() {
            return Err(ctx.bad_header(if format.is_none() {
                "no fmt chunk"
            } else {
                "no data chunk"
            }));
        }
        pos += 8;
        let id = &header[..4];
        let len = order.u32(&header[4..8]);
        let pad = u64::from(len & 1);
        if id == b"data" {
            let format =
                format.ok_or_else(|| ctx.bad_header("data chunk comes before the fmt chunk"))?;
            return Ok(data_reader(
                src,
                ctx,
                format,
                pos,
                len,
                is_rf64,
                ds64_data_len,
            ));
        }
        // A chunk running past the end of a file means a cut or corrupt header;
        // catching it here also avoids reading a whole file to skip a bogus length.
        if let Some(file_len) = ctx.file_len
            && pos + u64::from(len) > file_len
        {
            return Err(ctx.bad_header(format!("ends inside the {}", chunk_name(id))));
        }
        let mut used: u64 = 0;
        if id == b"fmt " {
            if len < 16 {
                return Err(ctx.bad_header(format!("fmt chunk of {len} bytes is too short")));
            }
            let base: [u8; 16] = read_array(&mut src, ctx, "fmt chunk")?;
            used = 16;
            let ext = if order.u16(&base[0..2]) == TAG_EXTENSIBLE && len >= 40 {
                used = 40;
                Some(read_array::<24>(&mut src, ctx, "fmt chunk")?)
            } else {
                None
            };
            format = Some(parse_format(ctx, &order, &base, ext.as_ref())?);
        } else if id == b"ds64" && is_rf64 {
            if len < 24 {
                return Err(ctx.bad_header(format!("ds64 chunk of {len} bytes is too short")));
            }
            let sizes: [u8; 24] = read_array(&mut src, ctx, "ds64 chunk")?;
            used = 24;
            ds64_data_len = Some(order.u64(&sizes[8..16]));
        }
        skip(&mut src, ctx, u64::from(len) - used + pad, &chunk_name(id))?;
        pos += u64::from(len) + pad;
    }
}

/// Builds the sample reader once the data chunk header (at `pos`) has been read.
fn data_reader(
    src: Input,
    ctx: &Ctx,
    format: Format,
    pos: u64,
    len: u32,
    is_rf64: bool,
    ds64_data_len: Option<u64>,
) -> PcmReader {
    let declared = if is_rf64 && len == u32::MAX {
        ds64_data_len.filter(|&n| n > 0)
    } else {
        known_len(u64::from(len))
    };
    let frame_bytes = (format.coding.bytes() * usize::from(format.spec.channels)) as u64;
    let (end, total_frames) = match ctx.file_len {
        Some(file_len) => {
            let available = file_len.saturating_sub(pos);
            let bytes = declared.map_or(available, |d| d.min(available));
            (DataEnd::Bytes(bytes), Some(bytes / frame_bytes))
        }
        None => (declared.map_or(DataEnd::Eof, DataEnd::Bytes), None),
    };
    let label = match (is_rf64, order_label(&format)) {
        (true, _) => "WAV (RF64)",
        (false, label) => label,
    };
    let description = pcm::describe(label, format.coding, format.bits, format.spec);
    PcmReader::new(
        src,
        &ctx.name,
        format.spec,
        format.coding,
        end,
        total_frames,
        description,
    )
}

/// "WAV" or "WAV (RIFX)" for big-endian files.
fn order_label(format: &Format) -> &'static str {
    let big = match format.coding {
        Coding::S16(e) | Coding::S24(e) | Coding::S32(e) | Coding::F32(e) | Coding::F64(e) => {
            e == Endian::Big
        }
        Coding::U8 | Coding::S8 => false,
    };
    if big { "WAV (RIFX)" } else { "WAV" }
}
