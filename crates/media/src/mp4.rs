//! MP4 files with H.264 video: reading (any profile, B-frames included) and writing.
//!
//! Samples are read in decode order, turned from length-prefixed (AVCC) into Annex B,
//! decoded, and handed out in presentation order with `t_s` measured from the first
//! presented frame. A sample that fails to decode is skipped and recorded; a sample that
//! cannot be read (a truncated file) ends the stream after the frames decoded so far,
//! with an error that names the sample and its byte offset.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use mp4::{AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Reader, Mp4Sample, Mp4Writer, TrackConfig, TrackType};

use crate::MediaError;
use sheetsight_base::error::with_causes;

use crate::bmff_check::BoxFault;
use crate::h264::{EncodedPicture, H264Decoder, PtsFrame};
use crate::source::{FrameSource, MediaIssue, StreamInfo, TimedFrame};

type Reader = Mp4Reader<BufReader<File>>;

struct VideoTrack {
    track_id: u32,
    timescale: u32,
    sample_count: u32,
    length_size: usize,
    parameter_sets: Vec<Vec<u8>>,
    info: StreamInfo,
}

fn container_error(path: &Path, reason: impl Into<String>) -> MediaError {
    MediaError::Container { path: path.to_path_buf(), reason: reason.into() }
}

fn open_reader(path: &Path) -> Result<(Reader, VideoTrack), MediaError> {
    let file = File::open(path).map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
    let file_size = file.metadata().map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?.len();
    // A file cut short (a recorder that lost power) still has its index at the front
    // when it was written for streaming; read it as if the file were whole, and let the
    // missing samples end the stream where they start.
    let mut file = file;
    let declared_size = crate::bmff_check::check(&mut file, file_size).map_err(|fault| match fault {
        BoxFault::Io(source) => MediaError::Io { path: path.to_path_buf(), source },
        BoxFault::Structure(reason) => container_error(path, reason),
    })?;
    let size = declared_size.max(file_size);
    // The mp4 crate is not hardened against every malformed box: a panic in it is a
    // damaged file, not a crash of the camera task.
    let reader = catch_unwind(AssertUnwindSafe(|| Mp4Reader::read_header(BufReader::new(file), size)))
        .map_err(|_| container_error(path, "malformed box structure"))?
        .map_err(|e| {
            container_error(
                path,
                format!("{e} (file size {file_size} bytes; a file cut short before its index cannot be read)"),
            )
        })?;
    let mut found = Vec::new();
    let mut video = None;
    for (&id, track) in reader.tracks() {
        let stsd = &track.trak.mdia.minf.stbl.stsd;
        if let Some(avc1) = &stsd.avc1 {
            video = Some((id, track, avc1.avcc.clone()));
            break;
        }
        if stsd.hev1.is_some() {
            found.push("H.265/HEVC video".to_string());
        } else if let Ok(kind) = track.track_type() {
            found.push(format!("{kind:?}").to_lowercase());
        }
    }
    let Some((track_id, track, avcc)) = video else {
        let found = if found.is_empty() { String::new() } else { format!(" (found: {})", found.join(", ")) };
        return Err(MediaError::NoVideo { path: path.to_path_buf(), found });
    };
    let timescale = track.timescale();
    if timescale == 0 {
        return Err(container_error(path, "video track has a timescale of 0"));
    }
    let sample_count = track.sample_count();
    let fps = track.frame_rate();
    let duration_s = track.duration().as_secs_f64();
    let mut parameter_sets: Vec<Vec<u8>> = avcc.sequence_parameter_sets.iter().map(|n| n.bytes.clone()).collect();
    parameter_sets.extend(avcc.picture_parameter_sets.iter().map(|n| n.bytes.clone()));
    let profile = match avcc.avc_profile_indication {
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 => "High 10",
        122 => "High 4:2:2",
        244 => "High 4:4:4",
        _ => "unknown profile",
    };
    let info = StreamInfo {
        width_px: u32::from(track.width()),
        height_px: u32::from(track.height()),
        fps: (fps.is_finite() && fps > 0.0).then_some(fps),
        frame_count: Some(u64::from(sample_count)),
        duration_s: Some(duration_s),
        codec: format!("H.264 {profile}"),
    };
    let video = VideoTrack {
        track_id,
        timescale,
        sample_count,
        length_size: usize::from(avcc.length_size_minus_one & 3) + 1,
        parameter_sets,
        info,
    };
    Ok((reader, video))
}

