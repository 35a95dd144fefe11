//! The development control plane's state: the connected relay, its last hello and health (with
//! its metrics summary), and the requests waiting for an answer.

use super::audit_store::AuditStore;
use relay_actors::protocol::{close_code, Hello, ResourceHealth};
use relay_actors::time::now_rfc3339;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// What relays and API clients must present.
#[derive(Clone)]
pub struct Credentials {
    pub relay_token: String,
    pub tenant_id: String,
    pub api_key: String,
}

/// The one relay connection of the tenant.
struct RelayLink {
    connection_id: u64,
    session: actix_ws::Session,
    connected_at: String,
    pending: HashMap<String, oneshot::Sender<Value>>,
}

/// How the last relay session ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastClose {
    pub at: String,
    pub code: Option<u16>,
    pub reason: Option<String>,
}

#[derive(Default)]
struct HubState {
    relay: Option<RelayLink>,
    hello: Option<Hello>,
    health: BTreeMap<String, ResourceHealth>,
    /// The audit trail's state from the last `health`.
    audit_health: Option<Value>,
    /// The metrics summary from the last `health`.
    metrics: Option<Value>,
    last_close: Option<LastClose>,
}

/// A relay request could not be forwarded.
#[derive(Debug, PartialEq, Eq)]
pub enum ForwardError {
    NotConnected,
    DuplicateId,
    NotPending,
}

/// Shared state of the development control plane.
pub struct Hub {
    pub credentials: Credentials,
    state: Mutex<HubState>,
    audit: Mutex<AuditStore>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(credentials: Credentials) -> Self {
        Hub {
            credentials,
            state: Mutex::new(HubState::default()),
            audit: Mutex::new(AuditStore::default()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Keeps audit records in `store` (for example one backed by a file).
    pub fn with_audit_store(self, store: AuditStore) -> Self {
        Hub {
            audit: Mutex::new(store),
            ..self
        }
    }

    fn audit(&self) -> MutexGuard<'_, AuditStore> {
        self.audit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every audit record received, in order.
    pub fn audit_records(&self) -> Vec<Value> {
        self.audit().records().to_vec()
    }

    /// Stores an `audit` message's record; returns the `auditAck` to send back, if any.
    fn on_audit(&self, mut message: Value) -> Option<String> {
        let Some(Value::Object(record)) = message.get_mut("record").map(Value::take) else {
            return None;
        };
        let (chain_id, seq) = self.audit().receive(record).ok()??;
        let ack = serde_json::json!({"type": "auditAck", "chainId": chain_id, "seq": seq});
        Some(ack.to_string())
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a new relay session; returns its id and the superseded session, if any.
    pub fn attach(&self, session: actix_ws::Session) -> (u64, Option<actix_ws::Session>) {
        let connection_id = self.next_id();
        let link = RelayLink {
            connection_id,
            session,
            connected_at: now_rfc3339(),
            pending: HashMap::new(),
        };
        let previous = self.state().relay.replace(link);
        let superseded = previous.map(|old| {
            self.state().last_close = Some(LastClose {
                at: now_rfc3339(),
                code: Some(close_code::SUPERSEDED),
                reason: Some("superseded".into()),
            });
            old.session
        });
        (connection_id, superseded)
    }

    /// Forgets a session that ended; waiting requests fail at once.
    pub fn detach(&self, connection_id: u64, code: Option<u16>, reason: Option<String>) {
        let mut state = self.state();
        if state
            .relay
            .as_ref()
            .is_some_and(|link| link.connection_id == connection_id)
        {
            state.relay = None;
            state.last_close = Some(LastClose {
                at: now_rfc3339(),
                code,
                reason,
            });
        }
    }

    /// Handles one text message from the relay of `connection_id`; returns the reply to send on
    /// the same session, if any.
    pub fn on_message(&self, connection_id: u64, text: &str) -> Option<String> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return None;
        };
        if value.get("type").and_then(Value::as_str) == Some("audit") {
            return self.on_audit(value);
        }
        let mut state = self.state();
        match value.get("type").and_then(Value::as_str) {
            Some("hello") => state.hello = serde_json::from_value(value).ok(),
            Some("health") => {
                let resources = value.get("resources").cloned().unwrap_or_default();
                if let Ok(resources) = serde_json::from_value::<Vec<ResourceHealth>>(resources) {
                    state.health = resources.into_iter().map(|h| (h.id.clone(), h)).collect();
                }
                state.audit_health = value.get("audit").cloned();
                state.metrics = value.get("metrics").cloned();
            }
            Some("result" | "error") => {
                let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
                let link = state
                    .relay
                    .as_mut()
                    .filter(|link| link.connection_id == connection_id);
                if let (Some(id), Some(link)) = (id, link) {
                    if let Some(waiter) = link.pending.remove(&id) {
                        let _ = waiter.send(value);
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// Registers a request for the connected relay: returns its session, the request id (the
    /// caller's, or a fresh `op-N`) and the receiver of the answer.
    pub fn begin_request(
        &self,
        wanted_id: Option<String>,
    ) -> Result<(actix_ws::Session, String, oneshot::Receiver<Value>), ForwardError> {
        let id = wanted_id.unwrap_or_else(|| format!("op-{}", self.next_id()));
        let mut state = self.state();
        let link = state.relay.as_mut().ok_or(ForwardError::NotConnected)?;
        if link.pending.contains_key(&id) {
            return Err(ForwardError::DuplicateId);
        }
        let (sender, receiver) = oneshot::channel();
        link.pending.insert(id.clone(), sender);
        Ok((link.session.clone(), id, receiver))
    }

    /// The session to send a `cancel` on, if the request is waiting for its answer.
    pub fn pending_session(&self, id: &str) -> Result<actix_ws::Session, ForwardError> {
        let state = self.state();
        let link = state.relay.as_ref().ok_or(ForwardError::NotConnected)?;
        if !link.pending.contains_key(id) {
            return Err(ForwardError::NotPending);
        }
        Ok(link.session.clone())
    }

    /// Stops waiting for an answer (timeout).
    pub fn abandon_request(&self, id: &str) {
        if let Some(link) = self.state().relay.as_mut() {
            link.pending.remove(id);
        }
    }

    /// The status document.
    pub fn status(&self) -> Value {
        let state = self.state();
        let names: BTreeMap<String, String> = state
            .hello
            .iter()
            .flat_map(|hello| {
                hello
                    .resources
                    .iter()
                    .map(|r| (r.id.clone(), r.name.clone()))
            })
            .collect();
        let mut resources: Vec<Value> = Vec::new();
        for (id, name) in &names {
            let health = state.health.get(id);
            resources.push(serde_json::json!({
                "id": id,
                "name": name,
                "status": health.map(|h| h.status.as_str()).unwrap_or("unknown"),
                "lastCheckedAt": health.and_then(|h| h.last_checked_at.clone()),
                "latencyMs": health.and_then(|h| h.latency_ms),
                "error": health.and_then(|h| h.error.clone()),
                "canWrite": health.and_then(|h| h.can_write),
            }));
        }
        serde_json::json!({
            "status": if state.relay.is_some() { "connected" } else { "disconnected" },
            "tenantId": self.credentials.tenant_id,
            "resources": resources,
            "connectedAt": state.relay.as_ref().map(|link| link.connected_at.clone()),
            "relayVersion": state.hello.as_ref().map(|hello| hello.relay_version.clone()),
            "lastClose": state.last_close,
            "audit": state.audit_health,
            "metrics": state.metrics,
        })
    }
}
