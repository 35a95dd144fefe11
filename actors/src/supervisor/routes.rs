//! The supervisor's routing: which resource, masker and auditor a request runs through, and where
//! a cancel goes, including to resources a reload replaced that still finish requests.

use super::Supervisor;
use crate::messages::{CancelRequest, Dispatch};
use crate::pipeline::{self, Route};
use crate::protocol::Outbound;
use crate::resource::ResourceHandle;
use actix::{Context, Handler, ResponseFuture};
use slog::debug;
use std::sync::Arc;

/// Resources a reload removed or replaced, until they have stopped.
#[derive(Default)]
pub(super) struct Retired {
    resources: Vec<(String, ResourceHandle)>,
}

impl Retired {
    pub(super) fn add(&mut self, id: &str, resource: ResourceHandle) {
        self.resources.retain(|(_, addr)| addr.connected());
        self.resources.push((id.to_owned(), resource));
    }

    /// Hands the cancel to every retired resource of that id still running; returns whether any.
    fn forward(&mut self, cancel: &CancelRequest) -> bool {
        self.resources.retain(|(_, addr)| addr.connected());
        let mut any = false;
        for (id, handle) in &self.resources {
            if *id == cancel.resource_id {
                handle.cancel.do_send(cancel.clone());
                any = true;
            }
        }
        any
    }
}

impl Supervisor {
    fn route(&self, resource_id: &str) -> Route {
        Route {
            tenant_id: self.config.control_plane.tenant_id.clone(),
            resource: self.resources.get(resource_id).and_then(|child| {
                child
                    .addr
                    .clone()
                    .map(|addr| (child.spec.kind.to_string(), addr))
            }),
            masker: self.masker.clone(),
            auditor: self.auditor.clone(),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

impl Handler<Dispatch> for Supervisor {
    type Result = ResponseFuture<Outbound>;

    fn handle(&mut self, dispatch: Dispatch, _ctx: &mut Context<Self>) -> Self::Result {
        let route = self.route(&dispatch.request.resource_id);
        Box::pin(pipeline::run(route, dispatch.request))
    }
}

impl Handler<CancelRequest> for Supervisor {
    type Result = ();

    fn handle(&mut self, cancel: CancelRequest, _ctx: &mut Context<Self>) {
        // The request may run on the resource in effect or on one a reload retired.
        let retired = self.retired.forward(&cancel);
        match self
            .resources
            .get(&cancel.resource_id)
            .and_then(|child| child.addr.as_ref())
        {
            Some(resource) => resource.cancel.do_send(cancel),
            None if retired => {}
            None => {
                debug!(self.log, "Cancel for an unknown resource"; "requestId" => cancel.request_id)
            }
        }
    }
}
