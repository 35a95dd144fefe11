//! The supervisor: starts every child actor, restarts any that stops or panics, publishes where
//! requests go, and orders shutdown. It is on no request's path.
//!
//! actix drops an actor whose handler panics without restarting it, so a watchdog checks each child's
//! mailbox and starts a fresh child when one is gone. Requests and audit records reach children
//! through the routing table the supervisor publishes on a `watch` channel after every start or
//! restart, never through addresses cached elsewhere, so a restarted child is found at once.

use crate::audit::gate::AuditGate;
use crate::audit::{Auditor, SecurityKind};
use crate::control_plane::{connect, ControlPlane, SupervisorLink};
use crate::in_flight::InFlight;
use crate::log_event::LogEvent;
use crate::masking::{engine::PatternError, Masker, MaskingEngine};
use crate::messages::{AuditLink, Connected, Disconnected, GetHealth, HealthChanged, HealthReport};
use crate::metrics::Metrics;
use crate::protocol::{
    AuditHealth, Health, Hello, ResourceHealth, ResourceInfo, PROTOCOL_VERSION, STANDBY_CAPABILITY,
};
use crate::resource::ResourceHandle;
use crate::routing::Routes;
use actix::{Actor, Addr, AsyncContext, Context, Handler};
use children::{keep_running, keep_started, ChildName};
use relay_config::Config;
use slog::{debug, Logger};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// How often the watchdog looks for dead children.
const WATCHDOG_INTERVAL: Duration = Duration::from_millis(250);

/// The relay could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Link(#[from] connect::LinkSetupError),
    #[error(transparent)]
    Masking(#[from] PatternError),
}

/// One resource child and its configuration.
struct ResourceChild {
    spec: Arc<relay_config::Resource>,
    addr: Option<ResourceHandle>,
}

/// Which startup lines have been printed, so the sequence matches the documented one.
#[derive(Default)]
struct Startup {
    connected: bool,
    announced: BTreeSet<String>,
    ready: bool,
}

/// The root actor.
pub struct Supervisor {
    config: Arc<Config>,
    log: Logger,
    link: connect::Link,
    masking: Arc<MaskingEngine>,
    control_plane: Option<Addr<ControlPlane>>,
    resources: BTreeMap<String, ResourceChild>,
    masker: Option<Addr<Masker>>,
    auditor: Option<Addr<Auditor>>,
    /// Where every auditor it starts publishes whether it can write a record.
    audit_gate: AuditGate,
    /// The thread the auditor runs on (kept across its restarts).
    audit_thread: Option<actix_rt::ArbiterHandle>,
    health: BTreeMap<String, ResourceHealth>,
    audit_status: Option<AuditHealth>,
    control_plane_link: status::LinkState,
    /// The configuration file and the SHA-256 of its bytes, for the `config_loaded` record and
    /// for reloads (`supervisor/reload.rs`).
    config_source: Option<(String, String)>,
    startup: Startup,
    shutting_down: bool,
    status_file: status::StatusFileSink,
    metrics: Arc<Metrics>,
    /// Resources a reload replaced, still finishing requests (cancels reach them too).
    retired: routes::Retired,
    /// The routing table and the audit records' destination, for the data path.
    publisher: routes::Publisher,
    /// A reload changed the children: publish the table on the next `ensure_children`.
    routes_stale: bool,
    /// Requests on their way through resource, masking and audit: the last audit record waits
    /// for them at shutdown.
    pipelines: InFlight,
}

impl Supervisor {
    /// Prepares everything that can fail before any actor or socket exists.
    pub fn new(config: Config, log: Logger) -> Result<Self, StartError> {
        let link = connect::Link::new(&config.control_plane)?;
        let masking = Arc::new(MaskingEngine::from_config(&config.masking)?);
        let metrics = Arc::new(Metrics::for_config(&config.resources));
        let mut resources = BTreeMap::new();
        let mut health = BTreeMap::new();
        for spec in &config.resources {
            health.insert(spec.id.clone(), initial_health(spec));
            resources.insert(
                spec.id.clone(),
                ResourceChild {
                    spec: Arc::new(spec.clone()),
                    addr: None,
                },
            );
        }
        let tenant_id = config.control_plane.tenant_id.clone();
        let pipelines = InFlight::default();
        let routes = Routes::empty(tenant_id, Arc::clone(&metrics), pipelines.clone());
        let publisher = routes::Publisher::new(routes);
        Ok(Supervisor {
            publisher,
            config: Arc::new(config),
            log,
            link,
            masking,
            control_plane: None,
            resources,
            masker: None,
            auditor: None,
            audit_gate: AuditGate::default(),
            audit_thread: None,
            health,
            audit_status: None,
            control_plane_link: Default::default(),
            config_source: None,
            startup: Startup::default(),
            shutting_down: false,
            status_file: Default::default(),
            metrics,
            retired: Default::default(),
            routes_stale: false,
            pipelines,
        })
    }

    /// Names the configuration file and the SHA-256 of its contents (never the contents), so
    /// every audit chain says which configuration it ran under.
    pub fn with_config_source(mut self, path: String, sha256: String) -> Self {
        self.config_source = Some((path, sha256));
        self
    }

