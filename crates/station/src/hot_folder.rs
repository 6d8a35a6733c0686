//! A hot folder: photos a camera's own software writes, each inspected once it is
//! completely written, then filed away so that it is never inspected twice (not even
//! after a restart).
//!
//! A file is taken when its size and time have not changed over two polls at least
//! [`SETTLE`] apart and it ends as a whole JPEG or PNG does. One that stays cut short
//! for [`GIVE_UP`] is refused as half written. Hidden files (`.name`) and names ending
//! in `.partial`, `.tmp`, `.part` or `~` are a writer's temporary files and are left
//! alone. A file inspected to a verdict moves to `done/`; one refused to `refused/`,
//! with the reason beside it in `<name>.txt`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::StationError;
use crate::photo::{MAX_PHOTO_BYTES, PhotoFormat};

/// How long a file must stand unchanged before it is read.
pub const SETTLE: Duration = Duration::from_millis(200);
/// How often a hot folder is listed.
pub const POLL: Duration = Duration::from_millis(100);
/// How long a file may stay cut short before it is refused.
pub const GIVE_UP: Duration = Duration::from_secs(30);
pub const DONE: &str = "done";
pub const REFUSED: &str = "refused";

struct Watched {
    size: u64,
    modified: Option<SystemTime>,
    /// When it was first seen at this size and time.
    since: Instant,
    /// When it was first seen at all.
    first: Instant,
}

/// The files of a folder seen so far.
#[derive(Default)]
pub struct FolderWatch {
    seen: HashMap<PathBuf, Watched>,
}

/// What to do with a file that has settled.
pub enum Ready {
    /// Its bytes, whole.
    Photo(Vec<u8>),
    /// Refused without inspection (too large, half written for too long, unreadable).
    Refused(StationError),
}

fn is_temporary(name: &str) -> bool {
    name.starts_with('.') || [".partial", ".tmp", ".part", "~"].iter().any(|s| name.ends_with(s))
}

impl FolderWatch {
    /// Lists `folder`; the files that are ready to inspect, with their bytes or why they
    /// are refused. A file not yet whole is kept for a later poll.
    pub fn poll(&mut self, folder: &Path, now: Instant) -> Vec<(PathBuf, Ready)> {
        let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
        let mut ready = Vec::new();
        let mut present = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if !meta.is_file() || is_temporary(&name) {
                continue;
            }
            present.push(path.clone());
            let (size, modified) = (meta.len(), meta.modified().ok());
            let w = self.seen.entry(path.clone()).or_insert(Watched { size, modified, since: now, first: now });
            if (w.size, w.modified) != (size, modified) {
                (w.size, w.modified, w.since) = (size, modified, now);
                continue;
            }
            if now.duration_since(w.since) < SETTLE {
                continue;
            }
            if size > MAX_PHOTO_BYTES {
                let message =
                    format!("{} MB is more than a station takes ({} MB at most)", size >> 20, MAX_PHOTO_BYTES >> 20);
                ready.push((path.clone(), Ready::Refused(StationError::bad(path.display().to_string(), message))));
                continue;
            }
            // Whole or not from its first and last bytes: a file that stays cut short
            // is not read again and again while it waits.
            match ends(&path) {
                Err(e) => ready.push((
                    path.clone(),
                    Ready::Refused(StationError::Io { what: format!("reading {}", path.display()), source: e }),
                )),
                Ok((head, tail)) => match PhotoFormat::sniff(&head) {
                    Some(f) if !f.is_complete(&tail) && now.duration_since(w.first) < GIVE_UP => {}
                    _ => ready.push((
                        path.clone(),
                        match std::fs::read(&path) {
                            Ok(bytes) => Ready::Photo(bytes),
                            Err(e) => Ready::Refused(StationError::Io {
                                what: format!("reading {}", path.display()),
                                source: e,
                            }),
                        },
                    )),
                },
            }
        }
        self.seen.retain(|p, _| present.contains(p));
        for (p, _) in &ready {
            self.seen.remove(p);
        }
        ready
    }
}

