//! Retry delays shared by everything that retries a remote end (uploads, webhooks, live streams):
//! exponential from `first`, doubled per failure up to `cap`, optionally with full jitter so many
//! recordings failing against one endpoint do not retry in lockstep.

use std::time::Duration;

/// An exponential backoff.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The longest wait after the `failures`-th failure (1-based): `first` doubled, at most `cap`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.first.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The wait after the `failures`-th failure with full jitter: uniform in [0, ceiling].
    pub fn delay(&self, failures: u32) -> Duration {
        self.ceiling(failures).mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_its_cap() {
        let b = Backoff { first: Duration::from_millis(500), cap: Duration::from_secs(30) };
        assert_eq!(b.ceiling(1), Duration::from_millis(500));
        assert_eq!(b.ceiling(3), Duration::from_secs(2));
        assert_eq!(b.ceiling(40), Duration::from_secs(30));
        assert!((0..100).all(|_| b.delay(2) <= Duration::from_secs(1)));
    }
}
