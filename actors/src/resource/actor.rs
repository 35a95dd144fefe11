//! The resource actor, generic over its engine: owns what every engine shares (the allow-list,
//! admission, result slots, the deadline, health bookkeeping, retire and cancellation) and hands
//! the engine's own work to its [`Backend`].

use super::admission::Admission;
use super::backend::{Backend, Limits, RunContext};
use super::drain::{shutting_down, ShutdownState};
use super::running::{Running, RunningRequest};
use crate::domain::RequestKey;
use crate::in_flight::InFlight;
use crate::messages::{CancelRequest, HealthChanged, OperationError, Produced, RunOperation};
use crate::metrics::{Metrics, PoolGauges};
use crate::protocol::{ErrorCode, ResourceHealth};
use actix::fut::wrap_future;
use actix::ResponseActFuture;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient};
use slog::Logger;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// What every resource is started with, whatever its engine.
pub struct ResourceSetup {
    pub spec: Arc<relay_config::Resource>,
    pub health_interval: Duration,
    pub supervisor: Recipient<HealthChanged>,
    /// Tagged with the resource's type and id.
    pub log: Logger,
    pub metrics: Arc<Metrics>,
    pub gauges: PoolGauges,
}

/// The resource actor.
pub struct Resource<B: Backend> {
    pub(super) spec: Arc<relay_config::Resource>,
    pub(super) health_interval: Duration,
    pub(super) supervisor: Recipient<HealthChanged>,
    pub(super) log: Logger,
    pub(super) backend: Rc<B>,
    pub(super) health: ResourceHealth,
    admission: Admission,
    /// Every request admitted and not yet answered, by its own key (not its id).
    pub(super) running: Running,
    /// A health check is due early, when the next connection attempt may start.
    pub(super) reconnect_scheduled: bool,
    /// A health check runs (it may wait long for a connection): the next one is not started.
    pub(super) health_check_running: bool,
    metrics: Arc<Metrics>,
    gauges: PoolGauges,
    /// A reload removed or replaced this resource: it finishes what runs, then stops.
    pub(super) retiring: bool,
    /// Operations admitted and not yet answered; retiring and draining wait on it.
    pub(super) work: InFlight,
    /// The relay is shutting down: no new work, no health checks (see `drain.rs`).
    pub(super) shutdown: ShutdownState,
}

impl<B: Backend> Resource<B> {
    pub fn new(setup: ResourceSetup, backend: B) -> Self {
        let ResourceSetup {
            spec,
            health_interval,
            supervisor,
            log,
            metrics,
            gauges,
        } = setup;
        Resource {
            health: ResourceHealth::unknown(&spec.id, spec.display_name()),
            admission: Admission::for_spec(&spec),
            spec,
            health_interval,
            supervisor,
            log,
            backend: Rc::new(backend),
            running: Running::new(),
            reconnect_scheduled: false,
            health_check_running: false,
            metrics,
            gauges,
            retiring: false,
            work: InFlight::default(),
            shutdown: ShutdownState::default(),
        }
    }

    /// The allow-list, a place in the resource (or `busy`), then the engine's policy.
    fn admit(
        &self,
        message: &RunOperation,
    ) -> Result<(B::Plan, OwnedSemaphorePermit), OperationError> {
        // While draining, what arrives was accepted by the control plane before it stopped
        // taking requests, and is served; only after the grace period is it refused.
        if self.shutdown.grace_over {
            return Err(shutting_down());
        }
        let request = &message.request;
        let operation = request.operation.known().ok_or_else(|| {
            let name: String = request.operation.as_str().chars().take(64).collect();
            OperationError::new(
                ErrorCode::InvalidRequest,
                format!("unknown operation \"{name}\""),
            )
        })?;
        if !self.spec.allowed_operations.contains(&operation) {
            return Err(OperationError::new(
                ErrorCode::OperationNotAllowed,
                format!(
                    "operation {operation} is not allowed on resource {}",
                    self.spec.id
                ),
            ));
        }
        let admitted = self.admission.admit().inspect_err(|_| {
            self.metrics.busy_refusal(&self.spec.id);
        })?;
        let plan = self.backend.plan(operation, &request.params)?;
        Ok((plan, admitted))
    }

    fn publish_in_flight(&self) {
        self.metrics
            .in_flight(&self.spec.id, self.admission.in_flight());
    }
}

/// An admitted request: a result slot within its deadline, then the engine's run. The admission
/// is given back when the run ends; the result slot travels with the output until it is masked.
async fn run_admitted<B: Backend>(
    backend: Rc<B>,
    admission: Admission,
    gauges: PoolGauges,
    plan: B::Plan,
    context: RunContext,
    admitted: OwnedSemaphorePermit,
) -> Result<Produced, OperationError> {
    let slot = {
        let _waiting = gauges.waiting();
        admission
            .result_slot(&context.deadline, &context.cancel)
            .await?
    };
    let output = backend.run(plan, context).await;
    drop(admitted);
    Ok(Produced {
        output: output?,
        slot: Some(slot),
    })
}

impl<B: Backend> Actor for Resource<B> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check_health(ctx);
        let health_loop =
            ctx.run_interval(self.health_interval, |actor, ctx| actor.check_health(ctx));
        self.shutdown.health_loop = Some(health_loop);
    }
}