/// A file's first 8 and last 64 bytes (what tells its format and whether it is whole).
fn ends(path: &Path) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(8);
    (&mut file).take(8).read_to_end(&mut head)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(64)))?;
    let mut tail = Vec::with_capacity(64);
    file.take(64).read_to_end(&mut tail)?;
    Ok((head, tail))
}

/// Moves an inspected file into `done/` or, refused, into `refused/` with the reason in
/// `<name>.txt`. A file that cannot be moved is deleted, so that it is not inspected
/// again (its inspection is stored, or its refusal logged).
pub fn file_away(folder: &Path, path: &Path, refusal: Option<&str>) {
    let sub = folder.join(if refusal.is_some() { REFUSED } else { DONE });
    let Some(name) = path.file_name() else { return };
    let mut target = sub.join(name);
    if target.exists() {
        let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        target = sub.join(format!("{stamp}-{}", name.to_string_lossy()));
    }
    let moved = std::fs::create_dir_all(&sub).and_then(|()| std::fs::rename(path, &target));
    if let Err(e) = moved {
        tracing::warn!(file = %path.display(), error = %e, "cannot file the photo away; deleting it so that it is not inspected twice");
        let _ = std::fs::remove_file(path);
        return;
    }
    if let Some(reason) = refusal {
        let mut note = target.clone().into_os_string();
        note.push(".txt");
        let _ = std::fs::write(PathBuf::from(note), format!("{reason}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_taken_once_settled_and_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t0 = Instant::now();
        let mut watch = FolderWatch::default();
        let mut jpeg = Vec::new();
        image::GrayImage::from_pixel(64, 48, image::Luma([90]))
            .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .expect("encode");
        let path = dir.path().join("p1.jpg");
        // Half written: seen, then unchanged, but not whole.
        std::fs::write(&path, &jpeg[..jpeg.len() / 2]).expect("write");
        std::fs::write(dir.path().join(".p2.jpg"), &jpeg).expect("write");
        std::fs::write(dir.path().join("p3.jpg.partial"), &jpeg).expect("write");
        assert!(watch.poll(dir.path(), t0).is_empty());
        assert!(watch.poll(dir.path(), t0 + SETTLE * 2).is_empty(), "not whole yet");
        // Written to its end: its size changed, so it settles again first.
        std::fs::write(&path, &jpeg).expect("write");
        assert!(watch.poll(dir.path(), t0 + SETTLE * 3).is_empty());
        let ready = watch.poll(dir.path(), t0 + SETTLE * 5);
        assert_eq!(ready.len(), 1);
        assert!(matches!(&ready[0], (p, Ready::Photo(b)) if *p == path && *b == jpeg));
        file_away(dir.path(), &path, None);
        assert!(dir.path().join(DONE).join("p1.jpg").exists() && !path.exists());
        assert!(watch.poll(dir.path(), t0 + SETTLE * 8).is_empty());
    }

    #[test]
    fn a_file_cut_short_for_good_and_a_text_file_are_handed_over_to_be_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t0 = Instant::now();
        let mut watch = FolderWatch::default();
        std::fs::write(dir.path().join("cut.png"), b"\x89PNG\r\n\x1a\n...").expect("write");
        std::fs::write(dir.path().join("notes.txt"), b"hello").expect("write");
        watch.poll(dir.path(), t0);
        let ready = watch.poll(dir.path(), t0 + SETTLE * 2);
        assert_eq!(ready.len(), 1, "the text file is handed over (its decoding refuses it)");
        let ready = watch.poll(dir.path(), t0 + GIVE_UP + SETTLE);
        assert_eq!(ready.len(), 1, "the cut PNG after waiting");
        file_away(dir.path(), &dir.path().join("cut.png"), Some("cut short"));
        let note = std::fs::read_to_string(dir.path().join(REFUSED).join("cut.png.txt")).expect("reason");
        assert_eq!(note.trim(), "cut short");
    }
}
