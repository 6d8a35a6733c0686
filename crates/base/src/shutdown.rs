//! The one signal that stops a process's tasks.
//!
//! [`channel`] gives one [`Sender`] and a [`Receiver`] to clone into every task. Shutdown
//! is requested by [`Sender::shut_down`] or by dropping the sender, so a task never
//! outlives the owner that forgot to ask. Once requested it stays requested.

use tokio::sync::watch;

/// Requests shutdown; dropping it requests shutdown too.
#[derive(Debug)]
pub struct Sender(watch::Sender<bool>);

/// Tells a task whether, and when, to stop. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Receiver(watch::Receiver<bool>);

pub fn channel() -> (Sender, Receiver) {
    let (tx, rx) = watch::channel(false);
    (Sender(tx), Receiver(rx))
}

impl Sender {
    pub fn shut_down(&self) {
        self.0.send_replace(true);
    }
}

impl Receiver {
    /// Whether shutdown has been requested (or the sender dropped).
    pub fn is_shut_down(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Resolves once shutdown is requested; at once if it already was. Cancel-safe, so it
    /// can be one branch of a `select!` in a loop.
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the sender is gone, which is shutdown too.
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn shut_down_wakes_every_receiver_and_stays() {
        let (tx, rx) = channel();
        assert!(!rx.is_shut_down());
        let second = rx.clone();
        let waiter = tokio::spawn(async move { second.wait().await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        tx.shut_down();
        waiter.await.expect("the waiter ends");
        assert!(rx.is_shut_down());
        rx.wait().await;
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_sender_is_shutdown() {
        let (tx, rx) = channel();
        drop(tx);
        assert!(rx.is_shut_down());
        tokio::time::timeout(Duration::from_secs(1), rx.wait()).await.expect("wait ends at once");
    }

    #[tokio::test(start_paused = true)]
    async fn wait_does_not_end_without_shutdown() {
        let (_tx, rx) = channel();
        assert!(tokio::time::timeout(Duration::from_secs(60), rx.wait()).await.is_err());
    }
}
