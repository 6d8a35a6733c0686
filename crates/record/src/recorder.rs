//! One recording thread per camera. The camera's supervisor hands it every packet
//! through a bounded queue that never blocks ([`RecorderTap`]): if the disk is slower
//! than the camera, pictures are dropped and the segment ends, and the next one starts at
//! a key picture, so every file decodes from its start.
//!
//! A segment ends at the first key picture after `segment_s`, when the stream breaks
//! (reconnection), when its time jumps (the camera's clock was re-anchored), when the
//! codec or parameter sets change, and when a write fails. After a failed write the
//! recorder waits [`RETRY_AFTER`] before it opens a new file; analysis and the other
//! cameras never wait for it.
//!
//! What is written is handed to the operating system every half second ([`FLUSH_EVERY`]),
//! so a killed process loses at most that and what waits in the queue; a closed segment is also synced to disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sheetsight_base::LockOrRecover;
use sheetsight_base::time::UnixMillis;
use sheetsight_ingest::tap::PacketTap;
use sheetsight_ingest::{Packet, Payload};
use sheetsight_media::codec_config::{NalRole, nal_role};
use sheetsight_media::h264::split_annex_b;
use sheetsight_media::segment::{SegmentWriter, VideoCodec};
use sheetsight_store::recordings::SegmentRecord;

use crate::SEGMENT_EXTENSION;

/// Pictures waiting for the disk; about 5 s of a 25 fps camera.
const QUEUE_PICTURES: usize = 128;
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
pub const RETRY_AFTER: Duration = Duration::from_secs(10);
/// A jump of the stream's clock larger than this (either way) starts a new segment.
const MAX_TIME_JUMP_US: i64 = 5_000_000;

enum Message {
    Picture { pts_us: i64, codec: VideoCodec, key: bool, data: Bytes, after_loss: bool },
    Broken,
}

/// What a recorder tells the catalogue.
#[derive(Debug)]
pub enum CatalogUpdate {
    /// A segment's state: new, grown or closed (`open == false`).
    Segment(SegmentRecord),
    /// Writing failed (`Some`) or works again (`None`).
    Failure { camera: String, error: Option<String> },
}

/// Counters of one camera's recording.
#[derive(Debug, Default)]
pub struct RecorderStats {
    pub pictures_written: AtomicU64,
    pub bytes_written: AtomicU64,
    /// Pictures dropped because the queue was full (the disk was too slow).
    pub pictures_dropped: AtomicU64,
    /// Pictures not written while waiting for a key picture or after a failure.
    pub pictures_skipped: AtomicU64,
    pub segments_written: AtomicU64,
    pub write_failures: AtomicU64,
    /// The last write error, until a write works again.
    pub failing: Mutex<Option<String>>,
}

/// The supervisor's side: never blocks, counts what it drops.
pub struct RecorderTap {
    tx: SyncSender<Message>,
    lost: AtomicBool,
    stats: Arc<RecorderStats>,
}

