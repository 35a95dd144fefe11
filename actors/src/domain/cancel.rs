//! A request's cancellation: set once, remembered, and awaitable by whatever waits for the request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// A request's cancellation, made when the request arrives and shared by the control plane (which
/// sets it on `cancel`), the resource (on a cancel or at the deadline) and whatever waits or runs
/// for the request; a cancel is remembered, so one that comes early still counts.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<CancelState>,
}

#[derive(Debug)]
struct CancelState {
    /// Tells this request from another of the same id (one the control plane sent again after a
    /// reconnect while the first still runs).
    key: RequestKey,
    cancelled: AtomicBool,
    notify: Notify,
}

/// One request's identity within the process, unlike its id, which the control plane chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestKey(u64);

impl Default for CancelState {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        CancelState {
            key: RequestKey(NEXT.fetch_add(1, Ordering::Relaxed)),
            cancelled: AtomicBool::default(),
            notify: Notify::default(),
        }
    }
}

impl CancelHandle {
    /// The request this cancellation belongs to.
    pub fn key(&self) -> RequestKey {
        self.inner.key
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes once the request is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
