//! MP4 clips cut from the recordings: a camera's span of time, or a cycle with the
//! configured pre- and post-roll.
//!
//! A clip begins at the last key picture at or before the asked start (so it decodes)
//! and its edit list shows from the asked start; it holds every picture in decode order
//! up to the last one presented at or before the asked end. A gap in the recording (the
//! camera was down) shows as its last picture held. Clips longer than `max_clip_s` are
//! refused before anything is read.

use std::path::{Path, PathBuf};

use sheetsight_base::time::UnixMillis;
use sheetsight_config::{Config, RecordingConfig};
use sheetsight_media::clip_mp4::{self, ClipSample, ShowSpan, append_sample};
use sheetsight_media::codec_config::{ConfigError, codec_config};
use sheetsight_media::h264::split_annex_b;
use sheetsight_media::segment::{self, FrameEntry, SegmentReader, VideoCodec};
use sheetsight_store::recordings::SegmentRecord;
use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{CycleRecord, StoreError};

/// Bytes of pictures one clip may hold (about 35 minutes at 4 Mbit/s).
pub const MAX_CLIP_BYTES: usize = 1 << 30;

/// Why a clip cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("the clip's end ({to}) is not after its start ({from})")]
    EmptySpan { from: String, to: String },
    #[error("a clip of {asked_s:.0} s is longer than the limit of {limit_s} s (recording.max_clip_s)")]
    TooLong { asked_s: f64, limit_s: u32 },
    #[error("camera `{camera}` has no video from {from} to {to}; {recorded}")]
    NotRecorded { camera: String, from: String, to: String, recorded: String },
    #[error("no cycle {0}")]
    UnknownCycle(i64),
    #[error("cycle {cycle} is of machine `{machine}`, which the configuration no longer has")]
    UnknownMachine { cycle: i64, machine: String },
    /// `file` is relative to the recordings folder.
    #[error("the recording file {file} is gone (deleted outside SheetSight?)")]
    FileMissing { file: String },
    #[error("the recording file {file} cannot be read: {reason}")]
    Damaged { file: String, reason: String },
    #[error("the recording cannot be cut into an MP4 file: {0}")]
    Mp4(String),
    #[error("the pictures of this span add up to more than {} MiB", MAX_CLIP_BYTES >> 20)]
    TooLarge,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A clip, ready to serve or save.
#[derive(Debug)]
pub struct Clip {
    pub camera: String,
    pub bytes: Vec<u8>,
    /// What the clip shows (the asked span, cut to what is recorded).
    pub from: UnixMillis,
    pub to: UnixMillis,
    pub codec: VideoCodec,
    pub width_px: u32,
    pub height_px: u32,
    pub pictures: usize,
}

/// Makes clips from one data folder's recordings.
#[derive(Clone)]
pub struct ClipMaker {
    store: SqliteStore,
    dir: PathBuf,
    limits: RecordingConfig,
}

impl ClipMaker {
    pub fn new(store: SqliteStore, data_dir: &Path, limits: RecordingConfig) -> Self {
        Self { store, dir: crate::recordings_dir(data_dir), limits }
    }

    /// The clip of `camera` from `from` to `to`.
    pub async fn camera_clip(&self, camera: &str, from: UnixMillis, to: UnixMillis) -> Result<Clip, ClipError> {
        if to <= from {
            return Err(ClipError::EmptySpan { from: from.rfc3339(), to: to.rfc3339() });
        }
        let asked_s = (to.0 - from.0) as f64 / 1000.0;
        if asked_s > f64::from(self.limits.max_clip_s) {
            return Err(ClipError::TooLong { asked_s, limit_s: self.limits.max_clip_s });
        }
        let segments = self.store.segments(camera, from, to).await?;
        if segments.is_empty() {
            return Err(self.not_recorded(camera, from, to).await);
        }
        let dir = self.dir.clone();
        let (from_us, to_us) = (from.0 * 1_000, to.0 * 1_000 + 999);
        let cut = tokio::task::spawn_blocking(move || cut(&dir, &segments, from_us, to_us))
            .await
            .map_err(|e| ClipError::Mp4(format!("the clip task failed: {e}")))?;
        match cut {
            Ok(Some(clip)) => Ok(Clip { camera: camera.to_string(), ..clip }),
            Ok(None) => Err(self.not_recorded(camera, from, to).await),
            Err(e) => Err(e),
        }
    }

