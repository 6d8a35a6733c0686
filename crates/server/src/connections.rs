//! Accepting connections with bounds that hold whatever a client does.
//!
//! - At most [`ConnectionLimits::max_total`] connections at once, and at most
//!   [`ConnectionLimits::max_per_address`] from one client address; a connection beyond
//!   either is closed at once (and counted in the log at most once a minute).
//! - Request headers must arrive within [`ConnectionLimits::header_timeout`] (slowloris).
//! - A connection on which nothing is read or written for
//!   [`ConnectionLimits::idle_timeout`] is closed (live streams write at least every 15 s).
//! - A request must be answered (its body read, its handler run) within
//!   [`REQUEST_TIMEOUT`]: 408 otherwise; streamed answers (SSE, MJPEG) are not limited
//!   once their headers are sent.
//!
//! Invariant: every accepted connection holds one place of the total and one of its
//! address until its task ends, whichever way it ends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use sheetsight_base::LockOrRecover;
use sheetsight_base::shutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::error::ApiError;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnectionLimits {
    pub max_total: usize,
    pub max_per_address: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl From<&sheetsight_config::ServerConfig> for ConnectionLimits {
    fn from(c: &sheetsight_config::ServerConfig) -> Self {
        Self {
            max_total: c.max_connections,
            max_per_address: c.max_connections_per_address,
            header_timeout: Duration::from_secs_f64(c.header_timeout_s),
            idle_timeout: Duration::from_secs_f64(c.idle_timeout_s),
        }
    }
}

/// Places taken, in all and per address.
#[derive(Default)]
struct Places {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// One connection's places; given back on drop.
struct Place {
    places: Arc<Mutex<Places>>,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut p = self.places.lock_or_recover();
        p.total = p.total.saturating_sub(1);
        if let Some(n) = p.per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                p.per_address.remove(&self.ip);
            }
        }
    }
}

fn take_place(places: &Arc<Mutex<Places>>, ip: IpAddr, limits: &ConnectionLimits) -> Option<Place> {
    let mut p = places.lock_or_recover();
    let from_ip = p.per_address.get(&ip).copied().unwrap_or(0);
    if p.total >= limits.max_total || from_ip >= limits.max_per_address {
        return None;
    }
    p.total += 1;
    *p.per_address.entry(ip).or_default() += 1;
    Some(Place { places: places.clone(), ip })
}

/// A socket that notes when it last read or wrote.
struct Watched<S> {
    inner: S,
    last_activity_ms: Arc<AtomicU64>,
    started: Instant,
}

impl<S> Watched<S> {
    fn touch(&self) {
        self.last_activity_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Answers 408 when a request is not answered within [`REQUEST_TIMEOUT`].
pub async fn request_deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!("the request was not complete within {} s", REQUEST_TIMEOUT.as_secs()),
        )
        .into_response(),
    }
}

/// Serves `app` on `listener` until shutdown; open connections are then asked
/// to finish (live streams end on `stop` themselves).
pub async fn serve(listener: TcpListener, app: Router, limits: ConnectionLimits, stop: shutdown::Receiver) {
    let places = Arc::new(Mutex::new(Places::default()));
    let mut last_refusal_log: Option<Instant> = None;
    let mut refused_since_log = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.wait() => return,
        };
        let Some(place) = take_place(&places, peer.ip(), &limits) else {
            refused_since_log += 1;
            if last_refusal_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                tracing::warn!(
                    address = %peer.ip(),
                    refused = refused_since_log,
                    max_total = limits.max_total,
                    max_per_address = limits.max_per_address,
                    "connections refused: too many open"
                );
                last_refusal_log = Some(Instant::now());
                refused_since_log = 0;
            }
            drop(stream);
            continue;
        };
        tokio::spawn(connection(stream, peer, app.clone(), limits, place, stop.clone()));
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    _place: Place,
    stop: shutdown::Receiver,
) {
    let _ = stream.set_nodelay(true);
    let last_activity_ms = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let io = TokioIo::new(Watched { inner: stream, last_activity_ms: last_activity_ms.clone(), started });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut idle_check = tokio::time::interval(Duration::from_secs(1).min(limits.idle_timeout));
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = idle_check.tick() => {
                let idle = started.elapsed().saturating_sub(Duration::from_millis(last_activity_ms.load(Ordering::Relaxed)));
                if idle >= limits.idle_timeout {
                    tracing::debug!(%peer, idle_s = idle.as_secs_f64(), "idle connection closed");
                    return;
                }
            }
            _ = stop.wait(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
