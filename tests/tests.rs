//! The relay's integration tests: real processes, real sockets on 127.0.0.1, real PostgreSQL, and
//! the real MongoDB driver against a MongoDB wire-protocol server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod audit_statements;
mod cli;
mod connect_proxy;
mod deadline;
mod deploy;
mod deploy_image;
mod deploy_kubernetes;
mod egress;
mod fake_control_plane;
mod hostile_fixture;
mod local_state;
mod masking_lineage;
mod masking_values;
mod metrics;
mod metrics_summary;
mod mongo_fixture;
mod mongo_masking;
mod mongo_ops;
mod mongo_policy;
mod pg_fixture;
mod postgres_budget;
mod postgres_connect;
mod postgres_hostile;
mod postgres_ops;
mod postgres_own_sql;
mod postgres_policy;
mod postgres_privileges;
mod postgres_scope;
mod postgres_session;
mod private_ca;
mod private_pg;
mod protocol_errors;
mod relay_process;
mod reload;
mod session;
mod spool_full;
mod standby;
mod startup;
mod support;
mod troubleshooting;
mod troubleshooting_db;
