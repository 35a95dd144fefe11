//! The tenant's relay sessions and their roles: which one is active, which stand by, and who is
//! promoted when the active one goes away. Pure state over any session handle `S`; the caller
//! carries out the returned [`Order`]s (send a text, close a socket).
//!
//! Rules (documented in `docs/protocol.md`, "Standby"):
//! - a session that connects while none is active becomes active at once (as before standby);
//! - otherwise its `hello` decides: with the `standby` capability it stands by; without, it
//!   supersedes the active one (close code 4000), as before standby;
//! - a `hello` with the instance id of an older session replaces that session (a reconnect whose
//!   old socket is not closed yet), closing the old one with 4000;
//! - when the active session closes or says `draining`, the oldest standby is promoted.

use relay_protocol::{close_code, Hello, ResourceHealth, STANDBY_CAPABILITY};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::oneshot;

/// A session's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Connected while another was active; waits for its `hello`.
    Pending,
    Active,
    Standby,
    /// Was active, said `draining`, and a standby took over; answers what it still runs.
    Draining,
}

/// What the relay of a session last said about itself.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub hello: Option<Hello>,
    pub health: BTreeMap<String, ResourceHealth>,
    /// The audit trail's state from the last `health`.
    pub audit: Option<Value>,
    /// The metrics summary from the last `health`.
    pub metrics: Option<Value>,
}

/// One relay session.
pub struct Member<S> {
    pub connection_id: u64,
    pub session: S,
    pub connected_at: String,
    pub role: Role,
    pub view: View,
    /// Requests waiting for this session's answer.
    pub pending: HashMap<String, oneshot::Sender<Value>>,
}

impl<S> Member<S> {
    fn instance_id(&self) -> Option<&str> {
        self.view.hello.as_ref()?.instance_id.as_deref()
    }

    fn capable(&self) -> bool {
        self.view
            .hello
            .as_ref()
            .is_some_and(|hello| hello.supports(STANDBY_CAPABILITY))
    }
}

/// Something the caller must do on a session.
#[derive(Debug, Clone, PartialEq)]
pub enum Order<S> {
    Send {
        session: S,
        text: String,
    },
    Close {
        session: S,
        code: u16,
        reason: String,
    },
}

/// How a session left, for the status document's `lastClose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// It served (active or draining): its close is the tenant's last close.
    Served,
    /// It never served, or was already gone.
    Quiet,
}

/// Every session of the tenant, oldest first.
pub struct Roster<S> {
    members: Vec<Member<S>>,
    /// Promotions of a standby since start.
    pub handovers: u64,
    /// What the last active relay said, kept after it left.
    last_view: View,
}

impl<S> Default for Roster<S> {
    fn default() -> Self {
        Roster {
            members: Vec::new(),
            handovers: 0,
            last_view: View::default(),
        }
    }
}

impl<S: Clone> Roster<S> {
    /// Adds a session that just connected.
    pub fn attach(&mut self, connection_id: u64, session: S, connected_at: String) {
        let role = if self.active().is_some() {
            Role::Pending
        } else {
            Role::Active
        };
        self.members.push(Member {
            connection_id,
            session,
            connected_at,
            role,
            view: View::default(),
            pending: HashMap::new(),
        });
    }

    /// The active session.
    pub fn active(&self) -> Option<&Member<S>> {
        self.members.iter().find(|m| m.role == Role::Active)
    }

    pub fn active_mut(&mut self) -> Option<&mut Member<S>> {
        self.members.iter_mut().find(|m| m.role == Role::Active)
    }

    /// The sessions standing by, oldest first.
    pub fn standbys(&self) -> impl Iterator<Item = &Member<S>> {
        self.members.iter().filter(|m| m.role == Role::Standby)
    }

    pub fn member_mut(&mut self, connection_id: u64) -> Option<&mut Member<S>> {
        self.members
            .iter_mut()
            .find(|m| m.connection_id == connection_id)
    }

    /// Every session, oldest first.
    pub fn members_mut(&mut self) -> impl Iterator<Item = &mut Member<S>> {
        self.members.iter_mut()
    }

    /// What the status document shows: the active relay's view, else the last one's.
    pub fn view(&self) -> &View {
        self.active().map_or(&self.last_view, |m| &m.view)
    }

    /// Stores a session's `hello` and settles its role.
    pub fn on_hello(&mut self, connection_id: u64, hello: Hello) -> Vec<Order<S>> {
        let mut orders = self.replace_older_instance(connection_id, hello.instance_id.as_deref());
        let Some(index) = self.index_of(connection_id) else {
            return orders;
        };
        self.members[index].view.hello = Some(hello);
        if self.members[index].role == Role::Pending {
            orders.extend(self.settle_pending(connection_id));
        }
        let member = self
            .members
            .iter()
            .find(|m| m.connection_id == connection_id);
        if let Some(member) = member.filter(|m| m.role == Role::Active && m.capable()) {
            orders.push(active_order(member));
        }
        orders
    }

