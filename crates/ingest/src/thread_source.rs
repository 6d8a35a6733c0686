//! A source fed by a thread of its own: for work that blocks or burns CPU (reading and
//! decoding a file, rendering the simulator) and must stay off the async runtime.

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::source::{LiveSource, Packet, SourceError, SourceErrorKind};

/// Hands packets from the producing thread to the source; `send` blocks while the
/// consumer is two packets behind, and fails once the source is dropped.
pub struct PacketSender(mpsc::Sender<Result<Packet, SourceError>>);

impl PacketSender {
    /// False when the source was dropped: the thread should end.
    pub fn send(&self, packet: Result<Packet, SourceError>) -> bool {
        self.0.blocking_send(packet).is_ok()
    }
}

pub struct ThreadSource {
    rx: mpsc::Receiver<Result<Packet, SourceError>>,
    description: String,
    interval_s: Option<f64>,
}

impl ThreadSource {
    /// Runs `produce` on a new thread named `name`.
    pub fn spawn(
        name: String,
        description: String,
        interval_s: Option<f64>,
        produce: impl FnOnce(PacketSender) + Send + 'static,
    ) -> Result<Self, SourceError> {
        let (tx, rx) = mpsc::channel(2);
        std::thread::Builder::new()
            .name(name)
            .spawn(move || produce(PacketSender(tx)))
            .map_err(|e| SourceError::new(SourceErrorKind::Protocol, format!("cannot start a reader thread: {e}")))?;
        Ok(Self { rx, description, interval_s })
    }
}

impl LiveSource for ThreadSource {
    fn next(&mut self) -> BoxFuture<'_, Result<Packet, SourceError>> {
        Box::pin(async move {
            match self.rx.recv().await {
                Some(p) => p,
                None => Err(SourceError::new(SourceErrorKind::Ended, "the reader thread ended")),
            }
        })
    }

    fn announced_interval_s(&self) -> Option<f64> {
        self.interval_s
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
