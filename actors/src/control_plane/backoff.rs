//! Reconnect delays: capped exponential backoff with full jitter, reset after a stable connection.

use std::time::Duration;

/// The first delay's upper bound; with full jitter the first retry comes well under a second.
const BASE_DELAY: Duration = Duration::from_millis(500);

/// A connection that lived at least this long resets the backoff to its first step.
pub const STABLE_CONNECTION: Duration = Duration::from_secs(30);

/// Computes successive reconnect delays.
#[derive(Debug, Clone)]
pub struct Backoff {
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff whose delays never exceed `cap`.
    pub fn new(cap: Duration) -> Self {
        Backoff {
            cap: cap.max(BASE_DELAY),
            attempt: 0,
        }
    }

    /// The next delay: uniformly random in `[0, min(cap, base * 2^attempt))` ("full jitter"), so a fleet
    /// of relays that lost the control plane together does not reconnect together.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(fastrand::f64())
    }

    /// A delay at the cap, for failures that retrying soon cannot fix (bad token, superseded relay).
    /// Jitter keeps it between half the cap and the cap.
    pub fn delay_at_cap(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.cap.mul_f64(0.5 + fastrand::f64() / 2.0)
    }

    /// Starts over, after a connection proved stable.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(20));
        BASE_DELAY.saturating_mul(factor).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_is_under_a_second() {
        for _ in 0..1000 {
            let mut backoff = Backoff::new(Duration::from_secs(30));
            assert!(backoff.next_delay() < Duration::from_secs(1));
        }
    }

    #[test]
    fn delays_grow_but_never_pass_the_cap() {
        let cap = Duration::from_secs(30);
        let mut backoff = Backoff::new(cap);
        let ceilings: Vec<Duration> = (0..12)
            .map(|_| {
                let ceiling = backoff.ceiling();
                assert!(backoff.next_delay() <= cap);
                ceiling
            })
            .collect();
        assert!(ceilings.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(*ceilings.last().unwrap_or(&Duration::ZERO), cap);
    }

    #[test]
    fn reset_returns_to_the_first_step() {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        for _ in 0..8 {
            backoff.next_delay();
        }
        backoff.reset();
        assert_eq!(backoff.ceiling(), BASE_DELAY);
    }

    #[test]
    fn delay_at_cap_stays_in_the_upper_half() {
        let cap = Duration::from_secs(10);
        let mut backoff = Backoff::new(cap);
        for _ in 0..1000 {
            let delay = backoff.delay_at_cap();
            assert!(delay >= cap / 2 && delay <= cap, "{delay:?}");
        }
    }

    #[test]
    fn delays_are_jittered() {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        for _ in 0..6 {
            backoff.next_delay();
        }
        let samples: Vec<Duration> = (0..20)
            .map(|_| {
                let mut copy = backoff.clone();
                copy.next_delay()
            })
            .collect();
        assert!(samples.iter().any(|d| *d != samples[0]));
    }
}
