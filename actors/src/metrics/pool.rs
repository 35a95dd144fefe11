//! The gauges of one resource's connection pool and of the operations waiting for a connection,
//! handed to the backend that owns the pool so that it records without knowing Prometheus.

use prometheus_client::metrics::gauge::Gauge;

/// How one resource's pool stands and how many operations wait for it. The default records
/// nowhere (for a pool outside `relay run`, such as `relay check --connect`'s).
#[derive(Clone, Debug, Default)]
pub struct PoolGauges {
    in_use: Gauge,
    idle: Gauge,
    queued: Gauge,
}

/// One operation waiting for a connection: counted in the queue depth until dropped, so a wait
/// that times out or is cancelled leaves the queue too.
#[derive(Debug)]
#[must_use = "the wait ends when this is dropped"]
pub struct Waiting {
    queued: Gauge,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.queued.dec();
    }
}

impl PoolGauges {
    pub(super) fn new(in_use: Gauge, idle: Gauge, queued: Gauge) -> Self {
        PoolGauges {
            in_use,
            idle,
            queued,
        }
    }

    /// The pool now has `in_use` connections handed out (or being opened) and `idle` unused.
    pub fn connections(&self, in_use: u32, idle: u32) {
        self.in_use.set(i64::from(in_use));
        self.idle.set(i64::from(idle));
    }

    /// An operation starts waiting for a connection.
    pub fn waiting(&self) -> Waiting {
        self.queued.inc();
        Waiting {
            queued: self.queued.clone(),
        }
    }

    /// A wait the pool itself reports the start and the end of (the MongoDB driver's check-outs).
    pub fn wait_started(&self) {
        self.queued.inc();
    }

    pub fn wait_ended(&self) {
        self.queued.dec();
    }

    /// Connections in use, as last recorded.
    pub fn in_use(&self) -> u64 {
        non_negative(self.in_use.get())
    }

    pub fn idle(&self) -> u64 {
        non_negative(self.idle.get())
    }

    /// Operations waiting for a connection now.
    pub fn queued(&self) -> u64 {
        non_negative(self.queued.get())
    }
}

/// A gauge's value as a count: a start and an end seen out of order may dip below zero briefly.
pub(super) fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_leaves_the_queue_when_dropped() {
        let gauges = PoolGauges::default();
        let first = gauges.waiting();
        let second = gauges.waiting();
        gauges.wait_started();
        assert_eq!(gauges.queued(), 3);
        drop(first);
        gauges.wait_ended();
        assert_eq!(gauges.queued(), 1);
        drop(second);
        assert_eq!(gauges.queued(), 0);
        gauges.connections(2, 3);
        assert_eq!((gauges.in_use(), gauges.idle()), (2, 3));
    }
}
