//! The shipped deployment files (`deploy/`, `Containerfile`, `.dockerignore`): every file parses, and
//! each one keeps the container security model of docs/deployment.md — UID 10001, read-only root
//! filesystem, all capabilities dropped, no privilege escalation, 512 MiB / half a CPU, probes through
//! `relay healthcheck`, one replica, no ingress.

use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const LIVENESS: [&str; 2] = ["/usr/local/bin/relay", "healthcheck"];
pub const READINESS: [&str; 3] = ["/usr/local/bin/relay", "healthcheck", "--ready"];
pub const IMAGE: &str = "causeflow/relay:latest";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

pub fn yaml(relative: &str) -> Yaml {
    serde_norway::from_str(&read(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

pub fn json(relative: &str) -> Json {
    serde_json::from_str(&read(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

/// `value[a][b]...`, or Null when a key is missing.
pub fn at<'a>(value: &'a Yaml, keys: &[&str]) -> &'a Yaml {
    static NULL: Yaml = Yaml::Null;
    keys.iter()
        .fold(value, |value, key| value.get(*key).unwrap_or(&NULL))
}

pub fn strings(value: &Yaml) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn json_strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

#[test]
fn every_deploy_file_parses_and_says_what_it_is_for() {
    let mut files = Vec::new();
    files_under(&root().join("deploy"), &mut files);
    files.sort();
    let mut checked = 0;
    for path in &files {
        let name = path.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => {
                serde_norway::from_str::<Yaml>(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
            }
            Some("json") => {
                serde_json::from_str::<Json>(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
                checked += 1;
                continue; // JSON has no comments.
            }
            _ => {}
        }
        let first = text
            .lines()
            .find(|line| !line.starts_with("#!"))
            .unwrap_or_default();
        assert!(
            first.starts_with("# "),
            "{name}: the first line should be a comment saying what the file is for"
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "expected the whole deploy/ tree, found {files:?}"
    );
}

#[test]
fn deploy_config_is_the_seed_configuration_and_the_relay_accepts_it() {
    let config = yaml("deploy/relay-config.yaml");
    assert_eq!(
        at(&config, &["controlPlane", "url"]).as_str(),
        Some("wss://api.causeflow.ai/v1/relay/connect")
    );
    assert_eq!(
        at(&config, &["controlPlane", "token"]).as_str(),
        Some("${RELAY_TOKEN}")
    );
    assert_eq!(
        at(&config, &["controlPlane", "tenantId"]).as_str(),
        Some("${TENANT_ID}")
    );
    let resource = &config["resources"][0];
    for (key, placeholder) in [
        ("host", "${PG_HOST}"),
        ("database", "${PG_DATABASE}"),
        ("user", "${PG_USER}"),
        ("password", "${PG_PASSWORD}"),
    ] {
        assert_eq!(
            at(resource, &["connection", key]).as_str(),
            Some(placeholder)
        );
    }
    assert_eq!(at(resource, &["maxRowsPerQuery"]).as_u64(), Some(1000));
    assert_eq!(at(&config, &["masking", "enabled"]).as_bool(), Some(true));
    assert_eq!(at(&config, &["audit", "enabled"]).as_bool(), Some(true));

    // The ConfigMap carries the same document.
    let configmap = yaml("deploy/kubernetes/configmap.yaml");
    let embedded = at(&configmap, &["data", "relay-config.yaml"])
        .as_str()
        .expect("configmap data relay-config.yaml");
    let embedded: Yaml = serde_norway::from_str(embedded).unwrap();
    // The one difference: Kubernetes mounts the token from the Secret as a file.
    let mut expected = config.clone();
    let plane = expected["controlPlane"].as_mapping_mut().unwrap();
    plane.remove("token");
    plane.insert(
        "tokenFile".into(),
        "/var/run/secrets/causeflow-relay/token".into(),
    );
    assert_eq!(
        embedded, expected,
        "deploy/kubernetes/configmap.yaml differs from deploy/relay-config.yaml"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .arg("--config")
        .arg(root().join("deploy/relay-config.yaml"))
        .arg("check")
        .env_remove("RELAY_CONFIG")
        .envs([
            ("RELAY_TOKEN", "deploy-test-token"),
            ("TENANT_ID", "deploy-test"),
            ("PG_HOST", "db.internal"),
            ("PG_DATABASE", "app"),
            ("PG_USER", "reader"),
            ("PG_PASSWORD", "secret"),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "relay check refused deploy/relay-config.yaml: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn compose_runs_the_relay_hardened_next_to_postgres() {
    let compose = yaml("deploy/compose.yaml");
    let relay = at(&compose, &["services", "causeflow-relay"]);
    assert_eq!(at(relay, &["image"]).as_str(), Some(IMAGE));
    assert_eq!(at(relay, &["user"]).as_str(), Some("10001:10001"));
    assert_eq!(at(relay, &["read_only"]).as_bool(), Some(true));
    assert_eq!(strings(at(relay, &["tmpfs"])), ["/tmp:size=64m"]);
    assert!(
        strings(at(relay, &["security_opt"]))
            .iter()
            .any(|opt| opt == "no-new-privileges" || opt == "no-new-privileges:true"),
        "security_opt must contain no-new-privileges"
    );
    assert_eq!(strings(at(relay, &["cap_drop"])), ["ALL"]);
    assert!(
        at(relay, &["cap_add"]).is_null(),
        "no capability may be added"
    );
    assert!(at(relay, &["privileged"]).as_bool() != Some(true));
    assert!(
        at(relay, &["ports"]).is_null(),
        "the relay listens on no port"
    );
    assert_eq!(at(relay, &["mem_limit"]).as_str(), Some("512m"));
    assert_eq!(at(relay, &["cpus"]).as_f64(), Some(0.5));
    assert_eq!(at(relay, &["restart"]).as_str(), Some("unless-stopped"));
    let mut test = strings(at(relay, &["healthcheck", "test"]));
    assert_eq!(test.remove(0), "CMD", "exec-form healthcheck expected");
    assert_eq!(test, LIVENESS);
    assert_eq!(
        strings(at(relay, &["volumes"])),
        ["./relay-config.yaml:/app/relay-config.yaml:ro"]
    );
    let environment = at(relay, &["environment"]);
    for name in [
        "RELAY_TOKEN",
        "TENANT_ID",
        "PG_DATABASE",
        "PG_USER",
        "PG_PASSWORD",
    ] {
        let value = at(environment, &[name]).as_str().unwrap_or_default();
        assert!(
            value.starts_with(&format!("${{{name}")),
            "{name} must come from .env as ${{{name}}}, found {value:?}"
        );
    }
    assert_eq!(
        at(relay, &["depends_on", "postgres", "condition"]).as_str(),
        Some("service_healthy")
    );

    let postgres = at(&compose, &["services", "postgres"]);
    assert_eq!(at(postgres, &["image"]).as_str(), Some("postgres:16"));
    assert!(!at(postgres, &["healthcheck", "test"]).is_null());

    let example = read("deploy/.env.example");
    for name in [
        "RELAY_TOKEN",
        "TENANT_ID",
        "PG_DATABASE",
        "PG_USER",
        "PG_PASSWORD",
    ] {
        assert!(
            example
                .lines()
                .any(|line| line.starts_with(&format!("{name}="))),
            "deploy/.env.example lacks {name}"
        );
    }
    assert!(
        read(".gitignore").lines().any(|line| line.trim() == ".env"),
        ".env files must stay out of git"
    );
}
