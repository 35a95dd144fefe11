//! The MongoDB driver's pool, followed through its connection-monitoring (CMAP) events: which
//! connections are open and which are handed out, and how many check-outs wait, reported to the
//! resource's pool gauges. The driver keeps one pool per server, so a connection is known by its
//! server's address and its id there.

use crate::metrics::PoolGauges;
use mongodb::event::cmap::CmapEvent;
use mongodb::event::EventHandler;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// A connection: its server's address and its id in that server's pool.
pub type ConnectionKey = (String, u32);

/// What an event changes, as the tracker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolEvent {
    /// A connection is being opened (for a check-out, so it counts as in use).
    Created(ConnectionKey),
    /// It finished its handshake and waits in the pool.
    Ready(ConnectionKey),
    CheckedOut(ConnectionKey),
    CheckedIn(ConnectionKey),
    Closed(ConnectionKey),
    /// A check-out starts waiting, and ends with a connection or a failure.
    CheckoutStarted,
    CheckoutEnded,
}

impl PoolEvent {
    /// The event's meaning for the gauges; `None` for events about the pool as a whole (its
    /// connections each report their own closing).
    pub fn from_cmap(event: &CmapEvent) -> Option<PoolEvent> {
        let key = |address: &mongodb::options::ServerAddress, id: u32| (address.to_string(), id);
        Some(match event {
            CmapEvent::ConnectionCreated(e) => PoolEvent::Created(key(&e.address, e.connection_id)),
            CmapEvent::ConnectionReady(e) => PoolEvent::Ready(key(&e.address, e.connection_id)),
            CmapEvent::ConnectionCheckedOut(e) => {
                PoolEvent::CheckedOut(key(&e.address, e.connection_id))
            }
            CmapEvent::ConnectionCheckedIn(e) => {
                PoolEvent::CheckedIn(key(&e.address, e.connection_id))
            }
            CmapEvent::ConnectionClosed(e) => PoolEvent::Closed(key(&e.address, e.connection_id)),
            CmapEvent::ConnectionCheckoutStarted(_) => PoolEvent::CheckoutStarted,
            CmapEvent::ConnectionCheckoutFailed(_) => PoolEvent::CheckoutEnded,
            _ => return None,
        })
    }
}

/// The open connections of one resource, each either handed out (`true`) or idle.
#[derive(Debug, Default)]
pub struct PoolTracker {
    handed_out: HashMap<ConnectionKey, bool>,
}

impl PoolTracker {
    /// Applies one connection event (check-out waits are not the tracker's business).
    pub fn apply(&mut self, event: PoolEvent) {
        match event {
            PoolEvent::Created(key) | PoolEvent::CheckedOut(key) => {
                self.handed_out.insert(key, true);
            }
            PoolEvent::Ready(key) | PoolEvent::CheckedIn(key) => {
                self.handed_out.insert(key, false);
            }
            PoolEvent::Closed(key) => {
                self.handed_out.remove(&key);
            }
            PoolEvent::CheckoutStarted | PoolEvent::CheckoutEnded => {}
        }
    }

    /// Connections in use and idle.
    pub fn counts(&self) -> (u32, u32) {
        let in_use = self.handed_out.values().filter(|out| **out).count();
        let idle = self.handed_out.len() - in_use;
        (clamp(in_use), clamp(idle))
    }
}

fn clamp(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The driver's event handler for one resource: keeps `gauges` up to date. It runs on the
/// driver's tasks, holding its lock only to update a small map.
pub fn handler(gauges: PoolGauges) -> EventHandler<CmapEvent> {
    let tracker = Mutex::new(PoolTracker::default());
    EventHandler::callback(move |event: CmapEvent| {
        if let Some(event) = PoolEvent::from_cmap(&event) {
            record(&tracker, &gauges, event);
        }
    })
}

/// What one event does to the gauges.
fn record(tracker: &Mutex<PoolTracker>, gauges: &PoolGauges, event: PoolEvent) {
    match event {
        PoolEvent::CheckoutStarted => gauges.wait_started(),
        PoolEvent::CheckoutEnded => gauges.wait_ended(),
        event => {
            let checked_out = matches!(event, PoolEvent::CheckedOut(_));
            let mut tracker = tracker.lock().unwrap_or_else(PoisonError::into_inner);
            tracker.apply(event);
            let (in_use, idle) = tracker.counts();
            drop(tracker);
            gauges.connections(in_use, idle);
            // A check-out's wait ends when its connection is handed out.
            if checked_out {
                gauges.wait_ended();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> ConnectionKey {
        ("db:27017".to_owned(), id)
    }

    #[test]
    fn connections_move_between_in_use_and_idle_until_closed() {
        let mut tracker = PoolTracker::default();
        tracker.apply(PoolEvent::Created(key(1)));
        assert_eq!(tracker.counts(), (1, 0));
        tracker.apply(PoolEvent::Ready(key(1)));
        tracker.apply(PoolEvent::CheckedOut(key(1)));
        tracker.apply(PoolEvent::Created(key(2)));
        assert_eq!(tracker.counts(), (2, 0));
        tracker.apply(PoolEvent::Ready(key(2)));
        tracker.apply(PoolEvent::CheckedIn(key(1)));
        assert_eq!(tracker.counts(), (0, 2));
        tracker.apply(PoolEvent::CheckedOut(key(2)));
        tracker.apply(PoolEvent::Closed(key(1)));
        assert_eq!(tracker.counts(), (1, 0));
        // A connection closed while handed out (an error) leaves at once.
        tracker.apply(PoolEvent::Closed(key(2)));
        assert_eq!(tracker.counts(), (0, 0));
    }

    #[test]
    fn the_same_id_on_two_servers_is_two_connections() {
        let mut tracker = PoolTracker::default();
        tracker.apply(PoolEvent::Created(("a:1".into(), 1)));
        tracker.apply(PoolEvent::Created(("b:1".into(), 1)));
        tracker.apply(PoolEvent::Ready(("b:1".into(), 1)));
        assert_eq!(tracker.counts(), (1, 1));
        // A close the tracker never saw open changes nothing.
        tracker.apply(PoolEvent::Closed(("c:1".into(), 9)));
        assert_eq!(tracker.counts(), (1, 1));
    }

    #[test]
    fn check_outs_wait_in_the_queue_until_handed_a_connection_or_failing() {
        let gauges = PoolGauges::default();
        let tracker = Mutex::new(PoolTracker::default());
        let record = |event| record(&tracker, &gauges, event);
        record(PoolEvent::CheckoutStarted);
        record(PoolEvent::CheckoutStarted);
        record(PoolEvent::Created(key(1)));
        assert_eq!((gauges.queued(), gauges.in_use()), (2, 1));
        record(PoolEvent::Ready(key(1)));
        record(PoolEvent::CheckedOut(key(1)));
        assert_eq!((gauges.queued(), gauges.in_use()), (1, 1));
        record(PoolEvent::CheckoutEnded);
        record(PoolEvent::CheckedIn(key(1)));
        assert_eq!(gauges.queued(), 0);
        assert_eq!((gauges.in_use(), gauges.idle()), (0, 1));
    }
}
