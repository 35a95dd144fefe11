//! The ECS Fargate task definition and the Containerfile: the same hardening as every other
//! deployment, and a static binary in a non-root scratch image.

use crate::deploy::{json, json_strings, read, IMAGE, LIVENESS};
use std::collections::BTreeSet;

#[test]
fn ecs_task_runs_the_relay_hardened_on_fargate() {
    let task = json("deploy/ecs/task-definition.json");
    assert_eq!(json_strings(&task["requiresCompatibilities"]), ["FARGATE"]);
    assert_eq!(task["networkMode"], "awsvpc");
    assert_eq!(task["cpu"], "512");
    // 512 CPU units take 1024-4096 MiB on Fargate; the relay's own limit is the container's 512.
    let memory: u64 = task["memory"].as_str().unwrap().parse().unwrap();
    assert!((1024..=4096).contains(&memory), "task memory {memory}");

    let containers = task["containerDefinitions"].as_array().unwrap();
    for container in containers {
        let name = container["name"].as_str().unwrap();
        assert_eq!(
            container["readonlyRootFilesystem"], true,
            "{name}: read-only root"
        );
        assert_eq!(
            json_strings(&container["linuxParameters"]["capabilities"]["drop"]),
            ["ALL"],
            "{name}: drop ALL"
        );
        assert!(container["linuxParameters"]["capabilities"]["add"].is_null());
        assert!(container["privileged"] != true, "{name}: privileged");
        assert!(container["portMappings"].is_null(), "{name}: no ports");
        assert_eq!(container["logConfiguration"]["logDriver"], "awslogs");
    }
    let relay = containers
        .iter()
        .find(|c| c["name"] == "relay")
        .expect("a container named relay");
    assert_eq!(relay["image"], IMAGE);
    assert_eq!(relay["essential"], true);
    assert_eq!(relay["user"], "10001");
    assert_eq!(relay["memory"], 512);
    assert_eq!(relay["cpu"], 512);
    assert_eq!(relay["linuxParameters"]["initProcessEnabled"], true);
    let mut check = json_strings(&relay["healthCheck"]["command"]);
    assert_eq!(check.remove(0), "CMD", "exec-form healthCheck expected");
    assert_eq!(check, LIVENESS);

    // /tmp is a writable task volume; every other mount is read-only.
    let volumes: BTreeSet<String> = task["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    let mut has_tmp = false;
    for mount in relay["mountPoints"].as_array().unwrap() {
        let volume = mount["sourceVolume"].as_str().unwrap();
        assert!(volumes.contains(volume), "undeclared volume {volume}");
        if mount["containerPath"] == "/tmp" {
            has_tmp = true;
        } else {
            assert_eq!(mount["readOnly"], true, "{mount} must be read-only");
        }
    }
    assert!(has_tmp, "the relay needs a writable /tmp");

    // Secrets come from Secrets Manager or Parameter Store, never from plain environment.
    let secrets: BTreeSet<String> = relay["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let from = s["valueFrom"].as_str().unwrap();
            assert!(
                from.starts_with("arn:aws:secretsmanager:") || from.starts_with("arn:aws:ssm:"),
                "{from}"
            );
            s["name"].as_str().unwrap().to_owned()
        })
        .collect();
    for name in ["RELAY_TOKEN", "TENANT_ID", "PG_PASSWORD"] {
        assert!(secrets.contains(name), "{name} must be a secret");
    }
    for variable in relay["environment"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        assert!(!secrets.contains(name), "{name} is also plain environment");
        assert!(
            !name.contains("TOKEN") && !name.contains("PASSWORD"),
            "{name} belongs in secrets"
        );
    }
}

