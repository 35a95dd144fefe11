//! Where each metric is registered: its name and help text, as the exposition shows them.

use super::Metrics;

impl Metrics {
    pub(super) fn register(&mut self) {
        self.register_operations();
        self.register_resources();
        self.register_pools();
        self.register_links();
        self.reloads.register(&mut self.registry);
    }

    /// What the answers were: outcomes, latency, rows, bytes, masking.
    fn register_operations(&mut self) {
        let r = &mut self.registry;
        r.register(
            "relay_operations",
            "Operations answered, by resource, operation, outcome (ok or error) and error code",
            self.operations.clone(),
        );
        r.register(
            "relay_operation_duration_seconds",
            "Time from a request's arrival to its answer",
            self.operation_seconds.clone(),
        );
        r.register(
            "relay_result_rows",
            "Rows returned in results",
            self.rows.clone(),
        );
        r.register(
            "relay_result_bytes",
            "Bytes of result messages sent to the control plane",
            self.result_bytes.clone(),
        );
        r.register(
            "relay_masked_values",
            "Values masked in results, by masking pattern",
            self.masked.clone(),
        );
    }

    /// How each resource is doing: load, refusals, health.
    fn register_resources(&mut self) {
        let r = &mut self.registry;
        r.register(
            "relay_resource_in_flight",
            "Operations accepted and not yet answered (running or waiting for a connection)",
            self.in_flight.clone(),
        );
        r.register(
            "relay_resource_in_flight_limit",
            "Operations a resource accepts at once (poolSize + maxQueuedRequests); beyond it, busy",
            self.in_flight_limit.clone(),
        );
        r.register(
            "relay_resource_busy_refusals",
            "Operations refused with busy because the resource's queue was full",
            self.busy.clone(),
        );
        r.register(
            "relay_resource_healthy",
            "1 when the resource's last health check passed, else 0",
            self.healthy.clone(),
        );
    }

    /// Each resource's connection pool and the operations waiting for it.
    fn register_pools(&mut self) {
        let r = &mut self.registry;
        r.register(
            "relay_resource_connections_in_use",
            "Pool connections handed out to an operation or a health check, or being opened",
            self.connections_in_use.clone(),
        );
        r.register(
            "relay_resource_connections_idle",
            "Pool connections open and unused",
            self.connections_idle.clone(),
        );
        r.register(
            "relay_resource_queue_depth",
            "Operations accepted and waiting for a connection",
            self.queue_depth.clone(),
        );
    }

    /// The control-plane session and the audit trail.
    fn register_links(&mut self) {
        let r = &mut self.registry;
        r.register(
            "relay_control_plane_connected",
            "1 while the WebSocket session to the control plane is open, else 0",
            self.control_plane_connected.clone(),
        );
        r.register(
            "relay_control_plane_reconnects",
            "Sessions opened after the first one",
            self.control_plane_reconnects.clone(),
        );
        r.register(
            "relay_audit_available",
            "1 while audit records can be written, else 0 (operations are refused)",
            self.audit_available.clone(),
        );
        r.register(
            "relay_audit_records_pending",
            "Audit records not yet acknowledged by the control plane",
            self.audit_pending.clone(),
        );
        r.register(
            "relay_audit_spool_bytes",
            "Bytes of audit records waiting in the spool",
            self.audit_pending_bytes.clone(),
        );
        r.register(
            "relay_audit_records_spooled",
            "Audit records written to the spool",
            self.audit_spooled.clone(),
        );
        r.register(
            "relay_audit_records_dropped",
            "Audit records dropped because the spool was full",
            self.audit_dropped.clone(),
        );
    }
}