    /// The clip of a stored cycle, with pre- and post-roll, from the camera of its machine.
    pub async fn cycle_clip(&self, config: &Config, cycle: i64) -> Result<Clip, ClipError> {
        let record = self.store.cycle(cycle).await?.ok_or(ClipError::UnknownCycle(cycle))?;
        let machine = config
            .machines
            .iter()
            .find(|m| m.id == record.machine)
            .ok_or_else(|| ClipError::UnknownMachine { cycle, machine: record.machine.clone() })?;
        let (from, to) = self.cycle_span(&record);
        self.camera_clip(&machine.camera, from, to).await
    }

    /// The span a cycle's clip shows: the cycle with the configured pre- and post-roll.
    pub fn cycle_span(&self, cycle: &CycleRecord) -> (UnixMillis, UnixMillis) {
        (
            cycle.start.plus_ms(-i64::from(self.limits.pre_roll_s) * 1_000),
            cycle.end.plus_ms(i64::from(self.limits.post_roll_s) * 1_000),
        )
    }

    async fn not_recorded(&self, camera: &str, from: UnixMillis, to: UnixMillis) -> ClipError {
        let recorded = match self.store.recorded_span(camera).await {
            Ok(Some((first, last))) => format!("it has video from {} to {}", first.rfc3339(), last.rfc3339()),
            Ok(None) => "it has no video at all".to_string(),
            Err(e) => return e.into(),
        };
        ClipError::NotRecorded { camera: camera.to_string(), from: from.rfc3339(), to: to.rfc3339(), recorded }
    }
}

/// Reads the pictures of `[from_us, to_us]` from `segments` (oldest first) and writes
/// the clip; `None` when no picture falls in the span.
fn cut(dir: &Path, segments: &[SegmentRecord], from_us: i64, to_us: i64) -> Result<Option<Clip>, ClipError> {
    let mut frames: Vec<(usize, FrameEntry)> = Vec::new();
    // Each file's codec, as its own header says.
    let mut codecs: Vec<VideoCodec> = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let path = dir.join(&s.file);
        if !path.exists() {
            return Err(ClipError::FileMissing { file: s.file.clone() });
        }
        let scan = segment::scan(&path, false).map_err(damaged(&path))?;
        codecs.push(scan.codec);
        frames.extend(scan.frames.into_iter().map(|f| (i, f)));
    }
    let Some(last) = frames.iter().rposition(|(_, f)| f.pts_us <= to_us) else { return Ok(None) };
    let first = frames[..=last].iter().rposition(|(_, f)| f.key && f.pts_us <= from_us).unwrap_or(0);
    if !frames[first].1.key || frames[last].1.pts_us < from_us {
        return Ok(None);
    }
    let mut readers: Vec<Option<SegmentReader>> = segments.iter().map(|_| None).collect();
    let mut picture = Vec::new();
    let mut payload = Vec::new();
    let mut samples = Vec::with_capacity(last + 1 - first);
    let mut config = None;
    for &(seg, entry) in &frames[first..=last] {
        let file = dir.join(&segments[seg].file);
        let reader = match &mut readers[seg] {
            Some(r) => r,
            slot => slot.insert(SegmentReader::open(&file).map_err(damaged(&file))?),
        };
        picture.clear();
        reader.read_into(&entry, &mut picture).map_err(damaged(&file))?;
        let codec = codecs[seg];
        if entry.key {
            let nals = split_annex_b(&picture);
            let this = codec_config(codec, &nals).map_err(|e: ConfigError| ClipError::Mp4(e.to_string()))?;
            match &config {
                None => config = Some(this),
                // The camera changed its format: the clip ends before the change.
                Some(c) if c.parameter_sets != this.parameter_sets || c.codec != this.codec => break,
                Some(_) => {}
            }
        }
        let size = append_sample(codec, &picture, &mut payload);
        if payload.len() > MAX_CLIP_BYTES {
            return Err(ClipError::TooLarge);
        }
        samples.push(ClipSample { pts_us: entry.pts_us, key: entry.key, size });
    }
    let Some(config) = config else { return Ok(None) };
    let mp4 = clip_mp4::write_mp4(&config, &samples, &payload, ShowSpan { from_us, to_us })
        .map_err(|e| ClipError::Mp4(e.to_string()))?;
    Ok(Some(Clip {
        camera: String::new(),
        bytes: mp4.bytes,
        from: UnixMillis(mp4.shown.from_us.div_euclid(1_000)),
        to: UnixMillis(mp4.shown.to_us.div_euclid(1_000)),
        codec: config.codec,
        width_px: config.width_px,
        height_px: config.height_px,
        pictures: samples.len(),
    }))
}

fn damaged(path: &Path) -> impl FnOnce(sheetsight_media::MediaError) -> ClipError + '_ {
    move |e| ClipError::Damaged { file: path.display().to_string(), reason: e.to_string() }
}
