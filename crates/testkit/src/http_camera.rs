//! HTTP cameras that behave as badly as real ones: an MJPEG stream that sends a
//! truncated picture, then garbage, then hangs; a snapshot URL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What one connection gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Good pictures at `fps` until the client leaves.
    Good,
    /// A few good pictures, a truncated one, more good ones, garbage, then silence.
    TruncatedGarbageHang,
}

/// A loopback server's own thread and runtime, stopped and joined on drop.
struct ServerThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Binds a free loopback port and runs `serve(listener)` on a thread of its own
    /// until dropped.
    fn start<F, Fut>(serve: F) -> (u16, Self)
    where
        F: FnOnce(TcpListener) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = serve(listener) => {}
                    _ = stopped => {}
                }
            });
        });
        (port, Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTP camera on loopback, running on its own thread and runtime.
pub struct HttpCamera {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    _server: ServerThread,
}

impl HttpCamera {
    /// `script[i]` is the behaviour of connection `i` (the last one repeats). With
    /// `snapshot`, every request gets one JPEG instead of a stream.
    pub fn start(script: Vec<Behaviour>, snapshot: bool, fps: f64) -> Self {
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let (port, server) = ServerThread::start(move |listener| async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let behaviour = script.get(n).or(script.last()).copied().unwrap_or(Behaviour::Good);
                tokio::spawn(serve_one(socket, behaviour, snapshot, fps));
            }
        });
        Self { port, connections, _server: server }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/video", self.port)
    }
}

async fn serve_one(mut socket: TcpStream, behaviour: Behaviour, snapshot: bool, fps: f64) {
    let mut request = [0u8; 4096];
    if socket.read(&mut request).await.is_err() {
        return;
    }
    let picture = crate::jpeg(320, 240, 90);
    if snapshot {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            picture.len()
        );
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(&picture).await;
        return;
    }
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nConnection: close\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let interval = Duration::from_secs_f64(1.0 / fps);
    let part = |body: &[u8]| {
        let mut p =
            format!("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    };
    let mut sent = 0u64;
    loop {
        let chunk = match behaviour {
            Behaviour::TruncatedGarbageHang if sent == 10 => part(&picture[..picture.len() / 3]),
            Behaviour::TruncatedGarbageHang if sent == 20 => {
                (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()
            }
            Behaviour::TruncatedGarbageHang if sent > 20 => {
                // Hang: keep the connection open and send nothing.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            _ => part(&picture),
        };
        if socket.write_all(&chunk).await.is_err() {
            return;
        }
        sent += 1;
        tokio::time::sleep(interval).await;
    }
}

/// A camera's snapshot URL whose picture the test sets: every GET gets the bytes set
/// last (`Content-Type` from their first bytes). Runs on its own thread and runtime.
pub struct SnapshotCamera {
    pub port: u16,
    picture: Arc<std::sync::Mutex<Vec<u8>>>,
    _server: ServerThread,
}

impl SnapshotCamera {
    pub fn start(picture: Vec<u8>) -> Self {
        let picture = Arc::new(std::sync::Mutex::new(picture));
        let shared = picture.clone();
        let (port, server) = ServerThread::start(move |listener| async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let bytes = shared.lock().map(|p| p.clone()).unwrap_or_default();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let kind = if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&bytes).await;
                });
            }
        });
        Self { port, picture, _server: server }
    }

    /// What the next GETs get.
    pub fn set(&self, picture: Vec<u8>) {
        if let Ok(mut p) = self.picture.lock() {
            *p = picture;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/snapshot", self.port)
    }
}