/// The Containerfile's instructions, continuation lines joined, comments dropped.
fn containerfile() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in read("Containerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(start) => {
                current.push_str(start.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}

fn exec_form(instruction: &str, keyword: &str) -> Vec<String> {
    let array = instruction
        .strip_prefix(keyword)
        .unwrap_or_else(|| panic!("{instruction:?} is not {keyword}"))
        .trim();
    serde_json::from_str::<Vec<String>>(array)
        .unwrap_or_else(|_| panic!("{keyword} must use the exec (JSON array) form: {instruction}"))
}

#[test]
fn containerfile_builds_a_static_binary_into_a_non_root_scratch_image() {
    let instructions = containerfile();
    assert!(
        read("Containerfile").starts_with("# "),
        "the Containerfile starts with a comment saying what it is for"
    );
    let froms: Vec<usize> = (0..instructions.len())
        .filter(|&i| instructions[i].starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage build expected");

    // The build stage uses the toolchain pinned in rust-toolchain.toml.
    let toolchain = read("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = "))
        .unwrap()
        .trim_matches('"');
    let build_from = &instructions[froms[0]];
    assert!(
        build_from.contains(&format!("rust:{channel}-")) && build_from.contains(" AS build"),
        "{build_from} should be the official rust:{channel} image (Debian)"
    );
    let build_stage = &instructions[froms[0]..*froms.last().unwrap()];
    let build_text = build_stage.join("\n");
    assert!(build_text.contains("rustup target add x86_64-unknown-linux-musl"));
    assert!(build_text.contains("scripts/lib/musl-env.sh"));
    assert!(
        build_stage.iter().any(|i| i.starts_with("RUN ")
            && i.contains("cargo build --release --locked --target x86_64-unknown-linux-musl")),
        "the build must be cargo build --release --locked for the musl target"
    );

    let last = *froms.last().unwrap();
    assert_eq!(instructions[last], "FROM scratch");
    let last_stage = &instructions[last..];
    assert!(
        !last_stage.iter().any(|i| i.starts_with("RUN ")),
        "scratch has no shell: the final stage cannot RUN"
    );
    let users: Vec<&String> = last_stage
        .iter()
        .filter(|i| i.starts_with("USER "))
        .collect();
    assert_eq!(users, ["USER 10001:10001"], "the final stage runs as 10001");
    for instruction in last_stage.iter().filter(|i| i.starts_with("COPY ")) {
        assert!(
            instruction.contains("--from=build"),
            "the final stage copies only from the build stage: {instruction}"
        );
    }
    assert!(
        last_stage
            .iter()
            .any(|i| i.starts_with("COPY ") && i.contains("--chown=10001:10001")),
        "/tmp must be copied owned by 10001"
    );
    // The build stage lays out the final filesystem with scripts/lib/image-rootfs.sh, the script
    // scripts/check-image.sh uses too: what it writes is part of the build stage.
    assert!(
        build_stage.iter().any(|i| i.starts_with("RUN ")
            && i.contains(
                "sh scripts/lib/image-rootfs.sh target/x86_64-unknown-linux-musl/release/relay /"
            )),
        "the build stage lays out /rootfs with scripts/lib/image-rootfs.sh"
    );
    let layout = format!("{build_text}\n{}", read("scripts/lib/image-rootfs.sh"));
    assert!(
        layout.contains("install -d -m 1777 \"$out/rootfs-tmp/tmp\""),
        "/tmp must be mode 1777"
    );
    assert!(layout.contains("ca-certificates.crt"));
    assert!(layout.contains("relay:x:10001:10001:"));

    for instruction in &instructions {
        let lower = instruction.to_lowercase();
        assert!(
            !(lower.starts_with("add ")
                && (lower.contains("http://") || lower.contains("https://"))),
            "no ADD of remote URLs: {instruction}"
        );
    }

    let healthcheck = last_stage
        .iter()
        .find(|i| i.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK");
    let probe = healthcheck
        .split(" CMD ")
        .nth(1)
        .expect("HEALTHCHECK ... CMD");
    assert_eq!(
        serde_json::from_str::<Vec<String>>(probe).expect("exec-form HEALTHCHECK"),
        LIVENESS
    );
    let entrypoint = last_stage
        .iter()
        .find(|i| i.starts_with("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    assert_eq!(
        exec_form(entrypoint, "ENTRYPOINT"),
        ["/usr/local/bin/relay"]
    );
    let cmd = last_stage
        .iter()
        .find(|i| i.starts_with("CMD "))
        .expect("a CMD");
    assert_eq!(exec_form(cmd, "CMD"), ["run"]);
    assert!(last_stage.iter().any(|i| i == "VOLUME [\"/tmp\"]"));
    assert!(
        last_stage
            .iter()
            .any(|i| i == &format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"))),
        "the image's version label must follow Cargo.toml"
    );
    assert!(last_stage
        .iter()
        .any(|i| i.starts_with("LABEL ") && i.contains("org.opencontainers.image.")));

    let ignore = read(".dockerignore");
    for entry in ["target/", ".git/", ".env"] {
        assert!(
            ignore.lines().any(|line| line.trim() == entry),
            ".dockerignore lacks {entry}"
        );
    }
}