/// Reads an MP4 file's stream facts without decoding.
pub fn probe(path: &Path) -> Result<StreamInfo, MediaError> {
    open_reader(path).map(|(_, v)| v.info)
}

/// Why an AVCC sample's NAL units cannot all be taken.
#[derive(Debug, thiserror::Error)]
enum NalFault {
    #[error("NAL length field cut off at byte {at} of {sample_len}")]
    LengthCut { at: usize, sample_len: usize },
    #[error("NAL unit of {len} bytes at byte {at} overruns the {sample_len}-byte sample")]
    Overrun { len: usize, at: usize, sample_len: usize },
}

/// Converts one AVCC sample (length-prefixed NAL units) to Annex B.
fn avcc_to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), NalFault> {
    let mut i = 0;
    while i < sample.len() {
        if i + length_size > sample.len() {
            return Err(NalFault::LengthCut { at: i, sample_len: sample.len() });
        }
        let len = sample[i..i + length_size].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        i += length_size;
        if len == 0 || i + len > sample.len() {
            return Err(NalFault::Overrun { len, at: i, sample_len: sample.len() });
        }
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&sample[i..i + len]);
        i += len;
    }
    Ok(())
}

/// Frames of the H.264 track of an MP4 file.
pub struct Mp4Source {
    path: PathBuf,
    reader: Reader,
    video: VideoTrack,
    decoder: H264Decoder,
    next_sample: u32,
    ready: VecDeque<PtsFrame>,
    first_pts: Option<i64>,
    last_pts: Option<i64>,
    issues: Vec<MediaIssue>,
    finished: bool,
    pending_error: Option<MediaError>,
    annex_b: Vec<u8>,
}

