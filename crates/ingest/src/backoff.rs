//! Exponential backoff with jitter, capped: 0.5 s, 1 s, 2 s, ... up to the cap, each
//! delay drawn from its upper half so that cameras that failed together do not retry
//! together.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

pub struct Backoff {
    initial_s: f64,
    max_s: f64,
    current_s: f64,
    rng: SmallRng,
}

impl Backoff {
    pub fn new(initial_s: f64, max_s: f64, seed: u64) -> Self {
        Self { initial_s, max_s: max_s.max(initial_s), current_s: initial_s, rng: SmallRng::seed_from_u64(seed) }
    }

    /// The next wait; each call doubles the next one up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay_s = self.current_s * self.rng.random_range(0.5..=1.0);
        self.current_s = (self.current_s * 2.0).min(self.max_s);
        Duration::from_secs_f64(delay_s)
    }

    /// After a success: start again from the initial wait.
    pub fn reset(&mut self) {
        self.current_s = self.initial_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(0.5, 30.0, 7);
        let delays: Vec<f64> = (0..12).map(|_| b.next_delay().as_secs_f64()).collect();
        let mut nominal = 0.5_f64;
        for d in &delays {
            assert!(*d >= nominal * 0.5 - 1e-9 && *d <= nominal + 1e-9, "{d} outside [{}, {nominal}]", nominal / 2.0);
            nominal = (nominal * 2.0).min(30.0);
        }
        assert!(delays[11] >= 15.0, "capped at 30 s with jitter: {}", delays[11]);
        let distinct: std::collections::HashSet<u64> = delays.iter().map(|d| d.to_bits()).collect();
        assert_eq!(distinct.len(), delays.len(), "jittered");
        b.reset();
        assert!(b.next_delay().as_secs_f64() <= 0.5);
    }
}
