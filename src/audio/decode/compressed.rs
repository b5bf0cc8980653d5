//! Compressed audio through symphonia: MP3, Ogg Vorbis, and MP4/M4A holding AAC or
//! ALAC (what phones, dictaphones and Apple devices write).
//!
//! The rules are FLAC's (`flac.rs`): every packet must start where the previous one
//! ended, any decode failure ends the stream with an error, and a stream that stops
//! before the length its container declares is reported as truncated. Symphonia's
//! readers resynchronise over damaged data on their own; here a damaged file is
//! reported, never played with holes in it.
//!
//! MP3 and Ogg are read front to back, from files and pipes alike. An MP4 file is
//! opened again by its path so that its reader may seek (the index, `moov`, is often
//! at the end of the file); from a pipe only an MP4 whose index comes first can be
//! read, and any other gets an error saying so.
//!
//! Opus is not read: no maintained pure-Rust Opus decoder exists (symphonia has none,
//! and the crates that decode Opus bind libopus, a C library this project does not
//! build), so an Ogg Opus file gets "unsupported audio encoding".

use std::io::ErrorKind;

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::default::formats::{IsoMp4Reader, MpaReader, OggReader};

use super::{AudioReader, AudioSpec, ChannelsText, Ctx, DecodeError, Input, Packets};

/// The containers this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// MPEG audio frames (MP3), possibly after an ID3 tag.
    Mpeg,
    Ogg,
    /// ISO base media: MP4, M4A.
    Mp4,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mpeg => "MPEG audio",
            Kind::Ogg => "Ogg",
            Kind::Mp4 => "MP4",
        }
    }
}

pub(super) struct Compressed {
    format: Box<dyn FormatReader + 'static>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    name: String,
    spec: AudioSpec,
    /// Frames the container declares, when it does (for truncation checks).
    expected: Option<u64>,
    /// Where the next packet must start (in the track's time base), once known.
    next_pts: Option<i64>,
    /// Frames decoded so far.
    decoded: u64,
    packets: Packets,
    description: String,
}

/// Opens `src` (positioned at the container's first byte) as `kind`.
pub(super) fn open(src: Input, kind: Kind, ctx: &Ctx) -> Result<Compressed, DecodeError> {
    let source: Box<dyn MediaSource> = match (kind, &ctx.path) {
        // The MP4 index may be at the end: a regular file is read again with seeking.
        (Kind::Mp4, Some(path)) if ctx.file_len.is_some() => {
            Box::new(std::fs::File::open(path).map_err(|err| DecodeError::Open {
                name: ctx.name.clone(),
                err,
            })?)
        }
        _ => Box::new(ReadOnlySource::new(src)),
    };
    let mss = MediaSourceStream::new(source, Default::default());
    let opts = FormatOptions::default();
    let format: Box<dyn FormatReader> = match kind {
        Kind::Mpeg => MpaReader::try_new(mss, opts).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Kind::Ogg => OggReader::try_new(mss, opts).map(|r| Box::new(r) as Box<dyn FormatReader>),
        Kind::Mp4 => IsoMp4Reader::try_new(mss, opts).map(|r| Box::new(r) as Box<dyn FormatReader>),
    }
    .map_err(|err| header_error(ctx, kind, err))?;
    let Some(track) = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.as_ref().and_then(|p| p.audio()).is_some())
    else {
        return Err(DecodeError::NoAudioTrack {
            name: ctx.name.clone(),
            container: kind.name(),
        });
    };
    let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()) else {
        return Err(ctx.bad_header("no audio codec parameters"));
    };
    let channels = params.channels.as_ref().map_or(0, |c| c.count());
    let spec = ctx.check_spec(
        params.sample_rate.unwrap_or(0),
        u32::try_from(channels).unwrap_or(u32::MAX),
    )?;
    if params.codec == CODEC_ID_OPUS {
        return Err(ctx.unsupported(
            "Opus: no maintained pure-Rust decoder exists; convert it to FLAC or WAV",
        ));
    }
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|err| header_error(ctx, kind, err))?;
    let codec = decoder.codec_info().short_name.to_ascii_uppercase();
    let description = format!(
        "{} {codec} {} Hz {}",
        kind.name(),
        spec.sample_rate,
        ChannelsText(spec.channels)
    );
    let track_id = track.id;
    let expected = track.num_frames.filter(|&n| n > 0);
    Ok(Compressed {
        format,
        decoder,
        track_id,
        name: ctx.name.clone(),
        spec,
        expected,
        next_pts: None,
        decoded: 0,
        packets: Packets::new(spec.channels),
        description,
    })
}

