//! Decodes H.264 MP4 files of every profile that IP cameras and recorders write, with
//! and without B-frames, and compares every frame with `ffmpeg`'s decode of the same
//! file. Also damaged files: truncated and corrupted.
//!
//! Needs the `ffmpeg` program (Debian package `ffmpeg`, installed by `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::Command;

use sheetsight_media::{MediaError, open, probe};

const W: usize = 320;
const H: usize = 240;
const FPS: usize = 25;
const SECONDS: usize = 8;

fn ffmpeg() -> &'static str {
    sheetsight_testkit::require_program("ffmpeg", &["-version"], "ffmpeg");
    "ffmpeg"
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Encodes a moving test pattern with libx264 in the given profile.
fn encode(dir: &Path, name: &str, profile: &str, bframes: u32, extra: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.mp4"));
    let mut cmd = Command::new(ffmpeg());
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={W}x{H}:rate={FPS}"))
        .args(["-t", &SECONDS.to_string(), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", profile])
        .args(["-bf", &bframes.to_string(), "-g", "50"])
        .args(extra)
        .arg(&path);
    run(&mut cmd);
    path
}

/// ffmpeg's decode: every frame as packed I420.
fn reference_frames(path: &Path) -> Vec<Vec<u8>> {
    let out = Command::new(ffmpeg())
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout.chunks(W * H * 3 / 2).map(<[u8]>::to_vec).collect()
}

/// Frames (time, packed I420), how the stream ended, and the number of issues.
type Decoded = (Vec<(f64, Vec<u8>)>, Result<(), MediaError>, usize);

fn decode_all(path: &Path) -> Decoded {
    let mut src = open(path, 10.0).expect("opens");
    let mut frames = Vec::new();
    let result = loop {
        match src.next_frame() {
            Ok(Some(f)) => {
                let mut packed = f.frame.y_plane().to_vec();
                packed.extend_from_slice(f.frame.u_plane());
                packed.extend_from_slice(f.frame.v_plane());
                frames.push((f.t_s, packed));
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    (frames, result, src.issues().len())
}

fn check_profile(profile: &str, bframes: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = encode(dir.path(), profile, profile, bframes, &[]);
    let info = probe(&path).expect("probe");
    assert_eq!((info.width_px, info.height_px), (W as u32, H as u32));
    let reference = reference_frames(&path);
    assert_eq!(reference.len(), FPS * SECONDS);
    let (frames, result, issues) = decode_all(&path);
    result.expect("decodes to the end");
    assert_eq!(issues, 0);
    assert_eq!(frames.len(), reference.len(), "{profile} with {bframes} B-frames: frame count");
    for (i, ((t, ours), theirs)) in frames.iter().zip(&reference).enumerate() {
        assert!((t - i as f64 / FPS as f64).abs() < 1e-6, "{profile}: frame {i} at t = {t}");
        let diff: u64 = ours.iter().zip(theirs).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
        let mean = diff as f64 / ours.len() as f64;
        assert!(mean < 0.01, "{profile} with {bframes} B-frames: frame {i} differs from ffmpeg by {mean} per sample");
    }
}

#[test]
fn baseline_matches_ffmpeg() {
    check_profile("baseline", 0);
}

#[test]
fn main_without_b_frames_matches_ffmpeg() {
    check_profile("main", 0);
}

#[test]
fn main_with_b_frames_matches_ffmpeg() {
    check_profile("main", 3);
}

#[test]
fn high_without_b_frames_matches_ffmpeg() {
    check_profile("high", 0);
}

#[test]
fn high_with_b_frames_matches_ffmpeg() {
    check_profile("high", 3);
}

#[test]
fn truncated_file_decodes_what_it_can_and_says_where_it_broke() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = encode(dir.path(), "fast", "high", 3, &["-movflags", "+faststart"]);
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let (frames, result, _) = decode_all(&cut);
    let err = result.expect_err("the second half is missing");
    let msg = err.to_string();
    assert!(msg.contains("cut.mp4") && msg.contains("broke at sample"), "{msg}");
    assert!(frames.len() > 30 && frames.len() < FPS * SECONDS, "{} frames before the break", frames.len());

    // Without faststart the index is at the end: a cut file has none.
    let plain = encode(dir.path(), "plain", "main", 0, &[]);
    let bytes = std::fs::read(&plain).expect("read");
    let cut = dir.path().join("cut2.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let msg = match open(&cut, 10.0) {
        Ok(_) => panic!("a file without its index cannot be opened"),
        Err(e) => e.to_string(),
    };
    assert!(msg.contains("cut2.mp4") && msg.contains("not a readable MP4"), "{msg}");
}

#[test]
fn corrupted_samples_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = encode(dir.path(), "fast", "high", 3, &["-movflags", "+faststart"]);
    let mut bytes = std::fs::read(&path).expect("read");
    // Scribble over a stretch of the media data (after the index at the front).
    let start = bytes.len() / 3;
    let mut x: u32 = 12345;
    for b in &mut bytes[start..start + 4000] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let bad = dir.path().join("bad.mp4");
    std::fs::write(&bad, &bytes).expect("write");
    let (frames, result, issues) = decode_all(&bad);
    // The damaged samples may decode into garbage or be dropped, but the file is read
    // to its end without an error, each sample the decoder refused is reported as an
    // issue, and most frames survive.
    assert!(result.is_ok(), "{result:?}");
    assert!(issues > 0, "the damage is reported");
    assert!(frames.len() > FPS * SECONDS / 2, "{} frames", frames.len());
    // Times stay strictly increasing.
    assert!(frames.windows(2).all(|w| w[1].0 > w[0].0));
}

#[test]
fn not_a_video_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.mp4");
    std::fs::write(&path, b"this is not a video at all").expect("write");
    match open(&path, 10.0) {
        Err(MediaError::Container { path: named, reason }) => {
            assert_eq!(named, path, "the error names the file");
            assert!(!reason.is_empty());
        }
        Err(other) => panic!("text is not a container fault: {other:?}"),
        Ok(_) => panic!("text opened as a video"),
    }
    let audio = dir.path().join("audio.mp4");
    run(Command::new(ffmpeg())
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"])
        .arg(&audio));
    match open(&audio, 10.0) {
        Err(e @ MediaError::NoVideo { .. }) => assert!(e.to_string().contains("audio.mp4"), "{e}"),
        Err(other) => panic!("an audio-only MP4 must say it has no video: {other:?}"),
        Ok(_) => panic!("an audio-only MP4 opened as a video"),
    }
}
