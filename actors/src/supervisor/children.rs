//! The watchdog's one way of keeping a child running, whatever its kind: a child that is not
//! running (never started, stopped, or dropped by a panic) is started afresh, and one that had
//! been running is logged as restarted.

use crate::log_event::LogEvent;
use crate::resource::ResourceHandle;
use actix::{Actor, Addr, Context};
use slog::{warn, Logger};

/// Which child a slot holds, for the restart log line.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChildName<'a> {
    pub actor: &'static str,
    pub resource_id: Option<&'a str>,
}

impl<'a> ChildName<'a> {
    pub fn new(actor: &'static str) -> Self {
        ChildName {
            actor,
            resource_id: None,
        }
    }

    pub fn resource(id: &'a str) -> Self {
        ChildName {
            actor: "resource",
            resource_id: Some(id),
        }
    }
}

/// Something the watchdog keeps running: an actor's address, or a resource's handle.
pub(super) trait Child {
    fn running(&self) -> bool;
}

impl<A: Actor> Child for Addr<A> {
    fn running(&self) -> bool {
        self.connected()
    }
}

impl Child for ResourceHandle {
    fn running(&self) -> bool {
        self.connected()
    }
}

/// Whether a child runs in `slot`.
pub(super) fn alive<C: Child>(slot: &Option<C>) -> bool {
    slot.as_ref().is_some_and(Child::running)
}

/// Starts the child `build` makes in `slot` unless one runs there; returns whether it started
/// one, so the caller can do what a fresh child of that kind needs.
pub(super) fn keep_running<A>(
    slot: &mut Option<Addr<A>>,
    name: ChildName<'_>,
    log: &Logger,
    build: impl FnOnce() -> A,
) -> bool
where
    A: Actor<Context = Context<A>>,
{
    keep_started(slot, name, log, || build().start())
}

/// [`keep_running`] for any child: `start` starts it and returns what the slot holds.
pub(super) fn keep_started<C: Child>(
    slot: &mut Option<C>,
    name: ChildName<'_>,
    log: &Logger,
    start: impl FnOnce() -> C,
) -> bool {
    if alive(slot) {
        return false;
    }
    if slot.is_some() {
        match name.resource_id {
            Some(id) => warn!(log, "{}", LogEvent::ActorStoppedUnexpectedly;
                "actor" => name.actor, "resourceId" => id.to_owned()),
            None => warn!(log, "{}", LogEvent::ActorStoppedUnexpectedly; "actor" => name.actor),
        }
    }
    *slot = Some(start());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::ActorContext;

    struct Probe;

    impl Actor for Probe {
        type Context = Context<Self>;
    }

    #[derive(actix::Message)]
    #[rtype(result = "()")]
    struct StopProbe;

    impl actix::Handler<StopProbe> for Probe {
        type Result = ();

        fn handle(&mut self, _: StopProbe, ctx: &mut Context<Self>) {
            ctx.stop();
        }
    }

    fn quiet() -> Logger {
        Logger::root(slog::Discard, slog::o!())
    }

    #[actix_rt::test]
    async fn starts_a_missing_child_and_leaves_a_running_one() {
        let log = quiet();
        let mut slot: Option<Addr<Probe>> = None;
        assert!(keep_running(
            &mut slot,
            ChildName::new("probe"),
            &log,
            || Probe
        ));
        assert!(alive(&slot));
        let first = slot.clone();
        assert!(!keep_running(
            &mut slot,
            ChildName::new("probe"),
            &log,
            || Probe
        ));
        assert_eq!(slot, first);
    }

    #[actix_rt::test]
    async fn restarts_a_child_that_stopped() {
        let log = quiet();
        let mut slot: Option<Addr<Probe>> = None;
        keep_running(&mut slot, ChildName::resource("db"), &log, || Probe);
        let first = slot.clone();
        if let Some(probe) = &first {
            let _ = probe.send(StopProbe).await;
        }
        // The mailbox closes once the stopped actor is dropped.
        while alive(&slot) {
            actix_rt::task::yield_now().await;
        }
        assert!(keep_running(
            &mut slot,
            ChildName::resource("db"),
            &log,
            || Probe
        ));
        assert!(alive(&slot));
        assert_ne!(slot, first);
    }
}
