//! The development control plane's state: the tenant's relay sessions (see [`super::roster`]),
//! what the active one said (its hello and health, with its metrics summary), the requests
//! waiting for an answer, and the audit records.

use super::audit_store::AuditStore;
use super::roster::{Departure, Member, Order, Roster};
use relay_protocol::time::now_rfc3339;
use relay_protocol::{close_code, Hello, ResourceHealth};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
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
    roster: Roster<actix_ws::Session>,
    last_close: Option<LastClose>,
}

/// Something to do on a relay session.
pub type SessionOrder = Order<actix_ws::Session>;

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

    /// Registers a new relay session; returns its id. Its role is settled by its `hello`.
    pub fn attach(&self, session: actix_ws::Session) -> u64 {
        let connection_id = self.next_id();
        self.state()
            .roster
            .attach(connection_id, session, now_rfc3339());
        connection_id
    }

    /// Forgets a session that ended; its waiting requests fail at once. Returns what to tell a
    /// standby promoted in its place.
    pub fn detach(
        &self,
        connection_id: u64,
        code: Option<u16>,
        reason: Option<String>,
    ) -> Vec<SessionOrder> {
        let mut state = self.state();
        state.roster.release_unrun(connection_id, code);
        let (departure, orders) = state.roster.detach(connection_id);
        if departure == Departure::Served {
            state.last_close = Some(LastClose {
                at: now_rfc3339(),
                code,
                reason,
            });
        }
        orders
    }

    /// Handles one text message from the relay of `connection_id`; returns what to send or
    /// close in answer (on this session or others).
    pub fn on_message(&self, connection_id: u64, text: &str) -> Vec<SessionOrder> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        if value.get("type").and_then(Value::as_str) == Some("audit") {
            let Some(ack) = self.on_audit(value) else {
                return Vec::new();
            };
            let mut state = self.state();
            let session = state
                .roster
                .member_mut(connection_id)
                .map(|m| m.session.clone());
            return session
                .map(|session| Order::Send { session, text: ack })
                .into_iter()
                .collect();
        }
        let mut state = self.state();
        if value.get("type").and_then(Value::as_str) == Some("hello") {
            return match serde_json::from_value::<Hello>(value) {
                Ok(hello) => Self::on_hello(&mut state, connection_id, hello),
                Err(_) => Vec::new(),
            };
        }
        let roster = &mut state.roster;
        match value.get("type").and_then(Value::as_str) {
            Some("draining") => return roster.on_draining(connection_id),
            Some("health") => {
                if let Some(member) = roster.member_mut(connection_id) {
                    let resources = value.get("resources").cloned().unwrap_or_default();
                    if let Ok(resources) = serde_json::from_value::<Vec<ResourceHealth>>(resources)
                    {
                        member.view.health =
                            resources.into_iter().map(|h| (h.id.clone(), h)).collect();
                    }
                    member.view.audit = value.get("audit").cloned();
                    member.view.metrics = value.get("metrics").cloned();
                }
            }
            Some("result" | "error") => {
                let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
                let member = roster.member_mut(connection_id);
                if let (Some(id), Some(member)) = (id, member) {
                    if let Some(waiter) = member.pending.remove(&id) {
                        let _ = waiter.send(value);
                    }
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Settles the role of the session that said `hello`; an active relay it superseded
    /// leaves a `lastClose` with code 4000, as a superseded relay always did.
    fn on_hello(state: &mut HubState, connection_id: u64, hello: Hello) -> Vec<SessionOrder> {
        let before = state.roster.active().map(|m| m.connection_id);
        let orders = state.roster.on_hello(connection_id, hello);
        if before.is_some_and(|id| state.roster.member_mut(id).is_none()) {
            state.last_close = Some(LastClose {
                at: now_rfc3339(),
                code: Some(close_code::SUPERSEDED),
                reason: Some("superseded".into()),
            });
        }
        orders
    }

    /// Registers a request for the active relay: returns its session, its connection id, the
    /// request id (the caller's, or a fresh `op-N`) and the receiver of the answer.
    pub fn begin_request(&self, wanted_id: Option<String>) -> Result<Forward, ForwardError> {
        let id = wanted_id.unwrap_or_else(|| format!("op-{}", self.next_id()));
        let mut state = self.state();
        let roster = &mut state.roster;
        let running = roster.members_mut().any(|m| m.pending.contains_key(&id));
        let active = roster.active_mut().ok_or(ForwardError::NotConnected)?;
        if running {
            return Err(ForwardError::DuplicateId);
        }
        let (sender, answer) = oneshot::channel();
        active.pending.insert(id.clone(), sender);
        Ok(Forward {
            session: active.session.clone(),
            connection_id: active.connection_id,
            id,
            answer,
        })
    }

    /// Whether a relay other than `connection_id` serves, or one stands by to take over.
    pub fn has_successor(&self, connection_id: u64) -> bool {
        let state = self.state();
        let other_active = state
            .roster
            .active()
            .is_some_and(|m| m.connection_id != connection_id);
        other_active || state.roster.standbys().next().is_some()
    }

    /// The connection id of the active relay.
    pub fn active_connection(&self) -> Option<u64> {
        self.state().roster.active().map(|m| m.connection_id)
    }

    /// The session to send a `cancel` on, if the request is waiting for its answer.
    pub fn pending_session(&self, id: &str) -> Result<actix_ws::Session, ForwardError> {
        let mut state = self.state();
        let mut members = state.roster.members_mut();
        members
            .find(|m| m.pending.contains_key(id))
            .map(|m| m.session.clone())
            .ok_or(ForwardError::NotPending)
    }

    /// Stops waiting for an answer (timeout).
    pub fn abandon_request(&self, id: &str) {
        for member in self.state().roster.members_mut() {
            member.pending.remove(id);
        }
    }

    /// The status document.
    pub fn status(&self) -> Value {
        let state = self.state();
        let view = state.roster.view();
        let names: BTreeMap<String, String> = view
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
            let health = view.health.get(id);
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
        let active = state.roster.active();
        let standbys: Vec<Value> = state.roster.standbys().map(describe).collect();
        serde_json::json!({
            "status": if active.is_some() { "connected" } else { "disconnected" },
            "tenantId": self.credentials.tenant_id,
            "resources": resources,
            "connectedAt": active.map(|m| m.connected_at.clone()),
            "relayVersion": view.hello.as_ref().map(|hello| hello.relay_version.clone()),
            "lastClose": state.last_close,
            "audit": view.audit,
            "metrics": view.metrics,
            "activeInstance": active.map(describe),
            "standbys": standbys,
            "handovers": state.roster.handovers,
        })
    }
}

/// A request on its way to the active relay.
pub struct Forward {
    pub session: actix_ws::Session,
    pub connection_id: u64,
    pub id: String,
    pub answer: oneshot::Receiver<Value>,
}

/// One relay session in the status document.
fn describe(member: &Member<actix_ws::Session>) -> Value {
    let hello = member.view.hello.as_ref();
    serde_json::json!({
        "instanceId": hello.and_then(|h| h.instance_id.clone()),
        "connectedAt": member.connected_at,
        "version": hello.map(|h| h.relay_version.clone()),
    })
}
