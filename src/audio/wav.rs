//! Writing 16-bit PCM WAV incrementally, so that a crash keeps what was captured.
//!
//! A WAV file states its length twice in its header (the RIFF size and the data chunk
//! size). A writer that only fills them in when it finishes leaves a file that says
//! "empty" after a crash, though every sample is on disk. [`WavAppender`] appends
//! samples as they come and rewrites the two sizes in place whenever it is synced
//! (the session writer does that about once a second), so after `kill -9` the header is
//! at most a second behind the data. [`repair_header`] then makes the header match the
//! data that is really there; `emotty sessions` runs it on interrupted sessions.
//!
//! Only canonical 44-byte-header PCM files are written; the repair accepts any
//! RIFF/WAVE file whose `data` chunk comes last, which is what every streaming writer
//! produces.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes before the samples in the files written here.
const HEADER_LEN: u64 = 44;

/// The largest data chunk a RIFF size field can describe, in bytes.
const RIFF_MAX: u64 = u32::MAX as u64 - (HEADER_LEN - 8);

/// Appends interleaved samples to a 16-bit PCM WAV file.
#[derive(Debug)]
pub struct WavAppender {
    file: File,
    channels: u16,
    sample_rate: u32,
    data_bytes: u64,
    limit_bytes: u64,
}

impl WavAppender {
    /// Starts a WAV at the beginning of `file` (which must be open for writing, not in
    /// append mode: the header is rewritten in place).
    pub fn new(mut file: File, sample_rate: u32, channels: u16) -> io::Result<WavAppender> {
        if channels == 0 || sample_rate == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a WAV file needs at least one channel and a sample rate",
            ));
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header(sample_rate, channels, 0))?;
        let block = u64::from(channels) * 2;
        Ok(WavAppender {
            file,
            channels,
            sample_rate,
            data_bytes: 0,
            limit_bytes: RIFF_MAX / block * block,
        })
    }

    /// Lowers the size at which [`WavAppender::room_frames`] reports the file full
    /// (tests use it to exercise the change to a new file without writing 4 GB).
    pub fn with_limit_bytes(mut self, limit: u64) -> WavAppender {
        let block = u64::from(self.channels) * 2;
        self.limit_bytes = (limit.min(RIFF_MAX) / block * block).max(block);
        self
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.data_bytes / (u64::from(self.channels) * 2)
    }

    /// Frames that still fit before the header's 4 GiB limit.
    pub fn room_frames(&self) -> u64 {
        (self.limit_bytes - self.data_bytes) / (u64::from(self.channels) * 2)
    }

    /// Appends whole frames of interleaved `f32` samples (clamped to ±1).
    pub fn append(&mut self, samples: &[f32]) -> io::Result<()> {
        let channels = usize::from(self.channels);
        if !samples.len().is_multiple_of(channels) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "samples must hold whole frames",
            ));
        }
        let bytes = samples.len() as u64 * 2;
        if bytes > self.limit_bytes - self.data_bytes {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "a WAV file cannot hold more than 4 GiB",
            ));
        }
        let mut buf = Vec::with_capacity(samples.len() * 2);
        encode_i16(samples, &mut buf);
        // Count only what surely landed: a short write (full disk) leaves the header
        // describing the frames before it.
        self.file.write_all(&buf)?;
        self.data_bytes += bytes;
        Ok(())
    }

    /// Rewrites the header's sizes to cover everything appended so far.
    pub fn update_header(&mut self) -> io::Result<()> {
        let data = self.data_bytes as u32;
        let riff = (self.data_bytes + HEADER_LEN - 8) as u32;
        write_at(&mut self.file, 4, &riff.to_le_bytes())?;
        write_at(&mut self.file, 40, &data.to_le_bytes())
    }

    /// Updates the header and makes data and header durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.update_header()?;
        self.file.sync_data()
    }

    /// Finalises the header, fsyncs, and hands the file back.
    pub fn finish(mut self) -> io::Result<File> {
        self.update_header()?;
        self.file.sync_all()?;
        Ok(self.file)
    }
}

/// Writes the whole of `samples` as a 16-bit WAV into `file`.
pub fn write_i16(file: File, sample_rate: u32, channels: u16, samples: &[f32]) -> io::Result<()> {
    let mut wav = WavAppender::new(file, sample_rate, channels)?;
    // In blocks, so a long clip does not need a second full-size buffer.
    let block = usize::from(channels) * 65536;
    for piece in samples.chunks(block) {
        wav.append(piece)?;
    }
    wav.finish().map(|_| ())
}

