//! How often logins may be tried: rates per client address and overall, and the lockout
//! of a user name from one address after repeated wrong passwords.
//!
//! - [`RateLimits`]: a token bucket per client address ([`RateLimits::PER_ADDRESS`]) and
//!   one for the whole server ([`RateLimits::OVERALL`]); a login beyond either is
//!   refused (429) before anything is looked up or logged.
//! - [`Lockout`]: keyed on the lower-cased name *and* the client address, so nobody can
//!   keep `admin` locked out from another machine. An attempt is reserved before the
//!   password is checked, so simultaneous tries cannot all get through; an attempt on a
//!   name that does not exist is given back (it counts for nothing).
//! - Both maps are bounded ([`MAX_KEYS`]): expired entries go first, then the oldest.
//!
//! Time is passed in (`now`), so tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sheetsight_base::LockOrRecover;

/// The most entries either map keeps.
pub const MAX_KEYS: usize = 10_000;

/// A token bucket: `burst` tries at once, refilled at `per_s` a second.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub burst: f64,
    pub per_s: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self { tokens: rate.burst, at: now }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * rate.per_s).min(rate.burst);
        self.at = now;
    }

    /// How long until a token is there (zero: now).
    fn wait(&self, rate: Rate) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / rate.per_s).max(0.0))
    }
}

/// Which limit refused a login, and how long to wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refusal {
    /// This address tried too often.
    Address(Duration),
    /// The server as a whole gets too many logins.
    Overall(Duration),
    /// This name is locked for this address.
    Locked(Duration),
}

pub struct RateLimits {
    per_address: Rate,
    overall: Rate,
    buckets: Mutex<(Bucket, HashMap<IpAddr, Bucket>)>,
}

impl RateLimits {
    /// 10 tries at once from one address, then one every 6 s (10 a minute).
    pub const PER_ADDRESS: Rate = Rate { burst: 10.0, per_s: 1.0 / 6.0 };
    /// 60 at once, then 20 a second for the whole server: more than any shop's people
    /// log in, less than the password checks can answer.
    pub const OVERALL: Rate = Rate { burst: 60.0, per_s: 20.0 };

    pub fn new(per_address: Rate, overall: Rate, now: Instant) -> Self {
        Self { per_address, overall, buckets: Mutex::new((Bucket::full(overall, now), HashMap::new())) }
    }

    /// Takes one try for `addr`, or says which limit refuses it.
    pub fn take(&self, addr: IpAddr, now: Instant) -> Result<(), Refusal> {
        let mut guard = self.buckets.lock_or_recover();
        let (overall, map) = &mut *guard;
        if map.len() >= MAX_KEYS && !map.contains_key(&addr) {
            // A full bucket again is the same as no entry: those go first.
            let rate = self.per_address;
            map.retain(|_, b| {
                b.refill(rate, now);
                b.tokens < rate.burst
            });
            evict_oldest(map, |b| b.at);
        }
        let bucket = map.entry(addr).or_insert_with(|| Bucket::full(self.per_address, now));
        bucket.refill(self.per_address, now);
        overall.refill(self.overall, now);
        if bucket.tokens < 1.0 {
            return Err(Refusal::Address(bucket.wait(self.per_address)));
        }
        if overall.tokens < 1.0 {
            return Err(Refusal::Overall(overall.wait(self.overall)));
        }
        bucket.tokens -= 1.0;
        overall.tokens -= 1.0;
        Ok(())
    }
}

/// Drops the oldest tenth of `map` when it is at [`MAX_KEYS`].
fn evict_oldest<K: Clone + std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, at: impl Fn(&V) -> Instant) {
    if map.len() < MAX_KEYS {
        return;
    }
    let mut ages: Vec<(Instant, K)> = map.iter().map(|(k, v)| (at(v), k.clone())).collect();
    ages.sort_by_key(|(t, _)| *t);
    for (_, k) in ages.into_iter().take(MAX_KEYS / 10) {
        map.remove(&k);
    }
}

#[derive(Default)]
struct Attempts {
    /// Wrong passwords within the window.
    failures: Vec<Instant>,
    /// Checks reserved and not yet answered.
    in_flight: usize,
}

/// Wrong passwords per (name, address).
#[derive(Default)]
pub struct Lockout(Mutex<HashMap<(String, IpAddr), Attempts>>);

/// A reserved attempt: [`Lockout::failed`], [`Lockout::succeeded`] or
/// [`Lockout::no_such_user`] settles it.
#[must_use]
#[derive(Debug)]
pub struct Reservation {
    key: (String, IpAddr),
}

