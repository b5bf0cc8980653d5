//! A streaming AIFF / AIFF-C header parser.
//!
//! AIFF is big-endian PCM (8-bit signed, unlike WAV). AIFF-C adds a compression
//! type; the uncompressed ones are handled: `NONE`/`twos` (big-endian), `sowt`
//! (little-endian, what macOS writes), `in24`/`in32` and their little-endian
//! `42ni`/`23ni`, `raw ` (unsigned 8-bit) and `fl32`/`fl64` floats. TESS ships some
//! of these named `.wav`, which is why formats are never guessed from names.
//!
//! Lengths follow the same rules as WAV (see `wav.rs`): the COMM frame count and
//! the SSND length are upper bounds, 0 and placeholders from 0x7F000000 up mean
//! unknown (sox writes about 0x7F000000 for both into pipes), and the input ending
//! first is not an error.

use super::pcm::{
    self, Coding, DataEnd, Endian, PcmReader, chunk_name, fourcc, known_len, read_array, skip,
};
use super::{Ctx, DecodeError, Input};

/// Converts an 80-bit IEEE 754 extended float (AIFF's sample rate) to Hz.
///
/// Returns 0 for zero, negative or non-finite values and saturates huge ones, so
/// the spec check reports a nonsense rate instead of this failing on its own.
fn extended_to_hz(b: &[u8; 10]) -> u32 {
    let negative = b[0] & 0x80 != 0;
    let exponent = i32::from(u16::from_be_bytes([b[0] & 0x7f, b[1]]));
    let mantissa = u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
    if negative || mantissa == 0 || exponent == 0x7fff {
        return 0;
    }
    let value = mantissa as f64 * 2f64.powi(exponent - 16383 - 63);
    if value >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        value.round() as u32
    }
}

/// The sample coding for a COMM chunk's bit depth and compression type.
fn coding_for(ctx: &Ctx, bits: u16, compression: &[u8; 4]) -> Result<Coding, DecodeError> {
    let int = |endian| {
        if !(1..=32).contains(&bits) {
            return Err(ctx.unsupported(format!("{bits}-bit AIFF samples")));
        }
        Coding::signed(usize::from(bits).div_ceil(8), endian)
            .ok_or_else(|| ctx.unsupported(format!("{bits}-bit AIFF samples")))
    };
    match compression {
        b"NONE" | b"twos" => int(Endian::Big),
        b"sowt" => int(Endian::Little),
        b"raw " if bits == 8 => Ok(Coding::U8),
        b"in24" => Ok(Coding::S24(Endian::Big)),
        b"in32" => Ok(Coding::S32(Endian::Big)),
        b"42ni" => Ok(Coding::S24(Endian::Little)),
        b"23ni" => Ok(Coding::S32(Endian::Little)),
        b"fl32" | b"FL32" => Ok(Coding::F32(Endian::Big)),
        b"fl64" | b"FL64" => Ok(Coding::F64(Endian::Big)),
        other => Err(ctx.unsupported(format!("AIFF-C compression '{}'", fourcc(other)))),
    }
}

/// What the COMM chunk says.
struct Common {
    spec: super::AudioSpec,
    frames: u32,
    coding: Coding,
    bits: u32,
}

