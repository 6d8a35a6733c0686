//! Folders of JPEG/PNG frames, in file-name order, timed at a fixed rate.
//!
//! An unreadable image is skipped and recorded as an issue; the frames around it still
//! come out with the times their positions give them.

use std::path::{Path, PathBuf};

use sheetsight_vision::YuvFrame;

use crate::MediaError;
use crate::source::{FrameSource, MediaIssue, StreamInfo, TimedFrame};

fn list_images(path: &Path) -> Result<Vec<PathBuf>, MediaError> {
    let entries = std::fs::read_dir(path).map_err(|source| MediaError::Io { path: path.to_path_buf(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(MediaError::EmptyFolder { path: path.to_path_buf() });
    }
    Ok(files)
}

/// Size of the first readable image of a folder.
pub fn probe(path: &Path) -> Result<StreamInfo, MediaError> {
    let files = list_images(path)?;
    let mut last_error = String::new();
    for f in &files {
        match image::image_dimensions(f) {
            Ok((w, h)) => {
                return Ok(StreamInfo {
                    width_px: w,
                    height_px: h,
                    fps: None,
                    frame_count: Some(files.len() as u64),
                    duration_s: None,
                    codec: "JPEG/PNG frames".into(),
                });
            }
            Err(e) => last_error = format!("{}: {e}", f.display()),
        }
    }
    Err(MediaError::Unsupported { path: path.to_path_buf(), reason: format!("no readable image ({last_error})") })
}

/// Frames from a folder of images.
pub struct ImageFolderSource {
    files: Vec<PathBuf>,
    next: usize,
    fps: f64,
    info: StreamInfo,
    issues: Vec<MediaIssue>,
}

impl ImageFolderSource {
    pub fn open(path: &Path, fps: f64) -> Result<Self, MediaError> {
        let mut info = probe(path)?;
        let fps = if fps > 0.0 { fps } else { 10.0 };
        info.fps = Some(fps);
        info.duration_s = info.frame_count.map(|n| n as f64 / fps);
        Ok(Self { files: list_images(path)?, next: 0, fps, info, issues: Vec::new() })
    }
}

impl FrameSource for ImageFolderSource {
    fn info(&self) -> &StreamInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<TimedFrame>, MediaError> {
        while self.next < self.files.len() {
            let index = self.next;
            self.next += 1;
            let file = &self.files[index];
            let decoded = image::open(file).map_err(|e| e.to_string()).and_then(|img| {
                let rgb = img.to_rgb8();
                if rgb.width() != self.info.width_px || rgb.height() != self.info.height_px {
                    return Err(format!(
                        "is {}x{}, the folder's frames are {}x{}",
                        rgb.width(),
                        rgb.height(),
                        self.info.width_px,
                        self.info.height_px
                    ));
                }
                YuvFrame::from_rgb8(rgb.width(), rgb.height(), rgb.as_raw())
                    .ok_or_else(|| "bad pixel buffer".to_string())
            });
            match decoded {
                Ok(frame) => return Ok(Some(TimedFrame { t_s: index as f64 / self.fps, frame })),
                Err(what) => self.issues.push(MediaIssue { at: file.display().to_string(), what }),
            }
        }
        Ok(None)
    }

    fn issues(&self) -> &[MediaIssue] {
        &self.issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frames_in_name_order_and_skips_broken_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, luma) in [(0, 40u8), (1, 90), (3, 160)] {
            let img = image::RgbImage::from_pixel(32, 24, image::Rgb([luma, luma, luma]));
            img.save(dir.path().join(format!("frame_{i:04}.png"))).expect("save");
        }
        std::fs::write(dir.path().join("frame_0002.jpg"), b"not a jpeg").expect("write");
        std::fs::write(dir.path().join("notes.txt"), b"ignored").expect("write");
        let mut src = ImageFolderSource::open(dir.path(), 5.0).expect("open");
        let mut got = Vec::new();
        while let Some(f) = src.next_frame().expect("frame") {
            got.push((f.t_s, f.frame.y_plane()[0]));
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].0, 0.6);
        assert!(got[0].1 < got[1].1 && got[1].1 < got[2].1);
        assert_eq!(src.issues().len(), 1);
        assert!(src.issues()[0].at.ends_with("frame_0002.jpg"));
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(ImageFolderSource::open(dir.path(), 10.0), Err(MediaError::EmptyFolder { .. })));
    }
}