impl PacketTap for RecorderTap {
    fn packet(&self, packet: &Packet) {
        let (codec, key, data) = match &packet.payload {
            Payload::H264 { annex_b, key } => (VideoCodec::H264, *key, annex_b),
            Payload::H265 { annex_b, key } => (VideoCodec::H265, *key, annex_b),
            Payload::Jpeg(_) | Payload::Raw(_) => return,
        };
        let after_loss = self.lost.swap(false, Ordering::Relaxed);
        let pts_us = (packet.t_s * 1e6).round() as i64;
        let message = Message::Picture { pts_us, codec, key, data: data.clone(), after_loss };
        match self.tx.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.lost.store(true, Ordering::Relaxed);
                self.stats.pictures_dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn broken(&self) {
        if self.tx.try_send(Message::Broken).is_err() {
            self.lost.store(true, Ordering::Relaxed);
        }
    }
}

/// A running recorder thread.
pub struct Recorder {
    pub camera: String,
    pub tap: Arc<RecorderTap>,
    pub stats: Arc<RecorderStats>,
    thread: std::thread::JoinHandle<()>,
}

impl Recorder {
    /// Starts recording `camera` into `dir/<camera>/`; updates go to `catalog`.
    pub fn spawn(
        camera: &str,
        dir: &Path,
        segment_s: u32,
        catalog: tokio::sync::mpsc::UnboundedSender<CatalogUpdate>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_PICTURES);
        let stats = Arc::new(RecorderStats::default());
        let tap = Arc::new(RecorderTap { tx, lost: AtomicBool::new(false), stats: stats.clone() });
        let writer = SegmentLoop {
            camera: camera.to_string(),
            dir: dir.join(camera),
            segment_us: i64::from(segment_s) * 1_000_000,
            catalog,
            stats: stats.clone(),
            open: None,
            retry_at: None,
        };
        let thread = std::thread::Builder::new().name(format!("rec-{camera}")).spawn(move || writer.run(rx))?;
        Ok(Self { camera: camera.to_string(), tap, stats, thread })
    }

    /// Waits for the thread, which ends (closing its segment) once every tap is dropped.
    pub fn join(self) {
        drop(self.tap);
        if self.thread.join().is_err() {
            tracing::error!(camera = %self.camera, "recorder thread panicked");
        }
    }
}

struct OpenSegment {
    writer: SegmentWriter,
    record: SegmentRecord,
    start_us: i64,
    last_pts_us: i64,
    codec: VideoCodec,
    parameter_sets: Vec<Vec<u8>>,
    flushed_at: Instant,
}

struct SegmentLoop {
    camera: String,
    dir: PathBuf,
    segment_us: i64,
    catalog: tokio::sync::mpsc::UnboundedSender<CatalogUpdate>,
    stats: Arc<RecorderStats>,
    open: Option<OpenSegment>,
    retry_at: Option<Instant>,
}

fn parameter_sets(codec: VideoCodec, annex_b: &[u8]) -> Vec<Vec<u8>> {
    split_annex_b(annex_b)
        .into_iter()
        .filter(|n| nal_role(codec, n) == NalRole::ParameterSet)
        .map(<[u8]>::to_vec)
        .collect()
}

