//! The recorder, the catalogue and clips on encoded pictures: segments roll at key
//! pictures, a killed writer's torn record is cut off and indexed at the next start,
//! retention keeps the quota and the age, a missing file is reported, and a clip
//! decodes (by the MP4 reader and OpenH264) to exactly the pictures it must hold.

use std::path::Path;
use std::sync::Arc;

use sheetsight_base::time::UnixMillis;
use sheetsight_config::RecordingConfig;
use sheetsight_ingest::tap::PacketTap;
use sheetsight_ingest::{Packet, Payload};
use sheetsight_media::YuvFrame;
use sheetsight_media::h264::{EncoderSettings, H264Encoder};
use sheetsight_media::source::FrameSource;
use sheetsight_record::catalog::{apply_retention, reconcile};
use sheetsight_record::clip::{ClipError, ClipMaker};
use sheetsight_record::recorder::{CatalogUpdate, Recorder};
use sheetsight_record::recordings_dir;
use sheetsight_store::recordings::SegmentRecord;
use sheetsight_store::sqlite::SqliteStore;

const FPS: f64 = 10.0;
const T0_MS: i64 = 1_780_000_000_000;

/// `seconds` of 64x48 H.264 at 10 fps with a key picture every second, each picture's
/// luma set by its index (so a decoded frame says which one it is).
fn pictures(seconds: u32) -> Vec<Packet> {
    let settings = EncoderSettings { fps: FPS, idr_interval_frames: 10, qp: 20 };
    let mut encoder = H264Encoder::new(64, 48, settings).expect("encoder");
    (0..seconds * 10)
        .map(|i| {
            let frame = YuvFrame::filled(64, 48, luma(i), 128, 128);
            let p = encoder.encode(&frame).expect("encode");
            Packet {
                t_s: (T0_MS as f64 + f64::from(i) * 100.0) / 1000.0,
                payload: Payload::H264 { annex_b: p.to_annex_b().into(), key: p.is_idr },
            }
        })
        .collect()
}

fn luma(i: u32) -> u8 {
    16 + (i * 2 % 200) as u8
}

