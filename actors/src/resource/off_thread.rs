//! A holder that drops its value on a plain thread, never on an async runtime thread.
//!
//! The sync `postgres` client owns a Tokio runtime; dropping it (or a pool holding idle clients) on an
//! actix thread panics or aborts the process. Actors can be dropped anywhere, including by a panic, so
//! the pool they own is wrapped in this type.

use std::ops::Deref;

/// Owns `T` and drops it on a short-lived helper thread.
pub struct OffThreadDrop<T: Send + 'static> {
    inner: Option<T>,
}

impl<T: Send + 'static> OffThreadDrop<T> {
    pub fn new(value: T) -> Self {
        OffThreadDrop { inner: Some(value) }
    }
}

impl<T: Send + 'static> Deref for OffThreadDrop<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.inner {
            Some(value) => value,
            // `inner` is only taken in `drop`, after which no reference can exist.
            None => unreachable!("value taken before drop"),
        }
    }
}

impl<T: Send + 'static> Drop for OffThreadDrop<T> {
    fn drop(&mut self) {
        if let Some(value) = self.inner.take() {
            // If no thread can be spawned the value is leaked rather than dropped in a runtime.
            let spawned = std::thread::Builder::new()
                .name("relay-drop".into())
                .spawn(move || drop(value));
            if let Err(err) = spawned {
                eprintln!("relay: could not spawn a drop thread: {err}");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Probe(mpsc::Sender<String>);

    impl Drop for Probe {
        fn drop(&mut self) {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            let _ = self.0.send(name);
        }
    }

    #[test]
    fn drops_on_a_helper_thread() {
        let (tx, rx) = mpsc::channel();
        drop(OffThreadDrop::new(Probe(tx)));
        assert_eq!(rx.recv().unwrap(), "relay-drop");
    }
}