/// Parses an AIFF header from `src` (positioned at "FORM") and returns a reader
/// positioned at the first sample.
pub(super) fn open(mut src: Input, ctx: &Ctx) -> Result<PcmReader, DecodeError> {
    let form: [u8; 12] = read_array(&mut src, ctx, "FORM header")?;
    let is_aifc = &form[8..12] == b"AIFC";
    let mut pos: u64 = 12;
    let mut common: Option<Common> = None;
    loop {
        let mut header = [0u8; 8];
        let n = super::read_up_to(&mut src, &mut header).map_err(|e| ctx.read_error(e))?;
        if n < header.len() {
            return Err(ctx.bad_header(if common.is_none() {
                "no COMM chunk"
            } else {
                "no SSND chunk"
            }));
        }
        pos += 8;
        let id = [header[0], header[1], header[2], header[3]];
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let pad = u64::from(len & 1);
        let name = chunk_name(&id);
        if &id == b"SSND" {
            let common =
                common.ok_or_else(|| ctx.bad_header("SSND chunk comes before the COMM chunk"))?;
            if len < 8 && known_len(u64::from(len)).is_some() {
                return Err(ctx.bad_header(format!("SSND chunk of {len} bytes is too short")));
            }
            let fields: [u8; 8] = read_array(&mut src, ctx, "SSND chunk")?;
            let offset = u32::from_be_bytes([fields[0], fields[1], fields[2], fields[3]]);
            skip(&mut src, ctx, u64::from(offset), "SSND chunk")?;
            pos += 8 + u64::from(offset);
            let declared =
                known_len(u64::from(len)).map(|len| len.saturating_sub(8 + u64::from(offset)));
            return Ok(data_reader(src, ctx, common, pos, declared, is_aifc));
        }
        if let Some(file_len) = ctx.file_len
            && pos + u64::from(len) > file_len
        {
            return Err(ctx.bad_header(format!("ends inside the {name}")));
        }
        let mut used: u64 = 0;
        if &id == b"COMM" {
            let need = if is_aifc { 22 } else { 18 };
            if len < need {
                return Err(ctx.bad_header(format!("COMM chunk of {len} bytes is too short")));
            }
            let c: [u8; 18] = read_array(&mut src, ctx, "COMM chunk")?;
            used = 18;
            let compression = if is_aifc {
                used = 22;
                read_array::<4>(&mut src, ctx, "COMM chunk")?
            } else {
                *b"NONE"
            };
            // Channels and bits are signed 16-bit in the spec; a negative value is
            // as much nonsense as a huge one.
            let channels = u16::from_be_bytes([c[0], c[1]]);
            let frames = u32::from_be_bytes([c[2], c[3], c[4], c[5]]);
            let bits = u16::from_be_bytes([c[6], c[7]]);
            let rate_bytes = [
                c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15], c[16], c[17],
            ];
            let spec = ctx.check_spec(extended_to_hz(&rate_bytes), u32::from(channels))?;
            let coding = coding_for(ctx, bits, &compression)?;
            let bits = match coding {
                Coding::F32(_) => 32,
                Coding::F64(_) => 64,
                _ if matches!(&compression, b"NONE" | b"twos" | b"sowt") => u32::from(bits),
                other => 8 * other.bytes() as u32,
            };
            common = Some(Common {
                spec,
                frames,
                coding,
                bits,
            });
        }
        skip(&mut src, ctx, u64::from(len) - used + pad, &name)?;
        pos += u64::from(len) + pad;
    }
}

/// Builds the sample reader once the SSND header and offset (ending at `pos`) have
/// been read; `declared` is the SSND data length if the header gave a real one.
fn data_reader(
    src: Input,
    ctx: &Ctx,
    common: Common,
    pos: u64,
    declared: Option<u64>,
    is_aifc: bool,
) -> PcmReader {
    let frame_bytes = (common.coding.bytes() * usize::from(common.spec.channels)) as u64;
    // numSampleFrames is authoritative when present; 0 or a placeholder-sized count
    // here is a streaming writer that did not know it.
    let from_comm = known_len(u64::from(common.frames) * frame_bytes);
    let declared = match (declared, from_comm) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let (end, total_frames) = match ctx.file_len {
        Some(file_len) => {
            let available = file_len.saturating_sub(pos);
            let bytes = declared.map_or(available, |d| d.min(available));
            (DataEnd::Bytes(bytes), Some(bytes / frame_bytes))
        }
        None => (declared.map_or(DataEnd::Eof, DataEnd::Bytes), None),
    };
    let label = if is_aifc { "AIFF-C" } else { "AIFF" };
    let description = pcm::describe(label, common.coding, common.bits, common.spec);
    PcmReader::new(
        src,
        &ctx.name,
        common.spec,
        common.coding,
        end,
        total_frames,
        description,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_rates() {
        // 44100 Hz as written by sox/libsndfile: 0x400E AC44 0000 0000 0000.
        let hz44100 = [0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0];
        assert_eq!(extended_to_hz(&hz44100), 44100);
        // 16000 Hz as sox wrote it into a pipe here: 0x400C FA00 0000 0000 0000.
        let hz16000 = [0x40, 0x0c, 0xfa, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(extended_to_hz(&hz16000), 16000);
        assert_eq!(extended_to_hz(&[0; 10]), 0);
        assert_eq!(
            extended_to_hz(&[0xc0, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0]),
            0
        );
        assert_eq!(
            extended_to_hz(&[0x7f, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            0,
            "infinity"
        );
    }
}
