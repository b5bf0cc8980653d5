//! FLAC through symphonia, fed front to back (a `ReadOnlySource`, so files and
//! pipes behave the same and nothing ever seeks).
//!
//! Symphonia's FLAC demuxer resynchronises silently over damaged frames, and its
//! example decode loops skip packets that fail to decode. Here every packet's
//! timestamp must continue exactly where the previous one ended, and any decode
//! failure ends the stream with an error: a corrupt file is reported, never
//! quietly played with holes in it.

use std::io::Read;

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::default::formats::FlacReader;

use super::{AudioReader, AudioSpec, ChannelsText, Ctx, DecodeError, Input, Packets};

/// "fLaC" + metadata block header + the 34-byte STREAMINFO block.
const STREAMINFO_END: usize = 4 + 4 + 34;

/// The STREAMINFO total sample count (frames per channel), if the first metadata
/// block is STREAMINFO; 0 means unknown.
fn streaminfo_frames(head: &[u8; STREAMINFO_END]) -> Option<u64> {
    let block_type = head[4] & 0x7f;
    if block_type != 0 {
        return None;
    }
    // Bytes 18..26: 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total.
    let packed = u64::from_be_bytes([
        head[18], head[19], head[20], head[21], head[22], head[23], head[24], head[25],
    ]);
    Some(packed & 0xf_ffff_ffff)
}

pub(super) struct FlacStream {
    format: FlacReader<'static>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    name: String,
    spec: AudioSpec,
    total_frames: Option<u64>,
    /// STREAMINFO's frame count when known (non-zero), for truncation checks.
    expected: Option<u64>,
    /// Frames decoded so far, which is also the timestamp the next packet must have.
    decoded: u64,
    /// Decoded packets, handed out a block at a time.
    packets: Packets,
    description: String,
}

/// Opens a FLAC stream positioned at "fLaC".
pub(super) fn open(mut src: Input, ctx: &Ctx) -> Result<FlacStream, DecodeError> {
    let mut head = [0u8; STREAMINFO_END];
    let n = super::read_up_to(&mut src, &mut head).map_err(|e| ctx.read_error(e))?;
    if n < STREAMINFO_END {
        return Err(ctx.bad_header("ends inside the STREAMINFO block"));
    }
    let declared = streaminfo_frames(&head).filter(|&n| n > 0);
    let src: Input = Box::new(std::io::Cursor::new(head.to_vec()).chain(src));
    let mss = MediaSourceStream::new(Box::new(ReadOnlySource::new(src)), Default::default());
    let format = match FlacReader::try_new(mss, FormatOptions::default()) {
        Ok(format) => format,
        // The metadata parsed but no audio frame follows it.
        Err(SymphoniaError::IoError(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(match declared {
                None => DecodeError::NoSamples {
                    name: ctx.name.clone(),
                },
                Some(expected) => DecodeError::Truncated {
                    name: ctx.name.clone(),
                    frames: 0,
                    expected,
                },
            });
        }
        Err(err) => return Err(header_error(ctx, err)),
    };
    let track = format
        .tracks()
        .first()
        .ok_or_else(|| ctx.bad_header("no audio track"))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| ctx.bad_header("no audio codec parameters"))?;
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    let spec = ctx.check_spec(
        params.sample_rate.unwrap_or(0),
        u32::try_from(channels).unwrap_or(u32::MAX),
    )?;
    let bits = params.bits_per_sample.unwrap_or(0);
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|err| header_error(ctx, err))?;
    let track_id = track.id;
    let description = format!(
        "FLAC {bits}-bit {} Hz {}",
        spec.sample_rate,
        ChannelsText(spec.channels)
    );
    Ok(FlacStream {
        format,
        decoder,
        track_id,
        name: ctx.name.clone(),
        spec,
        total_frames: declared.filter(|_| ctx.file_len.is_some()),
        expected: declared,
        decoded: 0,
        packets: Packets::new(spec.channels),
        description,
    })
}

fn header_error(ctx: &Ctx, err: SymphoniaError) -> DecodeError {
    match err {
        SymphoniaError::IoError(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            ctx.bad_header("ends inside the FLAC metadata")
        }
        SymphoniaError::IoError(err) => ctx.read_error(err),
        SymphoniaError::Unsupported(what) => ctx.unsupported(what),
        SymphoniaError::DecodeError(what) | SymphoniaError::LimitError(what) => {
            ctx.bad_header(what)
        }
        other => ctx.bad_header(other.to_string()),
    }
}

impl FlacStream {
    fn corrupt(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Corrupt {
            name: self.name.clone(),
            frame: self.decoded,
            detail: detail.into(),
        }
    }

    fn stream_error(&self, err: SymphoniaError) -> DecodeError {
        match err {
            SymphoniaError::IoError(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                match self.expected {
                    Some(expected) => DecodeError::Truncated {
                        name: self.name.clone(),
                        frames: self.decoded,
                        expected,
                    },
                    None => self.corrupt("stream ends inside a frame"),
                }
            }
            SymphoniaError::IoError(err) => DecodeError::Read {
                name: self.name.clone(),
                err,
            },
            SymphoniaError::Unsupported(what) => DecodeError::Unsupported {
                name: self.name.clone(),
                detail: what.to_owned(),
            },
            SymphoniaError::DecodeError(what) | SymphoniaError::LimitError(what) => {
                self.corrupt(what)
            }
            other => self.corrupt(other.to_string()),
        }
    }

    /// Decodes the next packet into `out`. Returns false at the end of the stream.
    fn decode_next(&mut self, out: &mut Vec<f32>) -> Result<bool, DecodeError> {
        let packet = loop {
            match self.format.next_packet() {
                Ok(Some(packet)) if packet.track_id == self.track_id => break packet,
                Ok(Some(_)) => {}
                Ok(None) => {
                    if let Some(expected) = self.expected
                        && self.decoded < expected
                    {
                        return Err(DecodeError::Truncated {
                            name: self.name.clone(),
                            frames: self.decoded,
                            expected,
                        });
                    }
                    return Ok(false);
                }
                Err(err) => return Err(self.stream_error(err)),
            }
        };
        let pts = packet.pts.get();
        if u64::try_from(pts).ok() != Some(self.decoded) {
            return Err(self.corrupt(format!(
                "next frame starts at sample {pts}, frames in between are missing or damaged"
            )));
        }
        let decoded = match self.decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(err) => return Err(self.stream_error(err)),
        };
        let channels = decoded.spec().channels().count();
        if channels != usize::from(self.spec.channels) {
            let detail = format!(
                "a frame has {channels} channels, the stream {}",
                self.spec.channels
            );
            return Err(self.corrupt(detail));
        }
        let frames = decoded.frames() as u64;
        decoded.copy_to_vec_interleaved(out);
        self.decoded += frames;
        Ok(true)
    }
}

impl AudioReader for FlacStream {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }

    fn read_block(&mut self, buf: &mut Vec<f32>) -> Result<bool, DecodeError> {
        let mut packets = std::mem::take(&mut self.packets);
        let result = packets.next_block(buf, |out| self.decode_next(out));
        self.packets = packets;
        result
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