impl Lockout {
    pub const MAX_FAILURES: usize = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);
    pub const LOCKOUT: Duration = Duration::from_secs(60);

    /// Reserves an attempt of `name` from `addr`, unless its wrong passwords (counting
    /// the attempts still being checked) have reached [`Lockout::MAX_FAILURES`] within the
    /// window and the last was less than [`Lockout::LOCKOUT`] ago.
    pub fn reserve(&self, name: &str, addr: IpAddr, now: Instant) -> Result<Reservation, Refusal> {
        let key = (name.to_lowercase(), addr);
        let mut map = self.0.lock_or_recover();
        if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            map.retain(|_, a| a.in_flight > 0 || a.failures.iter().any(|t| now.duration_since(*t) < Self::WINDOW));
            evict_oldest(&mut map, |a| a.failures.last().copied().unwrap_or(now));
        }
        let attempts = map.entry(key.clone()).or_default();
        attempts.failures.retain(|t| now.saturating_duration_since(*t) < Self::WINDOW);
        if attempts.failures.len() + attempts.in_flight >= Self::MAX_FAILURES {
            // Checks still running count as failures until they are answered; when
            // none runs, the lock lasts LOCKOUT after the last failure.
            let last = attempts.failures.last().copied();
            let wait = match last {
                Some(t) if attempts.failures.len() >= Self::MAX_FAILURES => {
                    Self::LOCKOUT.saturating_sub(now.saturating_duration_since(t))
                }
                _ => Duration::from_secs(1),
            };
            if !wait.is_zero() {
                return Err(Refusal::Locked(wait));
            }
        }
        attempts.in_flight += 1;
        Ok(Reservation { key })
    }

    fn settle(&self, r: Reservation, failed_at: Option<Instant>, forget: bool) {
        let mut map = self.0.lock_or_recover();
        if forget {
            map.remove(&r.key);
            return;
        }
        if let Some(a) = map.get_mut(&r.key) {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.failures.extend(failed_at);
            if a.in_flight == 0 && a.failures.is_empty() {
                map.remove(&r.key);
            }
        }
    }

    pub fn failed(&self, r: Reservation, now: Instant) {
        self.settle(r, Some(now), false);
    }

    /// The right password: the name's failures from this address are forgotten.
    pub fn succeeded(&self, r: Reservation) {
        self.settle(r, None, true);
    }

    /// The name does not exist: the attempt counts for nothing.
    pub fn no_such_user(&self, r: Reservation) {
        self.settle(r, None, false);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_lockout_holds_for_one_address_only_and_cannot_be_raced() {
        let lockout = Lockout::default();
        let t0 = Instant::now();
        // Sixteen simultaneous tries: only five are let through to the check.
        let reserved: Vec<_> = (0..16).filter_map(|_| lockout.reserve("Admin", A, t0).ok()).collect();
        assert_eq!(reserved.len(), Lockout::MAX_FAILURES);
        for r in reserved {
            lockout.failed(r, t0);
        }
        assert!(matches!(lockout.reserve("admin", A, t0), Err(Refusal::Locked(w)) if w == Lockout::LOCKOUT));
        // The real admin, at another machine, is not locked out.
        let r = lockout.reserve("admin", B, t0).expect("another address");
        lockout.succeeded(r);
        // It ends a minute after the last failure.
        assert!(lockout.reserve("admin", A, t0 + Lockout::LOCKOUT).is_ok());
    }

    #[test]
    fn names_that_do_not_exist_count_for_nothing_and_the_map_is_bounded() {
        let lockout = Lockout::default();
        let t0 = Instant::now();
        for _ in 0..20 {
            let r = lockout.reserve("nobody", A, t0).expect("never locked");
            lockout.no_such_user(r);
        }
        for i in 0..(MAX_KEYS + 500) {
            let r = lockout.reserve(&format!("user{i}"), A, t0).expect("reserve");
            lockout.failed(r, t0);
        }
        assert!(lockout.len() <= MAX_KEYS, "{}", lockout.len());
    }

    #[test]
    fn rates_per_address_and_overall() {
        let t0 = Instant::now();
        let limits = RateLimits::new(Rate { burst: 3.0, per_s: 1.0 }, Rate { burst: 5.0, per_s: 1.0 }, t0);
        for _ in 0..3 {
            assert_eq!(limits.take(A, t0), Ok(()));
        }
        assert!(matches!(limits.take(A, t0), Err(Refusal::Address(w)) if w == Duration::from_secs(1)));
        assert_eq!(limits.take(B, t0), Ok(()));
        assert_eq!(limits.take(B, t0), Ok(()));
        assert!(matches!(limits.take(B, t0), Err(Refusal::Overall(_))), "five in all");
        assert_eq!(limits.take(A, t0 + Duration::from_secs(1)), Ok(()), "refilled");
        for i in 0..(MAX_KEYS as u32 + 100) {
            let _ = limits.take(IpAddr::V4(i.into()), t0 + Duration::from_secs(100));
        }
        assert!(limits.buckets.lock().map(|b| b.1.len()).unwrap_or(0) <= MAX_KEYS);
    }
}
