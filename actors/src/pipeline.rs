//! The path of one request: resource, then masking, then audit; returns the message to send back.

use crate::audit::gate::AuditGate;
use crate::audit::{AuditRecord, Auditor, Outcome};
use crate::domain::RowMasking;
use crate::in_flight::InFlightGuard;
use crate::masking::Masker;
use crate::messages::{
    AuditReady, Mask, MaskPayload, OperationError, Produced, Record, RunOperation,
};
use crate::metrics::Metrics;
use crate::protocol::{ErrorCode, ErrorMessage, MaskedCounts, OperationResult, Outbound, Request};
use crate::resource::{CancelHandle, Deadline, ResourceHandle};
use actix::Addr;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The actors one request passes through, taken from the published routing table when the
/// request arrives.
pub struct Route {
    pub tenant_id: String,
    /// The resource's type and its handle.
    pub resource: Option<(String, ResourceHandle)>,
    pub masker: Option<Addr<Masker>>,
    /// The engine `masker` masks with, for the resource to mask rows as it writes them.
    pub masking: Option<Arc<dyn RowMasking>>,
    pub auditor: Option<Addr<Auditor>>,
    /// The auditor's published readiness: read instead of asking it, while it says it keeps up.
    pub audit_gate: AuditGate,
    pub metrics: Arc<Metrics>,
    /// Counts the request as in flight until its answer is ready (dropped with the route).
    pub running: Option<InFlightGuard>,
    /// Cancels this request from the moment it arrived: a cancel that comes before the request
    /// reaches its resource is remembered, and the request does not start.
    pub cancel: CancelHandle,
}

/// How long a request waits for the audit trail before it is refused: the auditor's bounded
/// mailbox makes requests wait when it falls behind, and this bounds the wait.
const AUDIT_WAIT: Duration = Duration::from_secs(10);

/// Runs one request to its answer. Never fails: every problem becomes an `error` message. No
/// operation runs unless the audit trail can record it, and no answer leaves unless its record
/// was written.
pub async fn run(route: Route, request: Request) -> Outbound {
    let started = Instant::now();
    let metrics = Arc::clone(&route.metrics);
    let (resource, operation) = (request.resource_id.clone(), request.operation.clone());
    let answer = answer(route, request, started).await;
    metrics.operation_answered(&resource, operation.as_str(), &answer, started.elapsed());
    answer
}

/// A wait that ran out: the request's deadline, or the pipeline's own limit for that wait.
enum Expired {
    Deadline(OperationError),
    Limit,
}

