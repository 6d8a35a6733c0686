//! The data folder: created private, and used by one service at a time.
//!
//! - [`create_private`] makes the folder `0700` and `history.db` `0600` when it creates
//!   them (they hold user password hashes and the shop's history); SQLite gives its
//!   `-wal` and `-shm` files the database's mode. Existing files keep their mode.
//! - [`DataLock`] is an exclusive lock on `<data>/sheetsight.lock`, held while a service
//!   runs, so that a second `run` on the same folder stops before it touches the history
//!   (it would otherwise take the first one's run for crashed). Readers (`report`) need
//!   no lock. The operating system drops the lock when the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::{StoreError, StoreErrorKind};

pub const LOCK_FILE: &str = "sheetsight.lock";

/// Creates `dir` (mode `0700`) if it does not exist.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `dir` (mode `0700`) and an empty `file` in it (mode `0600`) if they do not exist.
pub fn create_private(dir: &Path, file: &Path) -> std::io::Result<()> {
    create_private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// The data folder's lock; released on drop.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
    path: PathBuf,
}

impl DataLock {
    /// Takes the lock of `data_dir`, or says which process holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(LOCK_FILE);
        let what = format!("locking {}", data_dir.display());
        create_private_dir(data_dir).map_err(|e| StoreError::new(StoreErrorKind::Open, &what, e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::new(StoreErrorKind::Open, &what, e))?;
        if let Err(e) = file.try_lock() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let message = match e {
                std::fs::TryLockError::WouldBlock => format!(
                    "another SheetSight (process {}) runs on this data folder: stop it first, or give this one \
                     another [storage] data_dir",
                    if holder.is_empty() { "?" } else { holder }
                ),
                std::fs::TryLockError::Error(e) => e.to_string(),
            };
            return Err(StoreError::new(StoreErrorKind::Open, what, message));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        let _ = file.sync_all();
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_private_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        create_private(&data, &data.join("history.db")).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode(&data), 0o700);
            assert_eq!(mode(&data.join("history.db")), 0o600);
        }
        let first = DataLock::acquire(&data).expect("first");
        let second = DataLock::acquire(&data).expect_err("second");
        assert!(sheetsight_base::error::with_causes(&second).contains(&std::process::id().to_string()), "{second}");
        drop(first);
        DataLock::acquire(&data).expect("free again");
    }
}
