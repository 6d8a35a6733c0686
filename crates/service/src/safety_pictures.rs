//! The pictures kept for advisory safety events: the frame the people were found in,
//! each person outlined in red (and blurred on a private camera), as JPEG in the data
//! folder's `safety/`.
//!
//! Invariants: a picture is written beside its final name and renamed, so a file with
//! the final name is always whole; its name holds no path (the zone id is reduced to
//! letters, digits, `-` and `_`); pictures older than the retention are deleted when the
//! next one is kept; a picture that cannot be written is logged and the event goes on
//! without one.

use std::path::PathBuf;
use std::time::Duration;

use sheetsight_base::UnixMillis;
use sheetsight_vision::YuvFrame;
use sheetsight_vision::zone::PersonPx;

/// The folder in the data folder where the pictures of safety events are kept.
pub const SAFETY_PICTURES_FOLDER: &str = "safety";

/// The folder of the pictures kept for safety events, and how long they are kept.
#[derive(Clone, Debug)]
pub struct SafetyPictures {
    pub folder: PathBuf,
    pub retention: Duration,
}

impl SafetyPictures {
    /// Keeps the picture of a safety event in `zone` at `t`: `frame` with the people
    /// outlined (and blurred when `blur`). Returns its file name, or `None` (logged) when
    /// it could not be written; pictures older than the retention are deleted.
    pub fn keep(&self, frame: &YuvFrame, people: &[PersonPx], blur: bool, zone: &str, t: UnixMillis) -> Option<String> {
        let mut shown = frame.clone();
        if blur {
            sheetsight_vision::zone::pixelate_people(&mut shown, people, 12);
        }
        sheetsight_vision::zone::outline_people(&mut shown, people, (frame.width_px() / 320).max(2));
        let safe_zone: String =
            zone.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let name = format!("{safe_zone}-{}.jpg", t.0);
        let written = sheetsight_media::jpeg::encode_jpeg(&shown).map_err(|e| e.to_string()).and_then(|jpeg| {
            std::fs::create_dir_all(&self.folder).map_err(|e| e.to_string())?;
            let partial = self.folder.join(format!(".{name}.partial"));
            std::fs::write(&partial, jpeg).map_err(|e| e.to_string())?;
            std::fs::rename(&partial, self.folder.join(&name)).map_err(|e| e.to_string())
        });
        if let Err(e) = written {
            tracing::warn!(folder = %self.folder.display(), zone, error = %e, "cannot keep the safety event's picture");
            return None;
        }
        self.prune();
        Some(name)
    }

    /// Deletes pictures older than the retention.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.folder) else { return };
        let now = std::time::SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > self.retention));
            if old && entry.path().extension().is_some_and(|e| e == "jpg") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_safety_picture_is_written_whole_and_old_ones_are_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pictures = SafetyPictures { folder: dir.path().join("safety"), retention: Duration::from_secs(3600) };
        let frame = YuvFrame::filled(64, 48, 120, 128, 128);
        let person = PersonPx { x0: 10.0, y0: 5.0, x1: 30.0, y1: 40.0 };
        let name = pictures.keep(&frame, &[person], true, "back/../x", UnixMillis(1_000)).expect("kept");
        assert_eq!(name, "back____x-1000.jpg", "no path in the name");
        let jpeg = std::fs::read(pictures.folder.join(&name)).expect("written");
        let shown = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
        assert_eq!(shown.dimensions(), (64, 48));
        let top_edge = shown.get_pixel(20, 5);
        assert!(top_edge[0] > 180 && top_edge[1] < 90, "outlined in red: {top_edge:?}");
        let files = || std::fs::read_dir(&pictures.folder).expect("folder").count();
        assert_eq!(files(), 1, "no partial file left");
        // Older than the retention: deleted when the next picture is kept.
        let old = std::fs::File::options().write(true).open(pictures.folder.join(&name)).expect("open");
        old.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200)).expect("age it");
        pictures.keep(&frame, &[], false, "back", UnixMillis(2_000)).expect("kept");
        assert_eq!(files(), 1);
        // A folder that cannot be made: no picture, no panic.
        let blocked = SafetyPictures { folder: pictures.folder.join("back-2000.jpg"), ..pictures };
        assert_eq!(blocked.keep(&frame, &[], false, "z", UnixMillis(3_000)), None);
    }
}
