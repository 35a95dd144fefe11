//! A count of work in flight that shutdown and retirement wait on: each piece of work holds a
//! guard, and waiting for idle is a wait on a `watch` channel, so nothing polls.

use std::sync::Arc;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

/// Work in flight: cloned handles share one count.
#[derive(Debug, Clone)]
pub struct InFlight {
    count: Arc<watch::Sender<usize>>,
}

/// One piece of work; the count goes down when it is dropped, however the work ended.
#[derive(Debug)]
#[must_use = "the work counts as in flight only while its guard is held"]
pub struct InFlightGuard {
    count: Arc<watch::Sender<usize>>,
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            count: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl InFlight {
    /// Counts one more piece of work until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard {
        self.count.send_modify(|count| *count += 1);
        InFlightGuard {
            count: Arc::clone(&self.count),
        }
    }

    /// How much work is in flight now.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Waits until no work is in flight.
    pub async fn idle(&self) {
        let mut receiver = self.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = receiver.wait_for(|count| *count == 0).await;
    }

    /// Waits until no work is in flight or `deadline` passes; returns whether it became idle.
    pub async fn idle_by(&self, deadline: Instant) -> bool {
        timeout_at(deadline, self.idle()).await.is_ok()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.count
            .send_modify(|count| *count = count.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn guards_count_the_work_until_dropped() {
        let work = InFlight::default();
        let first = work.enter();
        let second = work.clone().enter();
        assert_eq!(work.count(), 2);
        drop(first);
        assert_eq!(work.count(), 1);
        drop(second);
        assert_eq!(work.count(), 0);
    }

    #[actix_rt::test]
    async fn idle_returns_at_once_without_work() {
        let work = InFlight::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        assert!(work.idle_by(deadline).await);
    }

    #[actix_rt::test]
    async fn idle_waits_for_the_last_guard() {
        let work = InFlight::default();
        let guard = work.enter();
        let waiter = {
            let work = work.clone();
            actix_rt::spawn(async move { work.idle().await })
        };
        actix_rt::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(guard);
        let finished = timeout_at(Instant::now() + Duration::from_secs(30), waiter).await;
        assert!(finished.is_ok());
    }

    #[actix_rt::test]
    async fn idle_by_gives_up_at_the_deadline() {
        let work = InFlight::default();
        let _guard = work.enter();
        assert!(!work.idle_by(Instant::now()).await);
        assert_eq!(work.count(), 1);
    }
}
