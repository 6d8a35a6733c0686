//! One task per camera: connect, read, judge health, retry forever.
//!
//! Health is judged on frames *decoded* by the camera's worker (counted in [`Progress`]),
//! not on bytes received, so a camera that sends garbage is not `streaming`:
//! - `connecting` while a connection is being opened;
//! - `streaming` from the first decoded frame;
//! - `stalled` after no decoded frame for [`stall_after`]: ten of the camera's own frame
//!   intervals (measured, else announced, else its `fps`), at least 2 s; dated back to
//!   when the missing frame was due, so its machines are `NotAvailable` from then;
//! - `failed` when the source errs, its frames cannot be decoded (a codec without a
//!   decoder, reported by the worker), or it stays stalled three times that long; then it is
//!   retried: at once when an unreachable camera answers a TCP probe (one a second),
//!   otherwise after a capped, jittered [`Backoff`].
//!
//! Packets go to the worker through an unbounded channel, but never more than
//! [`MAX_QUEUED_PACKETS`] at a time: beyond that they are dropped (and counted), and an
//! H.264/H.265 stream then waits for its next key frame.
//!
//! All waiting is on Tokio's clock, so tests run it on a paused, simulated clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use sheetsight_base::LockOrRecover;
use sheetsight_base::clock::SharedClocks;
use sheetsight_base::shutdown;
use sheetsight_base::time::UnixMillis;
use sheetsight_config::CameraConfig;
use sheetsight_vision::event::CameraHealth;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::probe::wait_for_server;
use crate::source::{LiveSource, Packet, SharedOpener, SourceError, SourceErrorKind};
use crate::tap::PacketTap;

pub const MAX_QUEUED_PACKETS: usize = 32;
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// What the supervisor tells the camera's worker, in order.
#[derive(Debug)]
pub enum CameraMsg {
    Health { health: CameraHealth, detail: Option<String>, at: UnixMillis },
    Packet(Packet),
}

/// Counters shared by the supervisor and the worker.
#[derive(Debug, Default)]
pub struct Progress {
    /// Frames decoded by the worker since the start.
    pub frames_decoded: AtomicU64,
    /// The worker's running estimate of the camera's frame interval, µs (0: none yet).
    pub frame_interval_us: AtomicU64,
    /// Packets sent to the worker and not yet taken.
    pub queued: AtomicUsize,
    /// Packets dropped because the worker was too far behind.
    pub packets_dropped: AtomicU64,
    /// Set by the worker when this connection's frames can never be decoded (a codec
    /// without a decoder): the supervisor then fails the connection at once.
    pub undecodable: std::sync::Mutex<Option<String>>,
}

/// The sending side of a camera's worker.
#[derive(Clone)]
pub struct WorkerLink {
    pub tx: std::sync::mpsc::Sender<CameraMsg>,
    pub progress: Arc<Progress>,
    /// The wall time of health changes.
    pub clocks: SharedClocks,
    /// Sees every packet before the worker's queue (the camera's recorder), if any.
    pub tap: Option<Arc<dyn PacketTap>>,
}

impl WorkerLink {
    fn health(&self, health: CameraHealth, detail: Option<String>) {
        self.health_at(health, detail, self.clocks.realtime());
    }

    fn health_at(&self, health: CameraHealth, detail: Option<String>, at: UnixMillis) {
        let _ = self.tx.send(CameraMsg::Health { health, detail, at });
    }
}

/// Ten frame intervals, at least 2 s.
pub fn stall_after(interval_s: f64) -> Duration {
    Duration::from_secs_f64((10.0 * interval_s).max(2.0))
}

enum StreamEnd {
    Stop,
    Failed(SourceError),
}

