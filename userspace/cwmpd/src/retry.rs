//! The session retry policy of TR-069 §3.2.1.1: after a failed session the
//! CPE waits a random time in a window that grows with each failure, so a
//! fleet that lost its ACS does not come back all at once.
//!
//! With the defaults (`CWMPRetryMinimumWaitInterval` m = 5 s,
//! `CWMPRetryIntervalMultiplier` k = 2000, i.e. ×2.0) the n-th retry waits
//! between m·(k/1000)^(n-1) and m·(k/1000)^n seconds: 5–10 s, 10–20 s, ...,
//! and from the 10th retry on 2560–5120 s (Table 3 of TR-069).

use std::time::Duration;

/// The retry parameters (TR-181 `Device.ManagementServer.CWMPRetry*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Seconds, 1–65535 (default 5).
    pub minimum_wait: u32,
    /// Per mille, 1000–65535 (default 2000: doubling).
    pub multiplier: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            minimum_wait: 5,
            multiplier: 2000,
        }
    }
}

/// The window stops growing after this many retries (TR-069 Table 3).
const MAX_EXPONENT: u32 = 9;

impl RetryPolicy {
    /// The wait window before retry number `retry_count` (1 for the first
    /// retry; 0 is treated as 1).
    pub fn window(&self, retry_count: u32) -> (Duration, Duration) {
        let m = f64::from(self.minimum_wait.clamp(1, 65535));
        let k = f64::from(self.multiplier.clamp(1000, 65535)) / 1000.0;
        let n = retry_count.clamp(1, MAX_EXPONENT + 1) - 1;
        let low = m * k.powi(n as i32);
        let high = low * k;
        // Bounded: 65535 × 65.535^10 would overflow any sensible timer.
        let cap = 7.0 * 24.0 * 3600.0;
        (
            Duration::from_secs_f64(low.min(cap)),
            Duration::from_secs_f64(high.min(cap)),
        )
    }

    /// A wait in the window, placed by `random` (any 64 random bits).
    pub fn wait(&self, retry_count: u32, random: u64) -> Duration {
        let (low, high) = self.window(retry_count);
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(if span == 0 { 0 } else { random % (span + 1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_3_of_tr069() {
        let p = RetryPolicy::default();
        let want = [
            (1, 5, 10),
            (2, 10, 20),
            (3, 20, 40),
            (4, 40, 80),
            (5, 80, 160),
            (6, 160, 320),
            (7, 320, 640),
            (8, 640, 1280),
            (9, 1280, 2560),
            (10, 2560, 5120),
            (11, 2560, 5120),
            (1000, 2560, 5120),
        ];
        for (n, lo, hi) in want {
            assert_eq!(
                p.window(n),
                (Duration::from_secs(lo), Duration::from_secs(hi)),
                "retry {n}"
            );
        }
        assert_eq!(p.window(0), p.window(1));
    }

    #[test]
    fn waits_stay_in_the_window_and_extremes_are_bounded() {
        let p = RetryPolicy::default();
        for r in [0u64, 1, 4999, 5000, u64::MAX] {
            let w = p.wait(3, r);
            assert!(
                w >= Duration::from_secs(20) && w <= Duration::from_secs(40),
                "{w:?}"
            );
        }
        let wild = RetryPolicy {
            minimum_wait: u32::MAX,
            multiplier: u32::MAX,
        };
        assert!(wild.window(u32::MAX).1 <= Duration::from_secs(7 * 24 * 3600));
        let flat = RetryPolicy {
            minimum_wait: 1,
            multiplier: 1000,
        };
        assert_eq!(flat.window(50), (Duration::from_secs(1), Duration::from_secs(1)));
        assert_eq!(flat.wait(5, 12345), Duration::from_secs(1));
    }
}
