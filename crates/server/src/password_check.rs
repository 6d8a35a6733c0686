//! Password checks on a fixed set of threads, each with its own argon2 memory.
//!
//! An argon2id check takes 19 MiB and tens of milliseconds. Run on a thread of its own
//! per login, a burst of bad logins costs gigabytes that the allocator keeps. Here:
//! - at most [`PasswordChecker::workers`] checks run at once, each on a thread that
//!   reuses one memory buffer for every check (allocated at the first, never grown past
//!   [`MAX_MEMORY_KIB`], given back after [`RELEASE_AFTER_IDLE`] without a check);
//! - at most [`PasswordChecker::queue`] more wait; beyond that [`Busy`] is answered at
//!   once, and the caller refuses the login (503).
//!
//! So password checks never hold more than `workers × m_cost` of memory, whatever comes.

use std::sync::mpsc::{RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sheetsight_base::LockOrRecover;

/// A worker idle this long gives its memory back.
pub const RELEASE_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Stored hashes that would need more memory than this are refused rather than checked.
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// Every worker and queue place is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

struct Job {
    password: String,
    phc: String,
    reply: tokio::sync::oneshot::Sender<bool>,
}

pub struct PasswordChecker {
    jobs: SyncSender<Job>,
    workers: usize,
    queue: usize,
}

impl PasswordChecker {
    /// `workers` threads (at least 1), `queue` checks waiting beyond them.
    pub fn start(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, rx) = std::sync::mpsc::sync_channel::<Job>(queue);
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("password-check-{i}")).spawn(move || {
                let mut memory: Vec<Block> = Vec::new();
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = rx.lock_or_recover().recv_timeout(RELEASE_AFTER_IDLE);
                    let job = match next {
                        Ok(job) => job,
                        Err(RecvTimeoutError::Timeout) => {
                            // Quiet again: the memory goes back.
                            if !memory.is_empty() {
                                memory = Vec::new();
                                give_back_freed_memory();
                            }
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return, // the checker was dropped
                    };
                    let ok = verify_with(&mut memory, &job.password, &job.phc);
                    let _ = job.reply.send(ok);
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        Self { jobs, workers, queue }
    }

    /// One worker per core, at most 4, and 8 waiting per worker.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = cores.clamp(1, 4);
        Self::start(workers, workers * 8)
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Whether `password` matches the PHC string `phc`; [`Busy`] when no place is free.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job { password: password.to_string(), phc: phc.to_string(), reply };
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answer.await.unwrap_or(false)),
            Err(TrySendError::Full(_)) => Err(Busy),
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("no password-check thread runs: every login is refused");
                Ok(false)
            }
        }
    }
}

/// Asks the allocator to return freed memory to the operating system: glibc keeps a
/// thread's freed 19 MiB in that thread's arena otherwise.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Checks `password` against `phc` in `memory` (grown to the hash's need, kept).
fn verify_with(memory: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else { return false };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else { return false };
    if params.m_cost() > MAX_MEMORY_KIB {
        tracing::error!(m_cost_kib = params.m_cost(), "a stored password hash needs too much memory to check");
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks]).is_err() {
        return false;
    }
    // `Output`'s equality takes the same time wherever the bytes differ.
    Output::new(&out).is_ok_and(|o| o == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_agree_with_argon2_and_a_full_queue_is_busy() {
        let phc = crate::auth::hash_password("correct horse battery").expect("hash");
        let checker = PasswordChecker::start(1, 1);
        assert_eq!(checker.verify("correct horse battery", &phc).await, Ok(true));
        assert_eq!(checker.verify("correct horse battery!", &phc).await, Ok(false));
        assert_eq!(checker.verify("x", "not a hash").await, Ok(false));
        // One running, one waiting: the rest are told at once.
        let checks: Vec<_> = (0..8).map(|_| checker.verify("wrong", &phc)).collect();
        let answers = futures::future::join_all(checks).await;
        let busy = answers.iter().filter(|a| **a == Err(Busy)).count();
        assert!(busy >= 4, "{answers:?}");
        assert!(answers.iter().all(|a| *a != Ok(true)));
    }
}
