//! The one timeline: commit timestamps in microseconds since the Unix epoch, strictly
//! increasing across every commit of the database (WAL commits, bulk commits and manifest
//! changes alike): `max(wall clock, last + 1)`.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug)]
pub struct Clock {
    last: AtomicI64,
}

impl Clock {
    /// Starts after `last`, the newest timestamp already on disk.
    pub fn new(last: i64) -> Clock {
        Clock {
            last: AtomicI64::new(last),
        }
    }

    /// The next commit timestamp.
    pub fn next(&self) -> i64 {
        let wall = now_micros();
        let mut last = self.last.load(Ordering::SeqCst);
        loop {
            let next = wall.max(last + 1);
            match self
                .last
                .compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }

    /// The newest timestamp handed out.
    pub fn last(&self) -> i64 {
        self.last.load(Ordering::SeqCst)
    }

    /// Makes sure later timestamps are greater than `ts` (used during recovery).
    pub fn observe(&self, ts: i64) {
        self.last.fetch_max(ts, Ordering::SeqCst);
    }
}

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_even_when_the_clock_is_behind() {
        let clock = Clock::new(now_micros() + 10_000_000);
        let a = clock.next();
        let b = clock.next();
        assert!(b > a);
    }
}