    /// A `draining` from the active session: the oldest standby takes over at once and the
    /// draining one is told `standby`; it still answers what it runs. Without a standby nothing
    /// changes.
    pub fn on_draining(&mut self, connection_id: u64) -> Vec<Order<S>> {
        let Some(index) = self.index_of(connection_id) else {
            return Vec::new();
        };
        if self.members[index].role != Role::Active || self.standbys().next().is_none() {
            return Vec::new();
        }
        self.members[index].role = Role::Draining;
        let mut orders: Vec<Order<S>> = self.promote().into_iter().collect();
        // The answer to `draining`: nothing new goes to this session, so the relay may close
        // once it has answered what it has (frames are ordered).
        let active_instance = self.active().and_then(Member::instance_id);
        let notice = json!({"type": "standby", "activeInstanceId": active_instance});
        orders.push(Order::Send {
            session: self.members[index].session.clone(),
            text: notice.to_string(),
        });
        orders
    }

    /// Forgets a session that closed; promotes a standby if it was the active one.
    pub fn detach(&mut self, connection_id: u64) -> (Departure, Vec<Order<S>>) {
        let Some(index) = self.index_of(connection_id) else {
            return (Departure::Quiet, Vec::new());
        };
        let gone = self.members.remove(index);
        match gone.role {
            Role::Active => {
                self.last_view = gone.view;
                (Departure::Served, self.promote().into_iter().collect())
            }
            Role::Draining => (Departure::Served, Vec::new()),
            Role::Pending | Role::Standby => (Departure::Quiet, Vec::new()),
        }
    }

    /// A draining relay that closes cleanly (1001) has answered every request it ran, so what
    /// still waits on it never reached it: each is answered `shutting_down`, which sends it to
    /// the relay that took over. Frames in flight when the close went out are not lost.
    pub fn release_unrun(&mut self, connection_id: u64, close_code: Option<u16>) {
        let Some(member) = self.member_mut(connection_id) else {
            return;
        };
        if member.role != Role::Draining || close_code != Some(close_code::GOING_AWAY) {
            return;
        }
        for (id, waiting) in member.pending.drain() {
            let _ = waiting.send(json!({"type": "error", "id": id, "code": "shutting_down",
                "message": "the relay closed while draining, before this request reached it"}));
        }
    }

    fn index_of(&self, connection_id: u64) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.connection_id == connection_id)
    }

    /// A pending session with its `hello`: active if none is, standby if it can, else it
    /// supersedes the active one.
    fn settle_pending(&mut self, connection_id: u64) -> Vec<Order<S>> {
        let Some(index) = self.index_of(connection_id) else {
            return Vec::new();
        };
        if self.active().is_none() {
            self.members[index].role = Role::Active;
            return Vec::new();
        }
        if self.members[index].capable() {
            self.members[index].role = Role::Standby;
            let active_instance = self.active().and_then(Member::instance_id);
            let notice = json!({"type": "standby", "activeInstanceId": active_instance,
                "activeConnectedAt": self.active().map(|m| m.connected_at.clone())});
            let session = self.members[index].session.clone();
            return vec![Order::Send {
                session,
                text: notice.to_string(),
            }];
        }
        let orders = self.supersede_active("another relay of this tenant connected");
        if let Some(newcomer) = self.member_mut(connection_id) {
            newcomer.role = Role::Active;
        }
        orders
    }

    /// Removes the active session without promoting anyone, closing it with 4000.
    fn supersede_active(&mut self, reason: &str) -> Vec<Order<S>> {
        let Some(index) = self.members.iter().position(|m| m.role == Role::Active) else {
            return Vec::new();
        };
        let gone = self.members.remove(index);
        self.last_view = gone.view;
        vec![superseded(gone.session, reason)]
    }

    /// Closes older sessions that announced the same instance id: they are this relay's own,
    /// left over from before it reconnected.
    fn replace_older_instance(
        &mut self,
        connection_id: u64,
        instance: Option<&str>,
    ) -> Vec<Order<S>> {
        let Some(instance) = instance else {
            return Vec::new();
        };
        let stale =
            |m: &Member<S>| m.connection_id != connection_id && m.instance_id() == Some(instance);
        let mut orders = Vec::new();
        while let Some(index) = self.members.iter().position(stale) {
            let gone = self.members.remove(index);
            if gone.role == Role::Active {
                self.last_view = gone.view;
                // The reconnected session takes the place of its own old one.
                if let Some(me) = self.index_of(connection_id) {
                    self.members[me].role = Role::Active;
                }
            }
            orders.push(superseded(
                gone.session,
                "the same relay instance connected again",
            ));
        }
        orders
    }

    /// Makes the oldest standby active and tells it so.
    fn promote(&mut self) -> Option<Order<S>> {
        let next = self.members.iter_mut().find(|m| m.role == Role::Standby)?;
        next.role = Role::Active;
        self.handovers += 1;
        Some(active_order(next))
    }
}

fn active_order<S: Clone>(member: &Member<S>) -> Order<S> {
    Order::Send {
        session: member.session.clone(),
        text: json!({"type": "active"}).to_string(),
    }
}

fn superseded<S>(session: S, reason: &str) -> Order<S> {
    Order::Close {
        session,
        code: close_code::SUPERSEDED,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
#[path = "roster_tests.rs"]
mod tests;