/// Waits for `work` at most `limit` (if any), and never past the request's deadline (if any).
async fn within<T>(
    deadline: Option<Deadline>,
    limit: Option<Duration>,
    what: &str,
    work: impl Future<Output = T>,
) -> Result<T, Expired> {
    let limit_at = limit.map(|limit| Instant::now() + limit);
    let until = match (deadline.map(|d| d.at()), limit_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some(until) = until else {
        return Ok(work.await);
    };
    match tokio::time::timeout_at(until.into(), work).await {
        Ok(value) => Ok(value),
        Err(_) => match deadline.filter(|d| limit_at.is_none_or(|l| d.at() <= l)) {
            Some(deadline) => Err(Expired::Deadline(deadline.expired_error(what))),
            None => Err(Expired::Limit),
        },
    }
}

fn timed_out(request: &Request, err: OperationError) -> Outbound {
    Outbound::Error(ErrorMessage {
        id: Some(request.id.clone()),
        code: err.code,
        message: err.message,
    })
}

async fn answer(route: Route, request: Request, started: Instant) -> Outbound {
    let Some(auditor) = route.auditor.clone() else {
        return audit_unavailable(&request, "the audit trail is restarting");
    };
    // One deadline for the whole request, from the moment it arrived: the resource's waits,
    // masking and the audit trail's readiness all end by it.
    let deadline = route.resource.as_ref().map(|(_, handle)| {
        Deadline::starting_at(started, request.timeout_ms, handle.statement_timeout)
    });
    if let Err(refused) = audit_ready(&route.audit_gate, &auditor, &request, deadline).await {
        record_expired_wait(&route, &auditor, &request, &refused, started);
        return refused;
    }
    let unrecorded = route.audit_gate.admitted();
    let outcome = run_on_resource(&route, &request, deadline).await;
    let (message, counts, summary) = match outcome {
        Ok(produced) => {
            let masking = mask_output(route.masker.as_ref(), &request, produced, started);
            match within(deadline, None, "masking", masking).await {
                Ok(masked) => masked,
                Err(Expired::Deadline(err)) => {
                    (timed_out(&request, err), MaskedCounts::default(), None)
                }
                Err(Expired::Limit) => (masking_failed(&request), MaskedCounts::default(), None),
            }
        }
        Err(err) => (
            mask_error(route.masker.as_ref(), &request, err).await,
            MaskedCounts::default(),
            None,
        ),
    };
    let record = audit_record(&route, &request, &message, counts, summary, started);
    let answer = recorded(&auditor, &route.audit_gate, &request, message, record).await;
    drop(unrecorded);
    answer
}

/// A request whose time ran out waiting for the audit trail ran nothing, but the trail is up
/// (only slow): it is recorded as timed out like any other, without waiting for the write.
fn record_expired_wait(
    route: &Route,
    auditor: &Addr<Auditor>,
    request: &Request,
    refused: &Outbound,
    started: Instant,
) {
    if let Outbound::Error(error) = refused {
        if error.code == ErrorCode::Timeout {
            let summary = None;
            let record = audit_record(
                route,
                request,
                refused,
                MaskedCounts::default(),
                summary,
                started,
            );
            auditor.do_send(Record { record });
        }
    }
}

/// Whether the audit trail can record an operation now (no operation runs unaudited); the
/// answer to send instead when it cannot, or when the request's time ran out waiting. The
/// auditor's published word suffices while it is running and keeping up; otherwise it is asked
/// (which waits behind the records already in its mailbox, and retries a failed trail).
async fn audit_ready(
    gate: &AuditGate,
    auditor: &Addr<Auditor>,
    request: &Request,
    deadline: Option<Deadline>,
) -> Result<(), Outbound> {
    if gate.admits_at_once() && auditor.connected() {
        return Ok(());
    }
    let ready = auditor.send(AuditReady);
    match within(deadline, Some(AUDIT_WAIT), "the audit trail", ready).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(unavailable))) => Err(audit_unavailable(request, &unavailable.0)),
        Ok(Err(_)) => Err(audit_unavailable(request, "the audit trail is restarting")),
        Err(Expired::Deadline(err)) => Err(timed_out(request, err)),
        Err(Expired::Limit) => Err(audit_unavailable(
            request,
            "the audit trail is not keeping up",
        )),
    }
}

async fn run_on_resource(
    route: &Route,
    request: &Request,
    deadline: Option<Deadline>,
) -> Result<Produced, OperationError> {
    let (Some((_, handle)), Some(deadline)) = (&route.resource, deadline) else {
        return Err(OperationError::new(
            ErrorCode::UnknownResource,
            format!(
                "no resource with id \"{}\"",
                request.resource_id.chars().take(64).collect::<String>()
            ),
        ));
    };
    let run = RunOperation {
        request: request.clone(),
        deadline,
        cancel: route.cancel.clone(),
        masking: route.masking.clone(),
    };
    handle.run.send(run).await.unwrap_or_else(|_| {
        Err(OperationError::new(
            ErrorCode::ResourceUnavailable,
            "resource is restarting",
        ))
    })
}

/// `message` once its record is written; withheld when it cannot be. Not bounded by the deadline:
/// the record is of the answer about to leave, and an answer of `timeout` after a record of `ok`
/// would make the trail disagree with the control plane.
async fn recorded(
    auditor: &Addr<Auditor>,
    gate: &AuditGate,
    request: &Request,
    message: Outbound,
    record: AuditRecord,
) -> Outbound {
    let answer = actix_rt::time::timeout(AUDIT_WAIT, auditor.send(Record { record })).await;
    if answer.is_err() {
        // An auditor that does not take a record in that time is stalled, and cannot say so:
        // its published word no longer counts, and requests ask it until it publishes again.
        gate.set_open(false);
    }
    match answer {
        Ok(Ok(Ok(_seq))) => message,
        // The operation ran but its record was not written: its answer is withheld.
        Ok(Ok(Err(unavailable))) => audit_unavailable(
            request,
            &format!(
                "the operation's audit record could not be written ({})",
                unavailable.0
            ),
        ),
        _ => audit_unavailable(request, "the operation's audit record could not be written"),
    }
}