    /// The relay's metrics, for the endpoint that serves them.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    fn health_snapshot(&self) -> Health {
        Health {
            resources: self.health.values().cloned().collect(),
            audit: self.audit_status.clone(),
            metrics: Some(self.metrics.summary()),
        }
    }

    fn report_health(&self) {
        if let Some(control_plane) = &self.control_plane {
            control_plane.do_send(HealthReport {
                health: self.health_snapshot(),
            });
        }
    }

    fn hello(&self) -> Hello {
        hello(&self.config)
    }

    /// Starts every child that is not running: the watchdog's one restart path for every kind.
    fn ensure_children(&mut self, ctx: &mut Context<Self>) {
        if self.shutting_down {
            return;
        }
        let mut started = std::mem::take(&mut self.routes_stale);
        started |= self.ensure_auditor(ctx);
        started |= keep_running(
            &mut self.masker,
            ChildName::new("masker"),
            &self.log,
            || Masker::new(Arc::clone(&self.masking)),
        );
        started |= self.ensure_resources(ctx);
        let me = ctx.address();
        let name = ChildName::new("controlPlane");
        started |= keep_running(&mut self.control_plane, name, &self.log, || {
            ControlPlane::new(
                Arc::new(self.config.control_plane.clone()),
                hello(&self.config),
                self.link.clone(),
                SupervisorLink::of(&me),
                self.publisher.routes(),
                &self.log,
                Arc::clone(&self.metrics),
            )
        });
        if started {
            self.publish_routes();
        }
    }

    /// Starts every resource that is not running; returns whether it started any.
    fn ensure_resources(&mut self, ctx: &mut Context<Self>) -> bool {
        let health_interval =
            Duration::from_secs(self.config.control_plane.health_interval_seconds);
        let mut started = false;
        for (id, child) in &mut self.resources {
            started |= keep_started(&mut child.addr, ChildName::resource(id), &self.log, || {
                crate::resource::start(
                    Arc::clone(&child.spec),
                    health_interval,
                    ctx.address().recipient(),
                    &self.log,
                    Arc::clone(&self.masking) as Arc<dyn crate::policy::lineage::ColumnProtection>,
                    Arc::clone(&self.metrics),
                )
            });
        }
        started
    }
}

/// The `hello` that announces this configuration's resources.
fn hello(config: &Config) -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        relay_version: env!("CARGO_PKG_VERSION").to_owned(),
        tenant_id: config.control_plane.tenant_id.clone(),
        resources: config
            .resources
            .iter()
            .map(|spec| ResourceInfo {
                id: spec.id.clone(),
                name: spec.display_name().to_owned(),
                kind: spec.kind.to_string(),
                allowed_operations: spec
                    .allowed_operations
                    .iter()
                    .map(|op| op.as_str().to_owned())
                    .collect(),
                max_rows_per_query: spec.max_rows_per_query,
                pool_size: spec.pool_size,
            })
            .collect(),
        instance_id: Some(crate::local_state::instance_id()),
        capabilities: vec![STANDBY_CAPABILITY.to_owned()],
    }
}

fn initial_health(spec: &relay_config::Resource) -> ResourceHealth {
    ResourceHealth::unknown(&spec.id, spec.display_name())
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.ensure_children(ctx);
        ctx.run_interval(WATCHDOG_INTERVAL, |supervisor, ctx| {
            supervisor.ensure_children(ctx)
        });
        self.write_status();
        ctx.run_interval(crate::status_file::REFRESH_INTERVAL, |supervisor, _ctx| {
            supervisor.write_status()
        });
    }
}

impl Handler<GetHealth> for Supervisor {
    type Result = actix::MessageResult<GetHealth>;

    fn handle(&mut self, _: GetHealth, _ctx: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.health_snapshot())
    }
}

impl Handler<HealthChanged> for Supervisor {
    type Result = ();

    fn handle(&mut self, changed: HealthChanged, _ctx: &mut Context<Self>) {
        let mut health = changed.health;
        // Error texts can quote data (a failing value, a user name): they leave the relay masked.
        if let Some(error) = health.error.take() {
            let mut counts = crate::protocol::MaskedCounts::default();
            health.error = Some(self.masking.mask_str(&error, &mut counts).into_owned());
        }
        self.metrics.health(&health.id, health.status);
        let previous = self.health.insert(health.id.clone(), health.clone());
        let previous_can_write = previous.as_ref().and_then(|p| p.can_write);
        if health.can_write.is_some() && health.can_write != previous_can_write {
            let details =
                serde_json::json!({"resourceId": health.id, "canWrite": health.can_write});
            let can_write = health.can_write == Some(true);
            self.audit_security(SecurityKind::PrivilegeCheck, details, can_write);
        }
        let status_changed =
            previous.is_none_or(|p| p.status != health.status || p.error != health.error);
        self.announce_startup();
        if status_changed {
            self.report_health();
        }
    }
}

impl Handler<Connected> for Supervisor {
    type Result = ();

    fn handle(&mut self, connected: Connected, _ctx: &mut Context<Self>) {
        self.startup.connected = true;
        self.control_plane_link = status::LinkState::connected();
        self.audit_security(
            SecurityKind::Connected,
            serde_json::json!({"url": connected.url}),
            false,
        );
        if let Some(auditor) = &self.auditor {
            auditor.do_send(AuditLink { connected: true });
        }
        self.announce_startup();
        self.write_status();
    }
}

impl Handler<Disconnected> for Supervisor {
    type Result = ();

    fn handle(&mut self, disconnected: Disconnected, _ctx: &mut Context<Self>) {
        debug!(self.log, "{}", LogEvent::ControlPlaneSessionEnded; "reason" => disconnected.reason.clone());
        self.control_plane_link = Default::default();
        self.write_status();
        if let Some(auditor) = &self.auditor {
            auditor.do_send(AuditLink { connected: false });
        }
        let details = serde_json::json!({"reason": disconnected.reason});
        self.audit_security(SecurityKind::Disconnected, details, !self.shutting_down);
    }
}

mod audit;
mod children;
mod reload;
mod routes;
mod shutdown;
mod status;
mod status_writer;

#[cfg(test)]
mod tests;
