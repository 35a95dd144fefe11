//! What the supervisor publishes for the data path: the routing table (resources, retired
//! resources still finishing requests, masker, auditor) and the control plane that sealed audit
//! records go to. Readers hold `watch` receivers, so a restarted child is reachable at once and no
//! request or record passes through the supervisor's mailbox.

use super::Supervisor;
use crate::domain::RowMasking;
use crate::messages::ForwardAudit;
use crate::resource::ResourceHandle;
use crate::routing::{ResourceRoute, Routes, RoutesWatch};
use actix::{Addr, Recipient};
use std::sync::Arc;
use tokio::sync::watch;

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

    /// The retired resources still running.
    pub(super) fn running(&self) -> Vec<ResourceHandle> {
        let running = self.resources.iter().map(|(_, addr)| addr);
        running
            .filter(|handle| handle.connected())
            .cloned()
            .collect()
    }

    /// The retired resources still running, with their ids.
    fn running_by_id(&mut self) -> Vec<(String, ResourceHandle)> {
        self.resources.retain(|(_, addr)| addr.connected());
        self.resources.clone()
    }
}

/// The supervisor's publishing ends.
pub(super) struct Publisher {
    routes: watch::Sender<Arc<Routes>>,
    audit_destination: watch::Sender<Option<Recipient<ForwardAudit>>>,
}

impl Publisher {
    pub(super) fn new(routes: Routes) -> Self {
        Publisher {
            routes: watch::Sender::new(Arc::new(routes)),
            audit_destination: watch::Sender::new(None),
        }
    }

    pub(super) fn routes(&self) -> RoutesWatch {
        self.routes.subscribe()
    }

    pub(super) fn audit_destination(&self) -> watch::Receiver<Option<Recipient<ForwardAudit>>> {
        self.audit_destination.subscribe()
    }
}

impl Supervisor {
    /// Publishes the children as they are now.
    pub(super) fn publish_routes(&mut self) {
        let resources = self
            .resources
            .iter()
            .filter_map(|(id, child)| {
                let addr = child.addr.clone()?;
                let kind = child.spec.kind.to_string();
                Some((id.clone(), ResourceRoute { kind, addr }))
            })
            .collect();
        let routes = Routes {
            tenant_id: self.config.control_plane.tenant_id.clone(),
            resources,
            retired: self.retired.running_by_id(),
            masker: self.masker.clone(),
            masking: self
                .masker
                .as_ref()
                .map(|_| Arc::clone(&self.masking) as Arc<dyn RowMasking>),
            auditor: self.auditor.clone(),
            audit_gate: self.audit_gate.clone(),
            metrics: Arc::clone(&self.metrics),
            pipelines: self.pipelines.clone(),
        };
        self.publisher.routes.send_replace(Arc::new(routes));
        let destination = self.control_plane.clone().map(Addr::recipient);
        self.publisher.audit_destination.send_replace(destination);
    }
}
