//! Every message the relay logs, spelled once: log sites name a [`LogEvent`], and the documentation
//! and tests that look for a line find the same text here. Lines carry their details as fields.

use relay_protocol::wire_enum;

wire_enum! {
    /// The `msg` of a log line.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum LogEvent {
        ActorStoppedUnexpectedly = "Actor stopped unexpectedly; restarting",
        AnswerAlreadyGivenByTheDrain = "Answer dropped: the drain already answered it",
        AnswerForAnEndedSession = "Answer dropped: its session ended",
        AuditIsDisabledByConfiguration = "Audit is disabled by configuration: operations are not recorded",
        AuditSpoolHeldRecordsOfAnotherTenant = "Audit spool held records of another tenant; they are not sent",
        AuditTrailAvailableAgain = "Audit trail available again",
        AuditTrailUnavailable = "Audit trail unavailable: operations are refused",
        AuditTrailUnavailableAtShutdown = "Audit trail unavailable at shutdown; security events not written",
        CancelForARequestNotInFlight = "Cancel for a request not in flight",
        CancelForAnUnknownResource = "Cancel for an unknown resource",
        CannotConnectToControlPlane = "Cannot connect to control plane",
        CannotEncodeMessage = "Cannot encode message",
        CannotListenForSignals = "Cannot listen for signals",
        CannotReadConfiguration = "Cannot read configuration",
        CannotReadTheTokenFile = "Cannot read the token file; keeping the current token",
        CannotRecordAuditAcknowledgement = "Cannot record an acknowledgement in the audit spool",
        CannotStartRelay = "Cannot start relay",
        CannotSyncAuditFileAtShutdown = "Cannot make the audit file durable at shutdown",
        CannotWriteTheStatusFile = "Cannot write the status file; `relay healthcheck` will report unhealthy",
        CannotWriteToControlPlane = "Cannot write to control plane: session closing",
        ConfigurationRejected = "Configuration rejected",
        ConfigurationReloaded = "Configuration reloaded",
        ConnectedToControlPlane = "Connected to control plane",
        ConnectedToDatabase = "Connected to database",
        ConnectingToControlPlane = "Connecting to control plane",
        ConnectingToDatabase = "Connecting to database",
        ControlPlaneConfirmedThisRelayAsActive = "Control plane confirmed this relay as active",
        ControlPlaneConnectionAttemptFailed = "Control plane connection attempt failed",
        ControlPlaneConnectionWasGoneAtShutdown = "Control plane connection was gone at shutdown",
        ControlPlaneRefusesThisRelay = "Control plane closed the session and will not accept this relay as it is",
        ControlPlaneRejectedCredentials = "Control plane rejected the relay token or tenant id",
        ControlPlaneSessionEnded = "Control plane session ended",
        DatabaseConnectionAttemptFailed = "Database connection attempt failed",
        DatabaseUserCouldWrite = "Database user could write; grant it read-only access",
        DisconnectedFromControlPlane = "Disconnected from control plane",
        DrainHandedOver = "Control plane routes nothing new to this draining relay",
        GracePeriodOver = "Grace period over; cancelling what still runs",
        InvalidConfiguration = "Invalid configuration",
        InvalidLogLevel = "Invalid log level",
        LocalState = "Local state",
        MaskingIsDisabledByConfiguration = "Masking is disabled by configuration: values leave the relay unmasked",
        MetricsEndpointListening = "Metrics endpoint listening",
        Panic = "Panic",
        ReadingConfiguration = "Reading configuration",
        ReconnectingWithReloadedSettings = "Reconnecting to control plane with the reloaded settings",
        RejectedMessageFromControlPlane = "Rejected message from control plane",
        RelayPromotedToActive = "Relay promoted to active",
        RelayReady = "Relay ready",
        RelayStandingBy = "Relay standing by",
        RelayStarting = "Relay starting",
        RelayStopped = "Relay stopped",
        RelayStopping = "Relay stopping",
        ReloadingConfiguration = "Reloading configuration",
        ResourceBecameUnhealthy = "Resource became unhealthy",
        ResourceDraining = "Resource draining",
        ResourceHealthy = "Resource healthy",
        ResourceRecovered = "Resource recovered",
        ResourceRetired = "Resource retired by a configuration reload; stopping once idle",
        ResourceStoppedWithWorkStillRunning = "Resource stopped with work still running",
        ResourceUnhealthy = "Resource unhealthy",
        ShutdownRequested = "Shutdown requested",
        Superseded = "Superseded by another relay of this tenant; not competing for the connection",
        SupervisorWasGoneAtReload = "Supervisor was gone at reload",
        SupervisorWasGoneAtShutdown = "Supervisor was gone at shutdown",
        TokenFileReadAgain = "Token file read again: the next connection uses its new token",
        WebSocketUpgradeAccepted = "Control plane accepted the WebSocket upgrade",
    }
}

/// The tag of an audit record's log line: it passes whatever the log level, since it is not a
/// diagnostic.
pub const AUDIT_TAG: &str = "audit";

/// The tag of an audit record's log line that more lines of the same batch follow: the stdout
/// drain may hold it until the batch's last line (tagged [`AUDIT_TAG`]) and write them together.
pub const AUDIT_TAG_MORE: &str = "audit-more";

/// Whether a log line is an audit record's.
pub fn is_audit_tag(tag: &str) -> bool {
    tag == AUDIT_TAG || tag == AUDIT_TAG_MORE
}

#[cfg(test)]
mod tests {
    use super::LogEvent;

    #[test]
    fn the_documented_startup_lines_keep_their_words() {
        // The product's own documents show these lines; operators grep for them.
        let startup = [
            (LogEvent::RelayStarting, "Relay starting"),
            (
                LogEvent::ConnectedToControlPlane,
                "Connected to control plane",
            ),
            (LogEvent::ResourceHealthy, "Resource healthy"),
            (LogEvent::RelayReady, "Relay ready"),
        ];
        for (event, words) in startup {
            assert_eq!(event.as_str(), words);
        }
    }

    #[test]
    fn every_event_has_its_own_words() {
        let mut names: Vec<&str> = LogEvent::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LogEvent::ALL.len());
    }
}
