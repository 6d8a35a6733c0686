//! A mutex lock that survives a panicked holder.
//!
//! The state SheetSight keeps behind a `std::sync::Mutex` (a camera's status, caches,
//! rate-limit buckets) is valid after every single assignment, so a thread that panicked
//! while holding the lock leaves nothing half-written that matters; the next holder takes
//! the value as it is rather than spreading the panic to every other camera.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`] that takes over the value when a previous holder panicked.
pub trait LockOrRecover<T: ?Sized> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> LockOrRecover<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`RwLock::read`] and [`RwLock::write`] that take over the value when a previous
/// writer panicked.
pub trait RwLockOrRecover<T: ?Sized> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> RwLockOrRecover<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_panicked_holder_leaves_the_value_usable() {
        let shared = Arc::new(Mutex::new(1));
        let holder = Arc::clone(&shared);
        let panicked = std::thread::spawn(move || {
            let mut v = holder.lock_or_recover();
            *v = 2;
            panic!("holder fails while holding the lock");
        })
        .join();
        assert!(panicked.is_err());
        assert!(shared.is_poisoned());
        assert_eq!(*shared.lock_or_recover(), 2);
    }

    #[test]
    fn a_panicked_writer_leaves_the_value_readable() {
        let shared = Arc::new(RwLock::new("before"));
        let writer = Arc::clone(&shared);
        let panicked = std::thread::spawn(move || {
            *writer.write_or_recover() = "after";
            let _held = writer.write_or_recover();
            panic!("writer fails while holding the lock");
        })
        .join();
        assert!(panicked.is_err());
        assert!(shared.is_poisoned());
        assert_eq!(*shared.read_or_recover(), "after");
        *shared.write_or_recover() = "again";
        assert_eq!(*shared.read_or_recover(), "again");
    }
}
