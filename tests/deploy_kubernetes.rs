//! The Kubernetes examples under deploy/kubernetes: one hardened replica, secrets and names that
//! line up, and a NetworkPolicy with no ingress and only the expected egress.

use crate::deploy::{at, root, strings, yaml, IMAGE, LIVENESS, READINESS};
use serde_norway::Value as Yaml;
use std::collections::BTreeSet;

fn k8s_deployment() -> Yaml {
    yaml("deploy/kubernetes/deployment.yaml")
}

#[test]
fn kubernetes_deployment_is_one_hardened_replica() {
    let deployment = k8s_deployment();
    assert_eq!(at(&deployment, &["kind"]).as_str(), Some("Deployment"));
    let spec = at(&deployment, &["spec"]);
    assert_eq!(at(spec, &["replicas"]).as_u64(), Some(1));
    assert_eq!(at(spec, &["strategy", "type"]).as_str(), Some("Recreate"));

    let pod = at(spec, &["template", "spec"]);
    assert_eq!(
        at(pod, &["automountServiceAccountToken"]).as_bool(),
        Some(false)
    );
    for flag in ["hostNetwork", "hostPID", "hostIPC"] {
        assert!(
            at(pod, &[flag]).as_bool() != Some(true),
            "{flag} must be off"
        );
    }
    let pod_security = at(pod, &["securityContext"]);
    assert_eq!(at(pod_security, &["runAsNonRoot"]).as_bool(), Some(true));
    assert_eq!(at(pod_security, &["runAsUser"]).as_u64(), Some(10001));
    assert_eq!(at(pod_security, &["runAsGroup"]).as_u64(), Some(10001));
    assert_eq!(at(pod_security, &["fsGroup"]).as_u64(), Some(10001));
    assert_eq!(
        at(pod_security, &["seccompProfile", "type"]).as_str(),
        Some("RuntimeDefault")
    );

    let containers = at(pod, &["containers"]).as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    assert!(at(pod, &["initContainers"]).is_null());
    let relay = &containers[0];
    assert_eq!(at(relay, &["image"]).as_str(), Some(IMAGE));
    assert!(
        at(relay, &["ports"]).is_null(),
        "the relay listens on no port"
    );
    let security = at(relay, &["securityContext"]);
    assert_eq!(
        at(security, &["readOnlyRootFilesystem"]).as_bool(),
        Some(true)
    );
    assert_eq!(
        at(security, &["allowPrivilegeEscalation"]).as_bool(),
        Some(false)
    );
    assert!(at(security, &["privileged"]).as_bool() != Some(true));
    assert_eq!(strings(at(security, &["capabilities", "drop"])), ["ALL"]);
    assert!(at(security, &["capabilities", "add"]).is_null());
    if let Some(uid) = at(security, &["runAsUser"]).as_u64() {
        assert_eq!(uid, 10001);
    }

    let resources = at(relay, &["resources"]);
    assert_eq!(at(resources, &["limits", "cpu"]).as_str(), Some("500m"));
    assert_eq!(at(resources, &["limits", "memory"]).as_str(), Some("512Mi"));
    assert_eq!(at(resources, &["requests", "cpu"]).as_str(), Some("128m"));
    assert_eq!(
        at(resources, &["requests", "memory"]).as_str(),
        Some("200Mi")
    );

    assert_eq!(
        strings(at(relay, &["livenessProbe", "exec", "command"])),
        LIVENESS
    );
    assert_eq!(
        strings(at(relay, &["readinessProbe", "exec", "command"])),
        READINESS
    );
    if !at(relay, &["startupProbe"]).is_null() {
        assert_eq!(
            strings(at(relay, &["startupProbe", "exec", "command"])),
            LIVENESS
        );
    }

    // /tmp is an in-memory emptyDir of 64 MiB; the configuration is mounted read-only.
    let volumes = at(pod, &["volumes"]).as_sequence().unwrap();
    let mounts = at(relay, &["volumeMounts"]).as_sequence().unwrap();
    let mount = |path: &str| {
        mounts
            .iter()
            .find(|m| at(m, &["mountPath"]).as_str() == Some(path))
            .unwrap_or_else(|| panic!("no volume mounted at {path}"))
    };
    let volume = |name: &str| {
        volumes
            .iter()
            .find(|v| at(v, &["name"]).as_str() == Some(name))
            .unwrap_or_else(|| panic!("no volume {name}"))
    };
    let tmp = volume(at(mount("/tmp"), &["name"]).as_str().unwrap());
    assert_eq!(at(tmp, &["emptyDir", "medium"]).as_str(), Some("Memory"));
    assert_eq!(at(tmp, &["emptyDir", "sizeLimit"]).as_str(), Some("64Mi"));
    let config = mount("/app/relay-config.yaml");
    assert_eq!(at(config, &["readOnly"]).as_bool(), Some(true));
    let config_volume = volume(at(config, &["name"]).as_str().unwrap());
    assert_eq!(
        at(config_volume, &["configMap", "name"]).as_str(),
        Some("causeflow-relay-config")
    );
    // Nothing else is writable.
    for mount in mounts {
        let path = at(mount, &["mountPath"]).as_str().unwrap_or_default();
        assert!(
            path == "/tmp" || at(mount, &["readOnly"]).as_bool() == Some(true),
            "{path} must be mounted read-only"
        );
    }
}