impl Mp4Source {
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        let (reader, video) = open_reader(path)?;
        let mut decoder =
            H264Decoder::new().map_err(|e| MediaError::Decoder { path: path.to_path_buf(), source: Box::new(e) })?;
        let mut headers = Vec::new();
        for ps in &video.parameter_sets {
            headers.extend_from_slice(&[0, 0, 0, 1]);
            headers.extend_from_slice(ps);
        }
        let mut issues = Vec::new();
        if let Err(e) = decoder.configure(&headers) {
            issues
                .push(MediaIssue { at: "avcC".into(), what: format!("parameter sets rejected: {}", with_causes(&e)) });
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            video,
            decoder,
            next_sample: 1,
            ready: VecDeque::new(),
            first_pts: None,
            last_pts: None,
            issues,
            finished: false,
            pending_error: None,
            annex_b: Vec::new(),
        })
    }

    fn read_next_sample(&mut self) {
        if self.next_sample > self.video.sample_count {
            self.ready.extend(self.decoder.flush());
            self.finished = true;
            return;
        }
        let n = self.next_sample;
        self.next_sample += 1;
        let read = catch_unwind(AssertUnwindSafe(|| self.reader.read_sample(self.video.track_id, n)));
        let sample = match read {
            Ok(Ok(Some(s))) => s,
            other => {
                let reason = match other {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(None)) => "sample missing".into(),
                    _ => "malformed sample table".into(),
                };
                let offset = self.sample_offset(n);
                self.pending_error = Some(container_error(
                    &self.path,
                    format!(
                        "broke at sample {n} of {}{offset}: {reason}; the {} frames before it were decoded",
                        self.video.sample_count,
                        n - 1
                    ),
                ));
                self.ready.extend(self.decoder.flush());
                self.finished = true;
                return;
            }
        };
        let pts = sample.start_time as i64 + i64::from(sample.rendering_offset);
        self.annex_b.clear();
        if let Err(e) = avcc_to_annex_b(&sample.bytes, self.video.length_size, &mut self.annex_b) {
            self.issues.push(MediaIssue { at: format!("sample {n}"), what: e.to_string() });
            if self.annex_b.is_empty() {
                return;
            }
        }
        match self.decoder.decode(&self.annex_b, pts) {
            Ok(frames) => self.ready.extend(frames),
            Err(e) => self.issues.push(MediaIssue {
                at: format!("sample {n} (t = {:.3} s)", pts as f64 / f64::from(self.video.timescale)),
                what: format!("H.264 decode error: {}", with_causes(&e)),
            }),
        }
    }

    fn sample_offset(&self, n: u32) -> String {
        let stbl = self.reader.tracks().get(&self.video.track_id).map(|t| &t.trak.mdia.minf.stbl);
        let Some(stbl) = stbl else { return String::new() };
        // Offset of the chunk that holds the sample (good enough to locate the damage).
        let stsc = &stbl.stsc.entries;
        let mut chunk = 1u32;
        let mut first_sample = 1u32;
        for (k, e) in stsc.iter().enumerate() {
            let next_first_chunk = stsc.get(k + 1).map_or(u32::MAX, |x| x.first_chunk);
            let chunks = next_first_chunk.saturating_sub(e.first_chunk);
            let samples = u64::from(chunks) * u64::from(e.samples_per_chunk);
            if u64::from(n.saturating_sub(first_sample)) < samples {
                chunk = e.first_chunk.saturating_add(n.saturating_sub(first_sample) / e.samples_per_chunk.max(1));
                break;
            }
            first_sample = first_sample.saturating_add(samples.min(u64::from(u32::MAX)) as u32);
        }
        let index = (chunk as usize).checked_sub(1);
        let offset = index.and_then(|i| {
            stbl.stco
                .as_ref()
                .and_then(|b| b.entries.get(i).map(|&o| u64::from(o)))
                .or_else(|| stbl.co64.as_ref().and_then(|b| b.entries.get(i).copied()))
        });
        offset.map_or(String::new(), |o| format!(" (chunk at byte {o})"))
    }
}

impl FrameSource for Mp4Source {
    fn info(&self) -> &StreamInfo {
        &self.video.info
    }

