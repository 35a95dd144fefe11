//! The children a request can reach, as the supervisor last published them: the resource actors
//! (and those a reload retired that still finish requests), the masker and the auditor. The
//! supervisor publishes a new table on a `watch` channel whenever a child starts, restarts or is
//! retired; the control plane reads the latest one per request and runs the pipeline itself, so
//! the supervisor is off the data path and a restarted child is reachable as soon as it is up.

use crate::audit::gate::AuditGate;
use crate::audit::Auditor;
use crate::domain::{AuditRecord, Outcome, RowMasking};
use crate::in_flight::InFlight;
use crate::masking::Masker;
use crate::messages::{AuditAcked, CancelRequest, Record, RequestRefused};
use crate::metrics::Metrics;
use crate::pipeline::Route;
use crate::protocol::MaskedCounts;
use crate::resource::{CancelHandle, ResourceHandle};
use actix::Addr;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// A resource a request can run on: its engine's name (for audit records) and its actor.
#[derive(Clone)]
pub struct ResourceRoute {
    pub kind: String,
    pub addr: ResourceHandle,
}

/// The routing table.
#[derive(Clone)]
pub struct Routes {
    pub tenant_id: String,
    pub resources: HashMap<String, ResourceRoute>,
    /// Resources a reload removed or replaced, until they stop: cancels still reach them.
    pub retired: Vec<(String, ResourceHandle)>,
    pub masker: Option<Addr<Masker>>,
    /// The engine `masker` masks with: resources mask large results with it as they write them.
    pub masking: Option<Arc<dyn RowMasking>>,
    pub auditor: Option<Addr<Auditor>>,
    /// The auditor's published readiness (every auditor the supervisor starts publishes here).
    pub audit_gate: AuditGate,
    pub metrics: Arc<Metrics>,
    /// Requests on their way through resource, masking and audit: the last audit record waits
    /// for them at shutdown.
    pub pipelines: InFlight,
}

/// The latest routing table, as a reader holds it.
pub type RoutesWatch = watch::Receiver<Arc<Routes>>;

/// What a cancel reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelDelivery {
    Delivered,
    UnknownResource,
}

impl Routes {
    /// A table with no children yet.
    pub fn empty(tenant_id: String, metrics: Arc<Metrics>, pipelines: InFlight) -> Self {
        Routes {
            tenant_id,
            resources: HashMap::new(),
            retired: Vec::new(),
            masker: None,
            masking: None,
            auditor: None,
            audit_gate: AuditGate::default(),
            metrics,
            pipelines,
        }
    }

    /// The actors one request to `resource_id` passes through.
    pub fn route(&self, resource_id: &str) -> Route {
        Route {
            tenant_id: self.tenant_id.clone(),
            resource: self
                .resources
                .get(resource_id)
                .map(|route| (route.kind.clone(), route.addr.clone())),
            masker: self.masker.clone(),
            masking: self.masking.clone(),
            auditor: self.auditor.clone(),
            audit_gate: self.audit_gate.clone(),
            metrics: Arc::clone(&self.metrics),
            running: Some(self.pipelines.enter()),
            cancel: CancelHandle::default(),
        }
    }

    /// Hands a cancel to the resource in effect and to every retired one of that id still
    /// running: the request may run on either.
    pub fn cancel(&self, cancel: CancelRequest) -> CancelDelivery {
        let mut delivered = false;
        for (id, addr) in &self.retired {
            if *id == cancel.resource_id && addr.connected() {
                addr.cancel.do_send(cancel.clone());
                delivered = true;
            }
        }
        if let Some(route) = self.resources.get(&cancel.resource_id) {
            route.addr.cancel.do_send(cancel);
            delivered = true;
        }
        if delivered {
            CancelDelivery::Delivered
        } else {
            CancelDelivery::UnknownResource
        }
    }

    /// The control plane stored the records of a chain up to a sequence number.
    pub fn audit_acked(&self, ack: AuditAcked) {
        if let Some(auditor) = &self.auditor {
            auditor.do_send(ack);
        }
    }

    /// Counts and records a request refused before it reached a resource.
    pub fn refused(&self, refused: RequestRefused) {
        let resource_id = refused.resource_id.unwrap_or_default();
        let operation = refused.operation.unwrap_or_default();
        self.metrics
            .request_refused(&resource_id, &operation, refused.code);
        let resource_type = self
            .resources
            .get(&resource_id)
            .map(|route| route.kind.clone())
            .unwrap_or_default();
        let record = AuditRecord {
            request_id: refused.request_id.unwrap_or_default(),
            tenant_id: self.tenant_id.clone(),
            resource_id,
            resource_type,
            operation,
            statement: refused.statement,
            outcome: Outcome::Refused,
            code: Some(refused.code),
            row_count: 0,
            truncated: false,
            masked: MaskedCounts::default(),
            duration_ms: 0,
        };
        if let Some(auditor) = &self.auditor {
            auditor.do_send(Record { record });
        }
    }
}