fn header_error(ctx: &Ctx, kind: Kind, err: SymphoniaError) -> DecodeError {
    match err {
        SymphoniaError::Unsupported(what) if kind == Kind::Mp4 && what.contains("moov") => {
            if ctx.file_len.is_none() {
                ctx.unsupported(
                    "an MP4 whose index (moov) follows its audio cannot be read from a pipe; \
                     give the file's path instead",
                )
            } else {
                ctx.bad_header("no MP4 index (moov): the file was cut short or never finished")
            }
        }
        SymphoniaError::IoError(err) if err.kind() == ErrorKind::UnexpectedEof => {
            if kind == Kind::Mp4 && ctx.file_len.is_none() {
                // The index was not found before the end of what a pipe can give.
                ctx.unsupported(
                    "an MP4 whose index (moov) follows its audio cannot be read from a pipe; \
                     give the file's path instead",
                )
            } else {
                ctx.bad_header(format!("ends inside the {} header", kind.name()))
            }
        }
        SymphoniaError::IoError(err) => ctx.read_error(err),
        SymphoniaError::Unsupported(what) => ctx.unsupported(what),
        SymphoniaError::DecodeError(what) | SymphoniaError::LimitError(what) => {
            ctx.bad_header(what)
        }
        other => ctx.bad_header(other.to_string()),
    }
}

impl Compressed {
    fn corrupt(&self, detail: impl Into<String>) -> DecodeError {
        DecodeError::Corrupt {
            name: self.name.clone(),
            frame: self.decoded,
            detail: detail.into(),
        }
    }

    fn truncated_or_corrupt(&self, detail: &str) -> DecodeError {
        match self.expected {
            Some(expected) => DecodeError::Truncated {
                name: self.name.clone(),
                frames: self.decoded,
                expected,
            },
            None => self.corrupt(detail),
        }
    }

    fn stream_error(&self, err: SymphoniaError) -> DecodeError {
        match err {
            SymphoniaError::IoError(err) if err.kind() == ErrorKind::UnexpectedEof => {
                self.truncated_or_corrupt("stream ends inside a packet")
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
                    // Containers count their frames with the encoder's delay and
                    // padding, which decoding may leave out: a packet's worth of slack.
                    let slack = out.len() as u64 / u64::from(self.spec.channels) + 4096;
                    if let Some(expected) = self.expected
                        && self.decoded + slack < expected
                    {
                        return Err(self.truncated_or_corrupt("stream ends early"));
                    }
                    return Ok(false);
                }
                Err(err) => return Err(self.stream_error(err)),
            }
        };
        let pts = packet.pts.get();
        // Before time 0 lie the encoder's priming packets (Vorbis, AAC), whose
        // timestamps containers set loosely; from 0 on, every packet must follow on.
        if let Some(expected) = self.next_pts
            && expected >= 0
            && pts != expected
        {
            return Err(self.corrupt(format!(
                "a packet starts at {pts} where {expected} was due: packets in between are \
                 missing or damaged"
            )));
        }
        self.next_pts = Some(pts.saturating_add_unsigned(packet.dur.get()));
        let decoded = match self.decoder.decode(&packet) {
            Ok(decoded) => decoded,
            Err(err) => return Err(self.stream_error(err)),
        };
        let channels = decoded.spec().channels().count();
        if channels != usize::from(self.spec.channels) {
            let detail = format!(
                "a packet has {channels} channels, the stream {}",
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

impl AudioReader for Compressed {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn total_frames(&self) -> Option<u64> {
        self.expected
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