async fn record(data: &Path, store: &SqliteStore, packets: &[Packet], segment_s: u32) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = Recorder::spawn("cam1", &recordings_dir(data), segment_s, tx).expect("recorder");
    let tap: Arc<dyn PacketTap> = recorder.tap.clone();
    for p in packets {
        tap.packet(p);
        // The queue is bounded: give the thread time, as a camera's frame interval does.
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    drop(tap);
    let dropped = recorder.stats.pictures_dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(dropped, 0);
    tokio::task::spawn_blocking(move || recorder.join()).await.expect("join");
    while let Some(update) = rx.recv().await {
        if let CatalogUpdate::Segment(s) = update
            && (s.open || s.frames > 0)
        {
            store.put_segment(&s).await.expect("index");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_roll_at_key_pictures_and_a_clip_decodes_to_the_pictures_asked() {
    let data = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(data.path()).await.expect("store");
    record(data.path(), &store, &pictures(20), 5).await;
    let rows = store.all_segments(Some("cam1")).await.expect("rows");
    assert_eq!(rows.len(), 4, "20 s in segments of 5 s: {rows:?}");
    assert!(rows.iter().all(|r| !r.open && r.frames == 50), "{rows:?}");
    assert_eq!(rows[1].start, UnixMillis(T0_MS + 5_000));

    let limits = RecordingConfig { max_clip_s: 60, ..Default::default() };
    let maker = ClipMaker::new(store.clone(), data.path(), limits);
    // From 3.55 s, inside the first segment, to 6.8 s in the second.
    let clip = maker.camera_clip("cam1", UnixMillis(T0_MS + 3_550), UnixMillis(T0_MS + 6_800)).await.expect("clip");
    assert_eq!(clip.pictures, 39, "from the key picture at 3 s to the picture at 6.8 s");
    assert_eq!((clip.from, clip.to), (UnixMillis(T0_MS + 3_550), UnixMillis(T0_MS + 6_800)));
    assert_eq!((clip.width_px, clip.height_px), (64, 48));
    let path = data.path().join("clip.mp4");
    std::fs::write(&path, &clip.bytes).expect("write");
    let mut source = sheetsight_media::mp4::Mp4Source::open(&path).expect("open clip");
    let mut lumas = Vec::new();
    while let Some(f) = source.next_frame().expect("decode") {
        lumas.push(f.frame.y_plane()[0]);
    }
    // The reader decodes every sample; players show 3.55..6.8 s by the edit list.
    let expected: Vec<u8> = (30..=68).map(luma).collect();
    assert_eq!(lumas.len(), expected.len(), "{lumas:?}");
    for (got, want) in lumas.iter().zip(&expected) {
        assert!(got.abs_diff(*want) <= 2, "{lumas:?} vs {expected:?}");
    }

    let err =
        maker.camera_clip("cam1", UnixMillis(T0_MS - 60_000), UnixMillis(T0_MS - 50_000)).await.expect_err("none");
    assert!(matches!(err, ClipError::NotRecorded { .. }), "{err}");
    assert!(err.to_string().contains("it has video from"), "{err}");
    let err = maker.camera_clip("cam1", UnixMillis(T0_MS), UnixMillis(T0_MS + 61_000)).await.expect_err("long");
    assert!(err.to_string().contains("limit of 60 s"), "{err}");

    // Deleted outside SheetSight: the clip names the file, the next start drops its row.
    std::fs::remove_file(recordings_dir(data.path()).join(&rows[1].file)).expect("remove");
    let err = maker.camera_clip("cam1", UnixMillis(T0_MS + 4_000), UnixMillis(T0_MS + 6_000)).await.expect_err("gone");
    assert!(matches!(err, ClipError::FileMissing { .. }) && err.to_string().contains(&rows[1].file), "{err}");
    let report = reconcile(&store, &recordings_dir(data.path())).await.expect("reconcile");
    assert_eq!(report.missing, vec![rows[1].file.clone()]);
    assert_eq!(store.all_segments(None).await.expect("rows").len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_torn_segment_is_cut_back_and_indexed_and_retention_keeps_quota_and_age() {
    let data = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(data.path()).await.expect("store");
    record(data.path(), &store, &pictures(20), 5).await;
    let dir = recordings_dir(data.path());
    let rows = store.all_segments(None).await.expect("rows");
    // A crash: the last segment's row still open and its last picture torn on disk.
    let last = rows.last().expect("last").clone();
    let path = dir.join(&last.file);
    let len = std::fs::metadata(&path).expect("meta").len();
    std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(len - 10).expect("cut");
    store.put_segment(&SegmentRecord { open: true, frames: 3, ..last.clone() }).await.expect("row");
    let report = reconcile(&store, &dir).await.expect("reconcile");
    assert_eq!((report.torn, report.reindexed), (1, 1), "{report:?}");
    let fixed = store.all_segments(None).await.expect("rows").into_iter().find(|r| r.file == last.file).expect("row");
    assert!(!fixed.open && fixed.frames == 49, "{fixed:?}");
    assert_eq!(fixed.bytes, std::fs::metadata(&path).expect("meta").len());

    // A quota just above the two newest segments: the two oldest go.
    let quota = RecordingConfig { max_bytes: rows[2].bytes + fixed.bytes + 10, ..Default::default() };
    let deleted = apply_retention(&store, &dir, &quota, UnixMillis(T0_MS + 30_000)).await.expect("retention");
    let left = store.all_segments(None).await.expect("rows");
    assert_eq!(deleted.deleted, 2, "{left:?}");
    assert_eq!(left.iter().map(|r| r.start).collect::<Vec<_>>(), vec![rows[2].start, rows[3].start]);
    assert!(!dir.join(&rows[0].file).exists());
    // Age: two days later with keep_days = 1 only what is kept (a golden cycle's) stays.
    store.keep_segments("cam1", rows[3].start, rows[3].end).await.expect("keep");
    let age = RecordingConfig { keep_days: 1, ..Default::default() };
    apply_retention(&store, &dir, &age, UnixMillis(T0_MS + 2 * 86_400_000)).await.expect("retention");
    let left = store.all_segments(None).await.expect("rows");
    assert_eq!(left.iter().map(|r| r.file.clone()).collect::<Vec<_>>(), vec![rows[3].file.clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_fails_is_reported_once_and_nothing_blocks() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = recordings_dir(data.path());
    std::fs::create_dir_all(&dir).expect("dir");
    // The camera's folder cannot be made: a file stands where it should be.
    std::fs::write(dir.join("cam1"), b"in the way").expect("file");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = Recorder::spawn("cam1", &dir, 5, tx).expect("recorder");
    for p in &pictures(3) {
        recorder.tap.packet(p);
    }
    let stats = recorder.stats.clone();
    tokio::task::spawn_blocking(move || recorder.join()).await.expect("join");
    let failing = stats.failing.lock().expect("lock").clone().expect("failing");
    assert!(failing.contains("cannot create a recording file") && failing.contains("cam1"), "{failing}");
    assert_eq!(stats.write_failures.load(std::sync::atomic::Ordering::Relaxed), 1, "retried only after 10 s");
    assert_eq!(stats.pictures_written.load(std::sync::atomic::Ordering::Relaxed), 0);
    let mut failures = Vec::new();
    while let Some(u) = rx.recv().await {
        if let CatalogUpdate::Failure { error, .. } = u {
            failures.push(error);
        }
    }
    assert_eq!(failures.len(), 1, "said once: {failures:?}");
    // Every other picture was let go (skipped until the retry, or dropped by the queue).
    let skipped = stats.pictures_skipped.load(std::sync::atomic::Ordering::Relaxed);
    let dropped = stats.pictures_dropped.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(skipped + dropped, 29);
}