    fn next_frame(&mut self) -> Result<Option<TimedFrame>, MediaError> {
        loop {
            if let Some((pts, frame)) = self.ready.pop_front() {
                if self.last_pts.is_some_and(|last| pts <= last) {
                    self.issues.push(MediaIssue {
                        at: format!("t = {:.3} s", pts as f64 / f64::from(self.video.timescale)),
                        what: "frame out of presentation order, dropped".into(),
                    });
                    continue;
                }
                self.last_pts = Some(pts);
                let first = *self.first_pts.get_or_insert(pts);
                let t_s = (pts - first) as f64 / f64::from(self.video.timescale);
                return Ok(Some(TimedFrame { t_s, frame }));
            }
            if self.finished {
                return match self.pending_error.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            self.read_next_sample();
        }
    }

    fn issues(&self) -> &[MediaIssue] {
        &self.issues
    }
}

/// Writes encoded H.264 pictures into an MP4 file (one video track, constant rate).
pub struct Mp4H264Writer {
    path: PathBuf,
    writer: Option<Mp4Writer<BufWriter<File>>>,
    width_px: u32,
    height_px: u32,
    timescale: u32,
    frame_duration: u32,
    frames_written: u64,
    pending: Vec<EncodedPicture>,
}

impl Mp4H264Writer {
    /// `fps` must be a whole or simple rate; the timescale is fps * 1000.
    pub fn create(path: &Path, width_px: u32, height_px: u32, fps: f64) -> Result<Self, MediaError> {
        if !(fps > 0.0 && fps <= 240.0) {
            return Err(MediaError::Write {
                path: path.to_path_buf(),
                reason: format!("frame rate {fps} out of range"),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            writer: None,
            width_px,
            height_px,
            timescale: (fps * 1000.0).round() as u32,
            frame_duration: 1000,
            frames_written: 0,
            pending: Vec::new(),
        })
    }

    fn write_error(&self, e: impl std::fmt::Display) -> MediaError {
        MediaError::Write { path: self.path.clone(), reason: e.to_string() }
    }

    fn start(&mut self, sps: &[u8], pps: &[u8]) -> Result<(), MediaError> {
        let file = File::create(&self.path).map_err(|source| MediaError::Io { path: self.path.clone(), source })?;
        let config = Mp4Config {
            major_brand: FourCC::from(*b"isom"),
            minor_version: 512,
            compatible_brands: vec![
                FourCC::from(*b"isom"),
                FourCC::from(*b"iso2"),
                FourCC::from(*b"avc1"),
                FourCC::from(*b"mp41"),
            ],
            timescale: 1000,
        };
        let mut writer = Mp4Writer::write_start(BufWriter::new(file), &config).map_err(|e| self.write_error(e))?;
        let track = TrackConfig {
            track_type: TrackType::Video,
            timescale: self.timescale,
            language: "und".into(),
            media_conf: MediaConfig::AvcConfig(AvcConfig {
                width: self.width_px as u16,
                height: self.height_px as u16,
                seq_param_set: sps.to_vec(),
                pic_param_set: pps.to_vec(),
            }),
        };
        writer.add_track(&track).map_err(|e| self.write_error(e))?;
        self.writer = Some(writer);
        Ok(())
    }

    /// Appends one picture (in presentation order; the writer writes no B-frames).
    pub fn write(&mut self, picture: EncodedPicture) -> Result<(), MediaError> {
        if self.writer.is_none() {
            let sps = picture.nal_units.iter().find(|n| n.first().is_some_and(|b| b & 0x1f == 7)).cloned();
            let pps = picture.nal_units.iter().find(|n| n.first().is_some_and(|b| b & 0x1f == 8)).cloned();
            match (sps, pps) {
                (Some(sps), Some(pps)) => self.start(&sps, &pps)?,
                _ => {
                    // The encoder sends parameter sets with the first IDR picture.
                    self.pending.push(picture);
                    return Ok(());
                }
            }
            for p in std::mem::take(&mut self.pending) {
                self.write_sample(p)?;
            }
        }
        self.write_sample(picture)
    }

    fn write_sample(&mut self, picture: EncodedPicture) -> Result<(), MediaError> {
        let mut bytes = Vec::new();
        for nal in picture.nal_units.iter().filter(|n| n.first().is_some_and(|b| !matches!(b & 0x1f, 7 | 8))) {
            bytes.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            bytes.extend_from_slice(nal);
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let sample = Mp4Sample {
            start_time: self.frames_written * u64::from(self.frame_duration),
            duration: self.frame_duration,
            rendering_offset: 0,
            is_sync: picture.is_idr,
            bytes: bytes.into(),
        };
        let result = self.writer.as_mut().map(|w| w.write_sample(1, &sample));
        match result {
            Some(Ok(())) => {
                self.frames_written += 1;
                Ok(())
            }
            Some(Err(e)) => Err(self.write_error(e)),
            None => Err(self.write_error("no parameter sets seen yet")),
        }
    }

    /// Writes the index and closes the file.
    pub fn finish(mut self) -> Result<(), MediaError> {
        let Some(mut writer) = self.writer.take() else {
            return Err(self.write_error("no picture was written"));
        };
        writer.write_end().map_err(|e| self.write_error(e))?;
        use std::io::Write;
        writer.into_writer().flush().map_err(|e| self.write_error(e))
    }
}