impl<B: Backend> Handler<RunOperation> for Resource<B> {
    type Result = ResponseActFuture<Self, Result<Produced, OperationError>>;

    fn handle(&mut self, message: RunOperation, ctx: &mut Context<Self>) -> Self::Result {
        let (plan, admitted) = match self.admit(&message) {
            Ok(admitted) => admitted,
            Err(err) => return Box::pin(actix::fut::ready(Err(err))),
        };
        let cancel = message.cancel;
        let mut running_request = RunningRequest::new(cancel.clone());
        // Keyed by the request's own key, not its id: an id the control plane reused after a
        // reconnect may still run from the old session.
        let key = cancel.key();
        running_request.deadline_timer = Some(ctx.run_later(
            message.deadline.remaining() + DEADLINE_TIMER_LAG,
            move |actor, _ctx| actor.deadline_passed(key),
        ));
        self.running.insert(key, running_request);
        self.publish_in_flight();
        let budget_ms = message.deadline.budget().as_millis();
        let context = RunContext {
            deadline: message.deadline,
            limits: Limits::of(&self.spec),
            cancel,
            masking: message.masking,
        };
        let running = self.work.enter();
        let work = run_admitted(
            Rc::clone(&self.backend),
            self.admission.clone(),
            self.gauges.clone(),
            plan,
            context,
            admitted,
        );
        Box::pin(
            wrap_future::<_, Self>(work).map(move |outcome, actor, ctx| {
                drop(running);
                let outcome = match actor.running.remove(&key) {
                    Some(ended) => {
                        if let Some(timer) = ended.deadline_timer {
                            ctx.cancel_future(timer);
                        }
                        ended.answer(outcome, budget_ms)
                    }
                    None => outcome,
                };
                let outcome = actor.shutdown.answer(outcome);
                if actor.retiring {
                    return outcome;
                }
                actor.publish_in_flight();
                if outcome.is_err() {
                    actor.follow_connection(ctx);
                }
                outcome
            }),
        )
    }
}

impl<B: Backend> Handler<CancelRequest> for Resource<B> {
    type Result = ();

    fn handle(&mut self, cancel: CancelRequest, _ctx: &mut Context<Self>) {
        if let Some(running) = self.running.get(&cancel.cancel.key()) {
            running.cancel.cancel();
            self.backend.cancel(&running.cancel);
        }
    }
}

/// How long after a request's deadline its timer cancels it: the waits bounded by the deadline
/// answer first, saying what they waited for; the timer stops a statement that runs on.
const DEADLINE_TIMER_LAG: Duration = Duration::from_millis(20);

impl<B: Backend> Resource<B> {
    /// The deadline of a request still running passed: it is cancelled, and answered `timeout`.
    fn deadline_passed(&mut self, key: RequestKey) {
        if let Some(running) = self.running.get_mut(&key) {
            running.expired = true;
            running.deadline_timer = None;
            running.cancel.cancel();
            self.backend.cancel(&running.cancel);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{CancelHandle, Deadline};
    use crate::resource::health::HealthError;
    use crate::resource::{DatabaseHealth, LocalFuture};
    use relay_config::Operation;
    use serde_json::Value;
    use std::cell::Cell;
    use std::time::Instant;

    /// Counts the operations it was asked to run.
    #[derive(Default)]
    struct Counting {
        runs: Cell<u32>,
    }

    impl Backend for Counting {
        type Plan = ();

        fn plan(&self, _: Operation, _: &Value) -> Result<(), OperationError> {
            Ok(())
        }

        fn run(
            &self,
            _plan: (),
            _context: RunContext,
        ) -> LocalFuture<Result<crate::messages::OperationOutput, OperationError>> {
            self.runs.set(self.runs.get() + 1);
            Box::pin(async { Ok(Default::default()) })
        }

        fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>> {
            Box::pin(async { Err(HealthError::Unavailable("test".into())) })
        }
    }

    fn context(cancel: CancelHandle) -> RunContext {
        RunContext {
            deadline: Deadline::starting_at(Instant::now(), None, Duration::from_secs(5)),
            limits: Limits {
                max_rows: 10,
                max_bytes: 1 << 20,
            },
            cancel,
            masking: None,
        }
    }

    #[actix_rt::test]
    async fn a_request_cancelled_before_it_arrived_never_reaches_the_database() {
        let backend = Rc::new(Counting::default());
        let admission = Admission::new(1, 0);
        for cancelled_early in [true, false] {
            let cancel = CancelHandle::default();
            if cancelled_early {
                cancel.cancel();
            }
            let admitted = admission.admit().unwrap();
            let outcome = run_admitted(
                Rc::clone(&backend),
                admission.clone(),
                PoolGauges::default(),
                (),
                context(cancel),
                admitted,
            )
            .await;
            match outcome {
                Err(err) => {
                    assert!(cancelled_early);
                    assert_eq!(err.code, ErrorCode::Cancelled);
                    assert_eq!(backend.runs.get(), 0, "a cancelled request ran");
                }
                Ok(_) => assert!(!cancelled_early),
            }
        }
        assert_eq!(backend.runs.get(), 1);
    }
}
