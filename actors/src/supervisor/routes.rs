//! The supervisor's routing: which resource, masker and auditor a request runs through, and where
//! a cancel goes, including to resources a reload replaced that still finish requests.

use super::Supervisor;
use crate::messages::{CancelRequest, Dispatch};
use crate::pipeline::{self, Route};
use crate::protocol::Outbound;
use crate::resource::Resource;
use actix::{Addr, Context, Handler, ResponseFuture};
use slog::debug;
use std::sync::Arc;

/// Resources a reload removed or replaced, until they have stopped.
#[derive(Default)]
pub(super) struct Retired {
    resources: Vec<(String, Addr<Resource>)>,
}

impl Retired {
    pub(super) fn add(&mut self, id: &str, resource: Addr<Resource>) {
        self.resources.retain(|(_, addr)| addr.connected());
        self.resources.push((id.to_owned(), resource));
    }

    /// The retired resources still running.
    pub(super) fn running(&self) -> Vec<Addr<Resource>> {
        let running = self.resources.iter().map(|(_, addr)| addr);
        running.filter(|addr| addr.connected()).cloned().collect()
    }

    /// Hands the cancel to every retired resource of that id still running; returns whether any.
    fn forward(&mut self, cancel: &CancelRequest) -> bool {
        self.resources.retain(|(_, addr)| addr.connected());
        let mut any = false;
        for (id, addr) in &self.resources {
            if *id == cancel.resource_id {
                addr.do_send(cancel.clone());
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
        let running = self.pipelines.enter();
        Box::pin(async move {
            let answer = pipeline::run(route, dispatch.request).await;
            drop(running);
            answer
        })
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
            Some(resource) => resource.do_send(cancel),
            None if retired => {}
            None => {
                debug!(self.log, "Cancel for an unknown resource"; "requestId" => cancel.request_id)
            }
        }
    }
}
