//! Where "now" comes from.
//!
//! Monotonic time and sleeping come from tokio's clock, which tests pause and advance
//! (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`). Wall time comes from
//! a [`Clocks`], injected into whatever stamps or stores a time (the history writer, the
//! camera supervisor, the service): [`RealClocks`] reads the system clock;
//! [`SimulatedClocks`] starts at a fixed wall time and follows tokio's clock from there,
//! so a test that advances tokio's time by an hour sees its heartbeats an hour later,
//! and the two never disagree.

use std::sync::Arc;

use crate::time::UnixMillis;

/// A source of wall time.
pub trait Clocks: Send + Sync + std::fmt::Debug + 'static {
    fn realtime(&self) -> UnixMillis;
}

/// How clocks are passed around.
pub type SharedClocks = Arc<dyn Clocks>;

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealClocks;

impl Clocks for RealClocks {
    fn realtime(&self) -> UnixMillis {
        UnixMillis::now()
    }
}

/// Real clocks, shared.
pub fn real() -> SharedClocks {
    Arc::new(RealClocks)
}

/// Wall time that starts at `boot` and advances with tokio's clock.
#[derive(Debug)]
pub struct SimulatedClocks {
    boot: UnixMillis,
    boot_instant: tokio::time::Instant,
}

impl SimulatedClocks {
    /// Wall time `boot` now; later as tokio's clock advances. Call within a runtime's
    /// context when tokio's clock is paused, so that both start together.
    pub fn new(boot: UnixMillis) -> Self {
        Self { boot, boot_instant: tokio::time::Instant::now() }
    }

    pub fn shared(boot: UnixMillis) -> SharedClocks {
        Arc::new(Self::new(boot))
    }
}

impl Clocks for SimulatedClocks {
    fn realtime(&self) -> UnixMillis {
        self.boot + self.boot_instant.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn simulated_wall_time_follows_tokios_clock() {
        let clocks = SimulatedClocks::new(UnixMillis(1_000_000));
        assert_eq!(clocks.realtime(), UnixMillis(1_000_000));
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(clocks.realtime(), UnixMillis(1_000_000 + 3_600_000));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(clocks.realtime(), UnixMillis(1_000_000 + 3_600_250));
    }

    #[test]
    fn real_clocks_read_the_system_clock() {
        let before = UnixMillis::now();
        let read = RealClocks.realtime();
        assert!(read >= before && read.millis_since(before) < 60_000);
    }
}