impl SegmentLoop {
    fn run(mut self, rx: Receiver<Message>) {
        loop {
            match rx.recv_timeout(FLUSH_EVERY) {
                Ok(Message::Picture { pts_us, codec, key, data, after_loss }) => {
                    if after_loss {
                        self.close("pictures were dropped");
                    }
                    self.picture(pts_us, codec, key, &data);
                }
                Ok(Message::Broken) => self.close("the stream broke"),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            self.flush_if_due();
        }
        self.close("recording stopped");
    }

    fn picture(&mut self, pts_us: i64, codec: VideoCodec, key: bool, data: &[u8]) {
        if let Some(open) = &self.open {
            let jumped = (pts_us - open.last_pts_us).abs() > MAX_TIME_JUMP_US;
            let due = key && pts_us - open.start_us >= self.segment_us;
            let changed = open.codec != codec || (key && parameter_sets(codec, data) != open.parameter_sets);
            if jumped || changed {
                self.close(if jumped { "the stream's clock jumped" } else { "the stream's format changed" });
            } else if due {
                self.close("segment complete");
            }
        }
        if self.open.is_none() {
            if !key || self.retry_at.is_some_and(|t| Instant::now() < t) {
                self.stats.pictures_skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if let Err(e) = self.open_segment(pts_us, codec, data) {
                self.failed(format!("cannot create a recording file in {}: {e}", self.dir.display()));
                return;
            }
        }
        let Some(open) = &mut self.open else { return };
        match open.writer.append(pts_us, key, data) {
            Ok(()) => {
                open.last_pts_us = pts_us;
                self.stats.pictures_written.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes_written.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                let file = open.writer.path().display().to_string();
                self.failed(format!("cannot write {file}: {e}"));
            }
        }
    }

    fn open_segment(&mut self, pts_us: i64, codec: VideoCodec, key_picture: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let start = UnixMillis(pts_us.div_euclid(1_000));
        // Two segments of one millisecond (a reconnection) get a suffix.
        let mut name = format!("{}.{SEGMENT_EXTENSION}", start.0);
        let mut n = 1;
        while self.dir.join(&name).exists() {
            name = format!("{}-{n}.{SEGMENT_EXTENSION}", start.0);
            n += 1;
        }
        let writer = SegmentWriter::create(&self.dir.join(&name), codec)?;
        let record = SegmentRecord {
            id: 0,
            camera: self.camera.clone(),
            file: format!("{}/{name}", self.camera),
            codec: codec.as_str().to_string(),
            start,
            end: start,
            frames: 0,
            bytes: writer.bytes(),
            open: true,
            keep: false,
        };
        let _ = self.catalog.send(CatalogUpdate::Segment(record.clone()));
        self.open = Some(OpenSegment {
            writer,
            record,
            start_us: pts_us,
            last_pts_us: pts_us,
            codec,
            parameter_sets: parameter_sets(codec, key_picture),
            flushed_at: Instant::now(),
        });
        Ok(())
    }

    fn flush_if_due(&mut self) {
        let Some(open) = &mut self.open else { return };
        if open.flushed_at.elapsed() < FLUSH_EVERY {
            return;
        }
        open.flushed_at = Instant::now();
        match open.writer.flush() {
            Ok(()) => {
                update(&mut open.record, &open.writer);
                let _ = self.catalog.send(CatalogUpdate::Segment(open.record.clone()));
                self.recovered();
            }
            Err(e) => {
                let file = open.writer.path().display().to_string();
                self.failed(format!("cannot write {file}: {e}"));
            }
        }
    }

    fn close(&mut self, why: &str) {
        let Some(mut open) = self.open.take() else { return };
        update(&mut open.record, &open.writer);
        open.record.open = false;
        let path = open.writer.path().to_path_buf();
        match open.writer.finish() {
            Ok(()) => {
                self.stats.segments_written.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(camera = %self.camera, file = %path.display(), why, "segment closed");
            }
            Err(e) => {
                tracing::warn!(camera = %self.camera, file = %path.display(), error = %e, "closing a segment failed");
            }
        }
        if open.record.frames == 0 {
            // Nothing in it: the file goes, and so does its row.
            let _ = std::fs::remove_file(&path);
            open.record.bytes = 0;
        }
        let _ = self.catalog.send(CatalogUpdate::Segment(open.record));
    }

    fn failed(&mut self, error: String) {
        self.stats.write_failures.fetch_add(1, Ordering::Relaxed);
        let first = self.stats.failing.lock_or_recover().replace(error.clone()).is_none();
        if first {
            tracing::error!(camera = %self.camera, %error, "recording failed; analysis goes on, retrying in 10 s");
            let _ = self.catalog.send(CatalogUpdate::Failure { camera: self.camera.clone(), error: Some(error) });
        }
        if let Some(open) = self.open.take() {
            let mut record = open.record;
            record.open = false;
            // Whatever reached the file stays indexed by the catalogue's check at start;
            // here the row keeps what was known at the last flush.
            let _ = self.catalog.send(CatalogUpdate::Segment(record));
        }
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
    }

    fn recovered(&mut self) {
        if self.stats.failing.lock_or_recover().take().is_some() {
            tracing::info!(camera = %self.camera, "recording works again");
            let _ = self.catalog.send(CatalogUpdate::Failure { camera: self.camera.clone(), error: None });
        }
        self.retry_at = None;
    }
}

fn update(record: &mut SegmentRecord, writer: &SegmentWriter) {
    if let Some((_, last_us)) = writer.span_us() {
        record.end = UnixMillis(last_us.div_euclid(1_000));
    }
    record.frames = writer.frames();
    record.bytes = writer.bytes();
}
