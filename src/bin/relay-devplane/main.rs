//! `relay-devplane`: the development control plane, for demos, tests and benchmarks.
#![forbid(unsafe_code)]

use actix_web::{web, App, HttpServer};
use clap::Parser;
use relay::devplane::{self, audit_store::AuditStore, Credentials, Hub};
use relay::logging;
use slog::{error, info};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "relay-devplane",
    version,
    about = "Development control plane for the relay"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the log line says which)
    #[arg(long, env = "RELAY_DEVPLANE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The relay token relays must present
    #[arg(long, env = "RELAY_TOKEN", hide_env_values = true)]
    token: String,
    /// The tenant id relays must present
    #[arg(long = "tenant-id", env = "TENANT_ID")]
    tenant_id: String,
    /// The API key HTTP clients must present
    #[arg(
        long = "api-key",
        env = "RELAY_DEVPLANE_API_KEY",
        hide_env_values = true
    )]
    api_key: String,
    /// Keep received audit records in this file (JSON lines), loaded at start
    #[arg(
        long = "audit-file",
        env = "RELAY_DEVPLANE_AUDIT_FILE",
        value_name = "FILE"
    )]
    audit_file: Option<std::path::PathBuf>,
    /// Serve wss:// and https:// with this PEM certificate chain (leaf first); needs --tls-key
    #[arg(
        long = "tls-cert",
        env = "RELAY_DEVPLANE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(
        long = "tls-key",
        env = "RELAY_DEVPLANE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => return relay::usage_exit(&err),
    };
    let level = match logging::level_from_env() {
        Ok(level) => level,
        Err(problem) => {
            eprintln!("{problem}");
            return ExitCode::from(relay::EXIT_USAGE);
        }
    };
    let (log, guard) = logging::stdout_logger(level);
    let code = match serve(args, &log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error!(log, "Dev control plane failed"; "error" => err.to_string());
            ExitCode::FAILURE
        }
    };
    drop(log);
    drop(guard);
    code
}

fn serve(args: Args, log: &slog::Logger) -> std::io::Result<()> {
    let store = AuditStore::open(args.audit_file.as_deref())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(devplane::tls::server_config(cert, key)?),
        _ => None,
    };
    let hub = Arc::new(
        Hub::new(Credentials {
            relay_token: args.token,
            tenant_id: args.tenant_id.clone(),
            api_key: args.api_key,
        })
        .with_audit_store(store),
    );
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(Arc::clone(&hub)))
                .configure(devplane::configure)
        })
        .on_connect(devplane::disable_nagle)
        .workers(2)
        .shutdown_timeout(2);
        let secure = tls.is_some();
        let server = match tls {
            Some(tls) => server.bind_rustls_0_23(&args.listen, tls)?,
            None => server.bind(&args.listen)?,
        };
        for addr in server.addrs() {
            info!(log, "Dev control plane listening"; "addr" => addr.to_string(),
                "tls" => secure, "tenantId" => args.tenant_id.clone());
        }
        server.run().await
    })
}
