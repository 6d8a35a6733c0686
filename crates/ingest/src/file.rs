//! Files and image folders as live cameras: played in real time, from the start again
//! at the end when the camera has `loop = true`.

use std::path::Path;
use std::time::{Duration, Instant};

use sheetsight_config::CameraConfig;

use crate::source::{LiveSource, Packet, Payload, SourceError, SourceErrorKind};
use crate::thread_source::{PacketSender, ThreadSource};
use sheetsight_base::time::now_unix_s;

/// Frame rate of image folders played live when the camera gives none.
const FOLDER_FPS: f64 = 1.0;

pub fn open(camera: &CameraConfig, path: &Path) -> Result<Box<dyn LiveSource>, SourceError> {
    let folder_fps = camera.fps.unwrap_or(FOLDER_FPS);
    let info = sheetsight_media::probe(path)
        .map_err(|e| SourceError::new(SourceErrorKind::Protocol, format!("{}: {e}", path.display())))?;
    let description = format!("file {} ({}x{}, {})", path.display(), info.width_px, info.height_px, info.codec);
    let interval_s = info.fps.or(Some(folder_fps)).map(|f| 1.0 / f);
    let path = path.to_path_buf();
    let looping = camera.loop_file;
    let source = ThreadSource::spawn(format!("file-{}", camera.id), description, interval_s, move |tx| {
        play(&path, folder_fps, looping, &tx);
    })?;
    Ok(Box::new(source))
}

/// Plays the file in real time until the source is dropped (or the end, without loop).
fn play(path: &Path, folder_fps: f64, looping: bool, tx: &PacketSender) {
    loop {
        let mut media = match sheetsight_media::open(path, folder_fps) {
            Ok(m) => m,
            Err(e) => {
                tx.send(Err(SourceError::new(SourceErrorKind::Protocol, format!("{}: {e}", path.display()))));
                return;
            }
        };
        let started = Instant::now();
        let started_wall_s = now_unix_s();
        loop {
            match media.next_frame() {
                Ok(Some(frame)) => {
                    let due = started + Duration::from_secs_f64(frame.t_s.max(0.0));
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let packet = Packet { t_s: started_wall_s + frame.t_s, payload: Payload::Raw(frame.frame) };
                    if !tx.send(Ok(packet)) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tx.send(Err(SourceError::new(SourceErrorKind::Protocol, format!("{}: {e}", path.display()))));
                    return;
                }
            }
        }
        if !looping {
            tx.send(Err(SourceError::new(SourceErrorKind::Ended, format!("{}: end of file", path.display()))));
            return;
        }
    }
}
