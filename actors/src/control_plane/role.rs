//! The relay's role on its control-plane session: active (serves requests) or standing by while
//! another relay of the tenant serves. Every session starts active, because a control plane
//! without standby support never says otherwise; `standby` and `active` messages move it.

use super::ControlPlane;
use crate::log_event::LogEvent;
use crate::messages::RoleChanged;
use crate::protocol::{ActiveNotice, Outbound, StandbyNotice};
use actix::Context;
use slog::{debug, info};

/// What a session's role is, and whether the control plane spoke of roles at all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SessionRole {
    standby: bool,
    /// The control plane sent `standby` or `active` on this session, so it understands
    /// `draining`.
    roles_spoken: bool,
}

/// What a role message changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// Was active (or new), now standing by.
    StandingBy,
    /// Was standing by, now active: the control plane promoted this relay.
    Promoted,
    /// Told what it already was.
    Unchanged,
}

impl SessionRole {
    /// Whether requests are refused because another relay serves.
    pub fn is_standby(&self) -> bool {
        self.standby
    }

    /// Whether the control plane understands roles (and so `draining`).
    pub fn roles_spoken(&self) -> bool {
        self.roles_spoken
    }

    /// Applies `standby` (true) or `active` (false).
    pub fn apply(&mut self, standby: bool) -> RoleChange {
        self.roles_spoken = true;
        let change = match (self.standby, standby) {
            (false, true) => RoleChange::StandingBy,
            (true, false) => RoleChange::Promoted,
            _ => RoleChange::Unchanged,
        };
        self.standby = standby;
        change
    }
}

impl ControlPlane {
    /// `standby`: keep the session, answer requests with `standby`, keep reporting health.
    /// While draining it is the control plane's answer to `draining`: nothing new comes here.
    pub(super) fn on_standby(&mut self, notice: StandbyNotice) {
        if self.draining {
            debug!(self.log, "{}", LogEvent::DrainHandedOver);
            self.drain.handed_over.send_replace(true);
            return;
        }
        if self.role.apply(true) == RoleChange::StandingBy {
            info!(self.log, "{}", LogEvent::RelayStandingBy;
                "activeInstanceId" => notice.active_instance_id.unwrap_or_default());
            self.supervisor
                .role_changed
                .do_send(RoleChanged { standby: true });
        }
    }

    /// `active`: serve from now on; a promoted relay reports its health at once.
    pub(super) fn on_active(&mut self, _notice: ActiveNotice, ctx: &mut Context<Self>) {
        match self.role.apply(false) {
            RoleChange::Promoted => {
                info!(self.log, "{}", LogEvent::RelayPromotedToActive);
                self.supervisor
                    .role_changed
                    .do_send(RoleChanged { standby: false });
                self.send_health_snapshot(ctx);
            }
            _ => debug!(
                self.log,
                "{}",
                LogEvent::ControlPlaneConfirmedThisRelayAsActive
            ),
        }
    }

    /// Tells a control plane that understands roles that this relay drains, so it can promote a
    /// standby before the session closes. Returns whether it was told.
    pub(super) fn announce_draining(&mut self) -> bool {
        let announce = self.role.roles_spoken() && !self.role.is_standby();
        if announce {
            self.send(Outbound::Draining(Default::default()));
        }
        announce
    }
}

#[cfg(test)]
mod tests {
    use super::{RoleChange, SessionRole};

    #[test]
    fn a_session_starts_active_and_silent_about_roles() {
        let role = SessionRole::default();
        assert!(!role.is_standby());
        assert!(!role.roles_spoken());
    }

    #[test]
    fn standby_then_active_is_a_promotion() {
        let mut role = SessionRole::default();
        assert_eq!(role.apply(true), RoleChange::StandingBy);
        assert!(role.is_standby() && role.roles_spoken());
        assert_eq!(role.apply(true), RoleChange::Unchanged);
        assert_eq!(role.apply(false), RoleChange::Promoted);
        assert!(!role.is_standby());
        assert_eq!(role.apply(false), RoleChange::Unchanged);
    }

    #[test]
    fn active_at_connect_is_no_promotion_but_speaks_roles() {
        let mut role = SessionRole::default();
        assert_eq!(role.apply(false), RoleChange::Unchanged);
        assert!(role.roles_spoken() && !role.is_standby());
    }
}