/// Converts to little-endian signed 16-bit, rounding and clamping.
pub fn encode_i16(samples: &[f32], out: &mut Vec<u8>) {
    for &s in samples {
        // NaN becomes 0 through the saturating cast.
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn header(sample_rate: u32, channels: u16, data_bytes: u32) -> [u8; HEADER_LEN as usize] {
    let block_align = channels * 2;
    let byte_rate = sample_rate * u32::from(block_align);
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_bytes.saturating_add(36)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

fn write_at(file: &mut File, offset: u64, bytes: &[u8]) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(bytes, offset)
    }
    #[cfg(not(unix))]
    {
        let pos = file.stream_position()?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        file.seek(SeekFrom::Start(pos)).map(|_| ())
    }
}

/// What [`repair_header`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repair {
    /// Whether the header was rewritten.
    pub changed: bool,
    /// Whole frames of audio the file holds.
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Makes the sizes in a WAV header match the samples really in the file (whole frames
/// only; a torn last frame is left in place but not counted). Never truncates.
pub fn repair_header(path: &Path) -> io::Result<Repair> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut riff = [0u8; 12];
    file.read_exact(&mut riff)
        .map_err(|_| bad("too short to be a WAV file"))?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut pos = 12u64;
    let mut format: Option<(u16, u32, u16)> = None;
    loop {
        let mut chunk = [0u8; 8];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)
            .map_err(|_| bad("no data chunk"))?;
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        let body = pos + 8;
        if &chunk[0..4] == b"fmt " {
            let mut fmt = [0u8; 16];
            file.read_exact(&mut fmt)
                .map_err(|_| bad("truncated fmt chunk"))?;
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            let align = u16::from_le_bytes([fmt[12], fmt[13]]);
            if channels == 0 || align == 0 {
                return Err(bad("fmt chunk describes no audio"));
            }
            format = Some((channels, rate, align));
        } else if &chunk[0..4] == b"data" {
            let (channels, sample_rate, align) = format.ok_or_else(|| bad("data before fmt"))?;
            let align = u64::from(align);
            let present = len.saturating_sub(body).min(RIFF_MAX) / align * align;
            let riff_size = (body - 8 + present) as u32;
            let changed = size != present
                || u32::from_le_bytes([riff[4], riff[5], riff[6], riff[7]]) != riff_size;
            if changed {
                write_at(&mut file, pos + 4, &(present as u32).to_le_bytes())?;
                write_at(&mut file, 4, &riff_size.to_le_bytes())?;
                file.sync_data()?;
            }
            return Ok(Repair {
                changed,
                frames: present / align,
                sample_rate,
                channels,
            });
        }
        // Chunks are padded to an even length.
        pos = body + size + (size & 1);
        if pos >= len {
            return Err(bad("no data chunk"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_i16(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        let s = r.samples::<i16>().map(|s| s.unwrap()).collect();
        (spec, s)
    }

    #[test]
    fn a_finished_file_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let samples: Vec<f32> = (0..4800)
            .map(|i| ((i % 200) as f32 - 100.0) / 100.0)
            .collect();
        write_i16(File::create(&path).unwrap(), 48000, 2, &samples).unwrap();
        let (spec, got) = read_i16(&path);
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (48000, 2, 16)
        );
        let want: Vec<i16> = samples
            .iter()
            .map(|s| (s * 32767.0).round() as i16)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_unfinished_file_is_repaired_to_hold_every_whole_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crash.wav");
        let file = File::create(&path).unwrap();
        let mut wav = WavAppender::new(file, 16000, 2).unwrap();
        wav.append(&[0.5; 2000]).unwrap();
        wav.sync().unwrap();
        wav.append(&[-0.5; 1000]).unwrap();
        // Simulate kill -9: the header was synced after 1000 frames, 500 more followed,
        // and half a frame was being written.
        drop(wav);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[1, 2]).unwrap();
        drop(f);
        let (_, before) = read_i16(&path);
        assert_eq!(before.len(), 2000, "the stale header hides the tail");
        let r = repair_header(&path).unwrap();
        assert_eq!((r.changed, r.frames, r.channels), (true, 1500, 2));
        let (_, after) = read_i16(&path);
        assert_eq!(after.len(), 3000);
        assert_eq!(after[2999], -16384);
        // A second repair has nothing to do.
        assert!(!repair_header(&path).unwrap().changed);
    }

    #[test]
    fn garbage_is_refused_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"hello, this is not audio at all").unwrap();
        let err = repair_header(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"hello, this is not audio at all"
        );
    }

    #[test]
    fn the_size_limit_is_enforced_in_whole_frames() {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("l.wav")).unwrap();
        let mut wav = WavAppender::new(file, 8000, 2)
            .unwrap()
            .with_limit_bytes(41);
        assert_eq!(wav.room_frames(), 10);
        wav.append(&[0.0; 20]).unwrap();
        assert_eq!(wav.room_frames(), 0);
        assert!(wav.append(&[0.0; 2]).is_err());
        assert!(wav.append(&[0.0; 3]).is_err());
    }
}
