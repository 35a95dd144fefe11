//! The troubleshooting table's rows for a PostgreSQL database that is down or misconfigured, run
//! for real against private servers on 127.0.0.1: a wrong password, a missing database, a refused
//! port, TLS the server does not offer, a server that never answers, and the debug lines that
//! explain each connection attempt.

use crate::postgres_connect::{
    config, server_with_watcher, SilentServer, RIGHT_PASSWORD, WRONG_PASSWORD,
};
use crate::support::free_port;
use crate::troubleshooting::{nothing, Case, Check, Scene, Setup};

const fn unhealthy(name: &'static str, says: &'static str, setup: fn(&Scene) -> Setup) -> Case {
    Case {
        name,
        msg: "Resource unhealthy",
        level: "warn",
        says,
        setup,
        poke: nothing,
        check: Check::Connect,
        reason_field: "error",
    }
}

/// A private server with password authentication, `database` on it, and `extra` connection keys.
fn private(scene: &Scene, database: &str, extra: &str) -> Setup {
    let server = server_with_watcher();
    Setup::config(config(scene.plane.port, "", server.port, database, extra)).keep(server)
}

fn refused(scene: &Scene) -> Setup {
    Setup::config(config(scene.plane.port, "", free_port(), "postgres", ""))
}

pub const CASES: &[Case] = &[
    unhealthy("a wrong database password", "(SQLSTATE 28P01)", |scene| {
        private(scene, "postgres", WRONG_PASSWORD)
    }),
    unhealthy("a missing database", "(SQLSTATE 3D000)", |scene| {
        private(scene, "nowhere", RIGHT_PASSWORD)
    }),
    unhealthy(
        "a database port nobody listens on",
        "error connecting to server: Connection refused (os error 111)",
        refused,
    ),
    unhealthy(
        "TLS required by a server without it",
        "error performing TLS handshake: server does not support TLS",
        |scene| {
            let extra = format!("{RIGHT_PASSWORD}      sslmode: require\n");
            private(scene, "postgres", &extra)
        },
    ),
    unhealthy(
        "a database server that never answers",
        "connect timeout: no answer within",
        |scene| {
            let silent = SilentServer::start();
            let extra = "      connectTimeoutSeconds: 1\n";
            let text = config(scene.plane.port, "", silent.port, "postgres", extra);
            Setup::config(text).keep(silent)
        },
    ),
    Case {
        name: "debug logging of a database connection attempt",
        msg: "Connecting to database",
        level: "debug",
        says: "timeoutMs",
        setup: |scene| refused(scene).env("RELAY_LOG_LEVEL", "debug"),
        poke: nothing,
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "debug logging of a refused database connection",
        msg: "Database connection attempt failed",
        level: "debug",
        says: "Connection refused",
        setup: |scene| refused(scene).env("RELAY_LOG_LEVEL", "debug"),
        poke: nothing,
        check: Check::No,
        reason_field: "",
    },
];
