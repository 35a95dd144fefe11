//! Two requests of the same id on one resource (the control plane sent the id again after a
//! reconnect while the first still ran): a cancel or a deadline stops the one it is for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::actor::{Resource, ResourceSetup};
use super::backend::{Backend, CancelHandle, RunContext};
use super::health::HealthError;
use super::{DatabaseHealth, LocalFuture};
use crate::domain::{Deadline, RequestKey};
use crate::messages::{
    CancelRequest, HealthChanged, OperationError, OperationOutput, RunOperation,
};
use crate::protocol::{ErrorCode, Request};
use actix::prelude::*;
use relay_config::Operation;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Longer than any answer here takes; a request nothing stops would otherwise wait forever.
const BOUND: Duration = Duration::from_secs(10);

async fn within<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, work)
        .await
        .expect("answered within the bound")
}

/// Runs until its request is cancelled, and remembers which requests it was told to stop.
#[derive(Default)]
struct UntilCancelled {
    stopped: Rc<RefCell<Vec<RequestKey>>>,
}

impl Backend for UntilCancelled {
    type Plan = ();

    fn plan(&self, _: Operation, _: &Value) -> Result<(), OperationError> {
        Ok(())
    }

    fn run(
        &self,
        _plan: (),
        context: RunContext,
    ) -> LocalFuture<Result<OperationOutput, OperationError>> {
        Box::pin(async move {
            context.cancel.cancelled().await;
            Err(OperationError::new(ErrorCode::Cancelled, "cancelled"))
        })
    }

    fn cancel(&self, request: &CancelHandle) {
        self.stopped.borrow_mut().push(request.key());
    }

    fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>> {
        Box::pin(async { Err(HealthError::Unavailable("test".into())) })
    }
}

struct IgnoresHealth;

impl Actor for IgnoresHealth {
    type Context = Context<Self>;
}

impl Handler<HealthChanged> for IgnoresHealth {
    type Result = ();

    fn handle(&mut self, _: HealthChanged, _: &mut Context<Self>) {}
}

fn spec() -> relay_config::Resource {
    let yaml = "controlPlane: {url: 'wss://cp.example.com/c', token: t, tenantId: a}\n\
         resources:\n  - id: pg\n    type: postgres\n    connection: {host: db, database: d, user: u}\n";
    relay_config::Config::from_yaml_str(yaml, "test.yaml", &|_| None)
        .unwrap()
        .resources
        .remove(0)
}

fn started(backend: UntilCancelled) -> Addr<Resource<UntilCancelled>> {
    let setup = ResourceSetup {
        spec: Arc::new(spec()),
        health_interval: Duration::from_secs(3600),
        supervisor: IgnoresHealth.start().recipient(),
        log: slog::Logger::root(slog::Discard, slog::o!()),
        metrics: Arc::default(),
        gauges: Default::default(),
    };
    Resource::new(setup, backend).start()
}

fn run(timeout_ms: u64, cancel: &CancelHandle) -> RunOperation {
    RunOperation {
        request: Request {
            id: "op-1".into(),
            resource_id: "pg".into(),
            operation: crate::protocol::Operation::Query.into(),
            params: json!({"sql": "select 1"}),
            timeout_ms: Some(timeout_ms),
        },
        deadline: Deadline::after(Duration::from_millis(timeout_ms)),
        cancel: cancel.clone(),
        masking: None,
    }
}

fn cancel_of(cancel: &CancelHandle) -> CancelRequest {
    CancelRequest {
        request_id: "op-1".into(),
        resource_id: "pg".into(),
        cancel: cancel.clone(),
    }
}

#[actix_rt::test]
async fn a_cancel_stops_only_its_own_request_of_a_shared_id() {
    let backend = UntilCancelled::default();
    let stopped = Rc::clone(&backend.stopped);
    let resource = started(backend);
    let (old, new) = (CancelHandle::default(), CancelHandle::default());
    let old_run = resource.send(run(60_000, &old));
    let new_run = resource.send(run(60_000, &new));
    let (old_run, new_run) = (actix_rt::spawn(old_run), actix_rt::spawn(new_run));
    within(resource.send(cancel_of(&old))).await.unwrap();
    let old_answer = within(old_run).await.unwrap().unwrap().unwrap_err();
    assert_eq!(old_answer.code, ErrorCode::Cancelled);
    assert!(
        !new.is_cancelled(),
        "the newer request of the same id ran on"
    );
    assert_eq!(*stopped.borrow(), vec![old.key()]);
    within(resource.send(cancel_of(&new))).await.unwrap();
    let new_answer = within(new_run).await.unwrap().unwrap().unwrap_err();
    assert_eq!(new_answer.code, ErrorCode::Cancelled);
    assert_eq!(*stopped.borrow(), vec![old.key(), new.key()]);
}

#[actix_rt::test]
async fn each_request_of_a_shared_id_keeps_its_own_deadline() {
    let backend = UntilCancelled::default();
    let stopped = Rc::clone(&backend.stopped);
    let resource = started(backend);
    let (early, late) = (CancelHandle::default(), CancelHandle::default());
    let early_run = actix_rt::spawn(resource.send(run(100, &early)));
    // Sent second, with a later deadline: it must not take the first one's place.
    let late_run = actix_rt::spawn(resource.send(run(60_000, &late)));
    let early_answer = within(early_run).await.unwrap().unwrap().unwrap_err();
    assert_eq!(early_answer.code, ErrorCode::Timeout, "{early_answer:?}");
    assert!(!late.is_cancelled());
    assert_eq!(*stopped.borrow(), vec![early.key()]);
    within(resource.send(cancel_of(&late))).await.unwrap();
    assert!(within(late_run).await.unwrap().unwrap().is_err());
}