fn audit_unavailable(request: &Request, why: &str) -> Outbound {
    Outbound::Error(ErrorMessage {
        id: Some(request.id.clone()),
        code: ErrorCode::AuditUnavailable,
        message: format!("{why}; no operation runs unaudited"),
    })
}

/// Row count and truncation of a successful answer, for the audit record.
type Summary = Option<(u64, bool)>;

async fn mask_output(
    masker: Option<&Addr<Masker>>,
    request: &Request,
    produced: Produced,
    started: Instant,
) -> (Outbound, MaskedCounts, Summary) {
    let Produced { output, slot } = produced;
    let masked = match masker {
        Some(masker) => {
            masker
                .send(Mask {
                    payload: MaskPayload::Output(output),
                    slot,
                })
                .await
        }
        None => return (masking_failed(request), MaskedCounts::default(), None),
    };
    match masked {
        Ok(Ok(masked)) => {
            let MaskPayload::Output(mut output) = masked.payload else {
                return (masking_failed(request), MaskedCounts::default(), None);
            };
            let Some(rows) = output.take_result_rows() else {
                return (masking_failed(request), MaskedCounts::default(), None);
            };
            let row_count = rows.len() as u64;
            let result = OperationResult {
                id: request.id.clone(),
                columns: output.columns,
                rows,
                row_count,
                truncated: output.truncated,
                masked: masked.counts.clone(),
                duration_ms: started.elapsed().as_millis() as u64,
                details: output.details,
            };
            (
                Outbound::Result(result),
                masked.counts,
                Some((row_count, output.truncated)),
            )
        }
        // Fail closed: without masking nothing is sent.
        _ => (masking_failed(request), MaskedCounts::default(), None),
    }
}

async fn mask_error(
    masker: Option<&Addr<Masker>>,
    request: &Request,
    err: OperationError,
) -> Outbound {
    let masked = match masker {
        Some(masker) => {
            masker
                .send(Mask {
                    payload: MaskPayload::Text(err.message),
                    slot: None,
                })
                .await
        }
        None => return masking_failed(request),
    };
    match masked {
        Ok(Ok(masked)) => match masked.payload {
            MaskPayload::Text(message) => Outbound::Error(ErrorMessage {
                id: Some(request.id.clone()),
                code: err.code,
                message,
            }),
            MaskPayload::Output(_) => masking_failed(request),
        },
        _ => masking_failed(request),
    }
}

fn masking_failed(request: &Request) -> Outbound {
    Outbound::Error(ErrorMessage {
        id: Some(request.id.clone()),
        code: ErrorCode::MaskingFailed,
        message: "masking is unavailable, so no data was sent".into(),
    })
}

fn audit_record(
    route: &Route,
    request: &Request,
    message: &Outbound,
    masked: MaskedCounts,
    summary: Summary,
    started: Instant,
) -> AuditRecord {
    let code = match message {
        Outbound::Error(error) => Some(error.code),
        _ => None,
    };
    let outcome = match code {
        None => Outcome::Ok,
        Some(ErrorCode::Timeout) => Outcome::Timeout,
        Some(ErrorCode::Cancelled) => Outcome::Cancelled,
        Some(
            ErrorCode::OperationNotAllowed
            | ErrorCode::NotReadOnly
            | ErrorCode::NotAllowedRelation
            | ErrorCode::InvalidRequest
            | ErrorCode::UnknownResource
            | ErrorCode::Busy
            | ErrorCode::ShuttingDown,
        ) => Outcome::Refused,
        Some(_) => Outcome::Failed,
    };
    let (row_count, truncated) = summary.unwrap_or((0, false));
    AuditRecord {
        request_id: request.id.clone(),
        tenant_id: route.tenant_id.clone(),
        resource_id: request.resource_id.clone(),
        resource_type: route
            .resource
            .as_ref()
            .map(|(kind, _)| kind.clone())
            .unwrap_or_default(),
        operation: request.operation.to_string(),
        statement: crate::audit::statement::Statement::of_params(&request.params),
        outcome,
        code,
        row_count,
        truncated,
        masked,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
