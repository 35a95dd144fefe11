//! The privilege self-check: one role per way a database user could write or act outside the
//! database, each reported with its reason by `relay check --connect`, and a superuser refused
//! by `check --connect` exactly as `relay run` refuses it.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{relay_config_for, write_config, DevPlane, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use std::process::{Command, Output};
use std::time::Duration;

/// `(role, how it is made able to write, the reason expected)`; `{db}` is the database.
const WRITE_PATHS: &[(&str, &str, &str)] = &[
    ("relay_priv_column", "GRANT INSERT (note) ON sentinel TO {role}", "may INSERT or UPDATE columns of public.sentinel"),
    ("relay_priv_view", "GRANT INSERT ON big_view TO {role}", "may change public.big_view"),
    ("relay_priv_parted", "GRANT INSERT ON parted TO {role}", "may change public.parted"),
    ("relay_priv_sequence", "GRANT USAGE ON SEQUENCE sentinel_id_seq TO {role}", "may advance or set sequence public.sentinel_id_seq"),
    ("relay_priv_definer", "GRANT USAGE ON SCHEMA privtest TO {role}; GRANT EXECUTE ON FUNCTION privtest.definer() TO {role}", "may EXECUTE SECURITY DEFINER function privtest.definer()"),
    ("relay_priv_files", "GRANT pg_write_server_files TO {role}", "is a member of pg_write_server_files"),
    ("relay_priv_program", "GRANT pg_execute_server_program TO {role}", "is a member of pg_execute_server_program"),
    ("relay_priv_signal", "GRANT pg_signal_backend TO {role}", "is a member of pg_signal_backend"),
    ("relay_priv_bypassrls", "ALTER ROLE {role} BYPASSRLS", "has BYPASSRLS"),
    ("relay_priv_replication", "ALTER ROLE {role} REPLICATION", "has REPLICATION"),
    ("relay_priv_createdb", "GRANT CREATE ON DATABASE \"{db}\" TO {role}", "may create schemas in the database"),
    ("relay_priv_schema", "GRANT CREATE ON SCHEMA public TO {role}", "may create objects in schema public"),
    ("relay_priv_temp", "GRANT TEMPORARY ON DATABASE \"{db}\" TO {role}", "may create temporary tables"),
    ("relay_priv_lo", "SELECT lo_create(424242); ALTER LARGE OBJECT 424242 OWNER TO {role}", "may write large object 424242"),
];

/// The role of a write path, of this run's database: roles belong to the whole server, and runs
/// against other fixture databases of the same server make and drop their own.
fn own_role(role: &str) -> String {
    format!("{role}_{}", crate::pg_fixture::shared_db_name())
}

fn check_connect(user: &str) -> (Option<i32>, String) {
    let devplane = DevPlane::start();
    let (_dir, path) = write_config(&relay_config_for(devplane.port, "", user, ""));
    let output: Output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["check", "--connect", "--config"])
        .arg(&path)
        .env("RELAY_TOKEN", TOKEN)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), printed)
}

#[test]
fn every_write_path_is_reported_with_its_reason() {
    let database = shared_db();
    let mut db = admin(database);
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS parted (id int) PARTITION BY RANGE (id);
         CREATE SCHEMA IF NOT EXISTS privtest;
         CREATE OR REPLACE FUNCTION privtest.definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
         REVOKE EXECUTE ON FUNCTION privtest.definer() FROM PUBLIC;
         SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid = 424242;",
    )
    .unwrap();
    for (role, grant, _) in WRITE_PATHS {
        let role = &own_role(role);
        db.batch_execute(&format!(
            "DROP OWNED BY {role} CASCADE; DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;
             GRANT CONNECT ON DATABASE \"{database}\" TO {role};
             GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        ))
        .or_else(|_| {
            db.batch_execute(&format!(
                "CREATE ROLE {role} LOGIN; GRANT CONNECT ON DATABASE \"{database}\" TO {role};
                 GRANT USAGE ON SCHEMA public TO {role};
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
            ))
        })
        .unwrap();
        db.batch_execute(&grant.replace("{role}", role).replace("{db}", database))
            .unwrap();
    }
    let (code, printed) = check_connect(READER);
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        !printed.contains("could write"),
        "the reader could write: {printed}"
    );
    for (role, _, reason) in WRITE_PATHS {
        let role = &own_role(role);
        let (code, printed) = check_connect(role);
        assert_eq!(code, Some(0), "{role}: {printed}");
        assert!(
            printed.contains("warning: the user could write") && printed.contains(reason),
            "{role}: expected \"{reason}\" in\n{printed}"
        );
    }
}

#[test]
fn a_superuser_fails_check_connect_with_the_reason_run_gives() {
    let superuser = crate::support::pg().user;
    let (code, printed) = check_connect(&superuser);
    assert_eq!(code, Some(69), "{printed}");
    let devplane = DevPlane::start();
    let relay = Relay::start(&relay_config_for(devplane.port, "", &superuser, ""), TOKEN);
    let unhealthy = relay
        .process
        .stdout
        .wait_for_msg(
            LogEvent::ResourceBecameUnhealthy.as_str(),
            Duration::from_secs(1),
        )
        .or_else(|| {
            relay.process.stdout.wait_for_msg(
                LogEvent::ResourceUnhealthy.as_str(),
                Duration::from_secs(30),
            )
        })
        .unwrap_or_else(|| panic!("{}", relay.process.output()));
    let reason = unhealthy["error"].as_str().unwrap();
    assert!(reason.contains("superuser"), "{reason}");
    assert!(
        printed.contains(&format!("resource main-pg: {reason}")),
        "check --connect said\n{printed}\nwhile run said {reason}"
    );
}
