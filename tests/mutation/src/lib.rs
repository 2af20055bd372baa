//! The deterministic random source shared by the parsers' mutation tests
//! (sipmsg, sipdigest, sdp, cwmp, httpwire, ...).
//!
//! Every `cargo test` runs thousands of damaged inputs through each parser
//! of untrusted data (the fuzz targets do the same with coverage guidance,
//! but only in the fuzz stage). The sequence must be the same on every run,
//! so a failure reproduces from its seed; no dependency is needed for that,
//! so this is xorshift64* (Vigna), which is plenty for choosing mutations.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// xorshift64*: a fixed sequence for a given seed.
///
/// ```
/// let mut a = mutation::Rng::new(7);
/// let mut b = mutation::Rng::new(7);
/// assert_eq!(a.next(), b.next());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_bounded() {
        let mut a = Rng::new(42);
        let first: Vec<u64> = (0..4).map(|_| a.next()).collect();
        let mut b = Rng::new(42);
        assert_eq!(first, (0..4).map(|_| b.next()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
        assert!((0..1000).all(|_| a.below(3) < 3));
        assert_eq!(a.below(0), 0);
        assert_ne!(Rng::new(0).next(), 0);
    }
}
