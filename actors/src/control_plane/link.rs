//! What the control plane tells its supervisor, as typed recipients: session up and down, a
//! refused token, a token read again, a role change, and the health snapshot it asks for. The
//! control plane does not name the supervisor, so neither module imports the other; requests and
//! audit records do not go this way at all (see `crate::routing`).

use super::ControlPlane;
use crate::messages::{
    AuthRejected, Connected, Disconnected, ForwardAudit, GetHealth, RoleChanged,
};
use crate::protocol::encode_audit_line;
use crate::reload_messages::TokenReread;
use actix::{Actor, Addr, Context, Handler, Recipient};

/// The supervisor, as the control plane sees it.
#[derive(Clone)]
pub struct SupervisorLink {
    pub connected: Recipient<Connected>,
    pub disconnected: Recipient<Disconnected>,
    pub auth_rejected: Recipient<AuthRejected>,
    pub token_reread: Recipient<TokenReread>,
    pub role_changed: Recipient<RoleChanged>,
    pub health: Recipient<GetHealth>,
}

impl SupervisorLink {
    /// The recipients of an actor that handles every one of these messages.
    pub fn of<A>(supervisor: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>>
            + Handler<Connected>
            + Handler<Disconnected>
            + Handler<AuthRejected>
            + Handler<TokenReread>
            + Handler<RoleChanged>
            + Handler<GetHealth>,
    {
        SupervisorLink {
            connected: supervisor.clone().recipient(),
            disconnected: supervisor.clone().recipient(),
            auth_rejected: supervisor.clone().recipient(),
            token_reread: supervisor.clone().recipient(),
            role_changed: supervisor.clone().recipient(),
            health: supervisor.clone().recipient(),
        }
    }
}

/// Auditor -> control plane: a sealed record to send in an `audit` message.
impl Handler<ForwardAudit> for ControlPlane {
    type Result = ();

    fn handle(&mut self, forward: ForwardAudit, _ctx: &mut Context<Self>) {
        self.send_text(Ok(encode_audit_line(&forward.line)));
    }
}