#[test]
fn kubernetes_secrets_and_names_line_up() {
    let deployment = k8s_deployment();
    let secret = yaml("deploy/kubernetes/secret.example.yaml");
    let secret_name = at(&secret, &["metadata", "name"]).as_str().unwrap();
    let secret_keys: BTreeSet<String> = at(&secret, &["stringData"])
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let env = at(&deployment, &["spec", "template", "spec", "containers"])[0]["env"]
        .as_sequence()
        .unwrap()
        .clone();
    for variable in ["TENANT_ID", "PG_PASSWORD"] {
        let entry = env
            .iter()
            .find(|e| at(e, &["name"]).as_str() == Some(variable))
            .unwrap_or_else(|| panic!("{variable} is not set"));
        assert!(
            at(entry, &["value"]).is_null(),
            "{variable} must come from the Secret, not a literal value"
        );
        let reference = at(entry, &["valueFrom", "secretKeyRef"]);
        assert_eq!(at(reference, &["name"]).as_str(), Some(secret_name));
        let key = at(reference, &["key"]).as_str().unwrap();
        assert!(secret_keys.contains(key), "{key} missing from the Secret");
    }
    assert!(
        !env.iter()
            .any(|e| at(e, &["name"]).as_str() == Some("RELAY_TOKEN")),
        "the token comes from the mounted Secret file, not the environment"
    );
    token_file_is_the_mounted_secret(&deployment, secret_name, &secret_keys);

    for file in [
        "configmap.yaml",
        "deployment.yaml",
        "networkpolicy.yaml",
        "secret.example.yaml",
    ] {
        let document = yaml(&format!("deploy/kubernetes/{file}"));
        assert_eq!(
            at(&document, &["metadata", "namespace"]).as_str(),
            Some("causeflow"),
            "{file}"
        );
    }
    let kustomization = yaml("deploy/kubernetes/kustomization.yaml");
    for resource in strings(at(&kustomization, &["resources"])) {
        assert!(
            root().join("deploy/kubernetes").join(&resource).is_file(),
            "kustomization lists a missing {resource}"
        );
    }
}

#[test]
fn network_policy_allows_no_ingress_and_only_the_expected_egress() {
    let policy = yaml("deploy/kubernetes/networkpolicy.yaml");
    assert_eq!(at(&policy, &["kind"]).as_str(), Some("NetworkPolicy"));
    let spec = at(&policy, &["spec"]);
    assert_eq!(
        at(spec, &["podSelector", "matchLabels", "app"]).as_str(),
        Some("causeflow-relay")
    );
    let types: BTreeSet<String> = strings(at(spec, &["policyTypes"])).into_iter().collect();
    assert!(
        types.contains("Ingress") && types.contains("Egress"),
        "{types:?}"
    );
    let ingress = at(spec, &["ingress"]);
    assert!(
        ingress.is_null() || ingress.as_sequence().is_some_and(|rules| rules.is_empty()),
        "the relay must accept no ingress"
    );
    let mut ports = BTreeSet::new();
    for rule in at(spec, &["egress"]).as_sequence().unwrap() {
        let rule_ports = at(rule, &["ports"])
            .as_sequence()
            .filter(|ports| !ports.is_empty())
            .expect("an egress rule without ports would allow every port");
        for port in rule_ports {
            ports.insert((
                at(port, &["protocol"]).as_str().unwrap_or("TCP").to_owned(),
                at(port, &["port"]).as_u64().expect("numeric port"),
            ));
        }
    }
    let expected: BTreeSet<(String, u64)> = [
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 443),
        ("TCP", 5432),
        ("TCP", 27017),
    ]
    .into_iter()
    .map(|(protocol, port)| (protocol.to_owned(), port))
    .collect();
    assert_eq!(ports, expected);
}

/// `controlPlane.tokenFile` names a file of a read-only Secret volume (not a `subPath`, which the
/// kubelet would never update), so a rotated Secret reaches the relay without a restart.
fn token_file_is_the_mounted_secret(deployment: &Yaml, secret: &str, keys: &BTreeSet<String>) {
    let configmap = yaml("deploy/kubernetes/configmap.yaml");
    let embedded = at(&configmap, &["data", "relay-config.yaml"])
        .as_str()
        .unwrap();
    let config: Yaml = serde_norway::from_str(embedded).unwrap();
    let token_file = at(&config, &["controlPlane", "tokenFile"])
        .as_str()
        .unwrap();
    assert!(at(&config, &["controlPlane", "token"]).is_null());
    let pod = at(deployment, &["spec", "template", "spec"]);
    let relay = &at(pod, &["containers"])[0];
    let mounts = at(relay, &["volumeMounts"]).as_sequence().unwrap();
    let mount = mounts
        .iter()
        .find(|m| {
            let path = at(m, &["mountPath"]).as_str().unwrap_or_default();
            token_file.starts_with(&format!("{path}/"))
        })
        .unwrap_or_else(|| panic!("no volume holds {token_file}"));
    assert_eq!(at(mount, &["readOnly"]).as_bool(), Some(true));
    assert!(
        at(mount, &["subPath"]).is_null(),
        "a subPath mount is never updated"
    );
    let name = at(mount, &["name"]).as_str().unwrap();
    let volumes = at(pod, &["volumes"]).as_sequence().unwrap();
    let volume = volumes
        .iter()
        .find(|v| at(v, &["name"]).as_str() == Some(name))
        .unwrap();
    assert_eq!(at(volume, &["secret", "secretName"]).as_str(), Some(secret));
    let mount_path = at(mount, &["mountPath"]).as_str().unwrap();
    let file_name = &token_file[mount_path.len() + 1..];
    let item = at(volume, &["secret", "items"])
        .as_sequence()
        .unwrap()
        .iter()
        .find(|item| at(item, &["path"]).as_str() == Some(file_name))
        .unwrap_or_else(|| panic!("the Secret volume has no {file_name}"));
    let key = at(item, &["key"]).as_str().unwrap();
    assert_eq!(key, "relay-token");
    assert!(keys.contains(key), "{key} missing from the Secret");
}