/// Runs one camera until shutdown.
pub async fn supervise(camera: CameraConfig, opener: SharedOpener, link: WorkerLink, stop: shutdown::Receiver) {
    let seed =
        camera.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut backoff = Backoff::new(0.5, camera.retry_max_s, seed);
    let display = camera.public_source();
    // Library errors quote URLs (with their query): nothing leaves this task unredacted.
    let secrets = camera.secrets();
    let mut last_failure: Option<String> = None;
    loop {
        if stop.is_shut_down() {
            return;
        }
        link.health(CameraHealth::Connecting, None);
        let opened = tokio::select! {
            r = tokio::time::timeout(OPEN_TIMEOUT, opener.open(&camera)) => r,
            _ = stop.wait() => return,
        };
        let failure = match opened {
            Err(_) => SourceError::new(
                SourceErrorKind::Unreachable,
                format!("{display}: no answer within {} s", OPEN_TIMEOUT.as_secs()),
            ),
            Ok(Err(e)) => e,
            Ok(Ok(mut source)) => {
                tracing::info!(camera = %camera.id, source = %source.describe(), "connected");
                last_failure = None;
                let end = read(&camera, &mut *source, &link, &stop, &mut backoff).await;
                if let Some(tap) = &link.tap {
                    tap.broken();
                }
                match end {
                    StreamEnd::Stop => return,
                    StreamEnd::Failed(e) => e,
                }
            }
        };
        let failure = SourceError::new(failure.kind, secrets.redact(&failure.message));
        // A camera down for days fails the same way every 30 s: say it once, then at debug level.
        if last_failure.as_deref() == Some(failure.message.as_str()) {
            tracing::debug!(camera = %camera.id, error = %failure.message, "camera failed again");
        } else {
            tracing::warn!(camera = %camera.id, error = %failure.message, kind = ?failure.kind, "camera failed");
            last_failure = Some(failure.message.clone());
        }
        link.health(CameraHealth::Failed, Some(failure.message.clone()));
        if failure.kind == SourceErrorKind::Ended {
            // A file that does not loop: nothing more will come.
            return;
        }
        let delay = backoff.next_delay();
        let address = (failure.kind == SourceErrorKind::Unreachable).then(|| opener.address(&camera)).flatten();
        let waited = tokio::select! {
            _ = wait_for_server(delay, address.as_deref(), PROBE_INTERVAL) => true,
            _ = stop.wait() => false,
        };
        if !waited {
            return;
        }
    }
}

async fn read(
    camera: &CameraConfig,
    source: &mut dyn LiveSource,
    link: &WorkerLink,
    stop: &shutdown::Receiver,
    backoff: &mut Backoff,
) -> StreamEnd {
    let fallback_interval_s = source.announced_interval_s().or(camera.fps.map(|f| 1.0 / f)).unwrap_or(1.0);
    let progress = &link.progress;
    // A verdict about an earlier connection does not apply to this one.
    progress.undecodable.lock_or_recover().take();
    let mut decoded = progress.frames_decoded.load(Ordering::Relaxed);
    let mut last_frame = Instant::now();
    let mut health = CameraHealth::Connecting;
    let mut wait_for_key = false;
    let mut check = tokio::time::interval(CHECK_INTERVAL);
    loop {
        let next = source.next();
        tokio::pin!(next);
        loop {
            tokio::select! {
                packet = &mut next => {
                    match packet {
                        Ok(p) => {
                            if let Some(tap) = &link.tap {
                                tap.packet(&p);
                            }
                            if progress.queued.load(Ordering::Relaxed) >= MAX_QUEUED_PACKETS
                                || (wait_for_key && !p.payload.is_key())
                            {
                                wait_for_key = true;
                                progress.packets_dropped.fetch_add(1, Ordering::Relaxed);
                            } else {
                                wait_for_key = false;
                                progress.queued.fetch_add(1, Ordering::Relaxed);
                                let _ = link.tx.send(CameraMsg::Packet(p));
                            }
                        }
                        Err(e) => return StreamEnd::Failed(e),
                    }
                    break;
                }
                _ = check.tick() => {
                    if let Some(reason) = progress.undecodable.lock_or_recover().take() {
                        return StreamEnd::Failed(SourceError::new(SourceErrorKind::Unsupported, reason));
                    }
                    let now_decoded = progress.frames_decoded.load(Ordering::Relaxed);
                    if now_decoded != decoded {
                        decoded = now_decoded;
                        last_frame = Instant::now();
                        if health != CameraHealth::Streaming {
                            health = CameraHealth::Streaming;
                            backoff.reset();
                            link.health(health, None);
                        }
                        continue;
                    }
                    let measured_us = progress.frame_interval_us.load(Ordering::Relaxed);
                    let interval_s = if measured_us > 0 { measured_us as f64 / 1e6 } else { fallback_interval_s };
                    let stall = stall_after(interval_s);
                    let silent = last_frame.elapsed();
                    if silent > 3 * stall {
                        return StreamEnd::Failed(SourceError::new(
                            SourceErrorKind::Protocol,
                            format!("no usable frame for {:.1} s (expected one every {interval_s:.2} s)", silent.as_secs_f64()),
                        ));
                    }
                    if silent > stall && health == CameraHealth::Streaming {
                        // The camera went blind when the frame after the last one was due.
                        health = CameraHealth::Stalled;
                        let since = UnixMillis::from_unix_s(
                            link.clocks.realtime().as_unix_s() - silent.as_secs_f64() + interval_s,
                        );
                        link.health_at(health, Some(format!("no frame for {:.1} s", silent.as_secs_f64())), since);
                    }
                }
                _ = stop.wait() => return StreamEnd::Stop,
            }
        }
    }
}
