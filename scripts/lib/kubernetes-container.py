"""The relay container of deploy/kubernetes/deployment.yaml as `podman run` settings, for
scripts/check-image.sh: the security contexts (UID/GID, fsGroup, read-only root, capabilities, no
privilege escalation, seccomp), the limits, the volume mounts (the ConfigMap's subPath as a read-only
file, a Secret's items as read-only files, the in-memory emptyDir as a tmpfs of its sizeLimit), the environment and the args; and the
probes' exec commands, the grace period. A setting it does not know how to run is an error, so the
check cannot silently drift from the manifest.

  kubernetes-container.py DEPLOYMENT flags CONFIG_FILE [NAME=VALUE...]   NUL-separated podman flags,
      the image and its args; NAME=VALUE replaces a plain `value` (Secret keys come from podman's
      environment: `-e NAME`, so no secret is on a command line)
  kubernetes-container.py DEPLOYMENT probe startupProbe|livenessProbe|readinessProbe
  kubernetes-container.py DEPLOYMENT grace
"""

import json
import os
import sys

import yaml

POD_SECURITY = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile"}
CONTAINER_SECURITY = {
    "runAsNonRoot", "runAsUser", "runAsGroup", "readOnlyRootFilesystem",
    "allowPrivilegeEscalation", "privileged", "capabilities", "seccompProfile",
}
QUANTITY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}


def fail(problem):
    sys.exit(f"deploy/kubernetes/deployment.yaml: {problem}")


def bytes_of(quantity):
    text = str(quantity)
    for suffix, factor in QUANTITY.items():
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def cpus_of(quantity):
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def relay_container(pod):
    for container in pod["containers"]:
        if container["name"] == "relay":
            return container
    return fail("no container named relay")


def security_flags(pod, container):
    pod_context = pod.get("securityContext", {})
    context = container.get("securityContext", {})
    for key in set(pod_context) - POD_SECURITY:
        fail(f"pod securityContext.{key} is not run by the image check")
    for key in set(context) - CONTAINER_SECURITY:
        fail(f"container securityContext.{key} is not run by the image check")
    effective = {**pod_context, **context}
    uid, gid = effective.get("runAsUser"), effective.get("runAsGroup")
    if uid is None or gid is None:
        fail("runAsUser and runAsGroup must be set: the check runs the container as they say")
    if effective.get("runAsNonRoot") and uid == 0:
        fail("runAsNonRoot with runAsUser 0")
    flags = ["--user", f"{uid}:{gid}"]
    if "fsGroup" in pod_context:
        flags += ["--group-add", str(pod_context["fsGroup"])]
    if effective.get("readOnlyRootFilesystem"):
        # Kubernetes mounts nothing writable besides the pod's volumes.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    if effective.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    if effective.get("privileged"):
        fail("privileged containers are not run by the image check")
    for capability in effective.get("capabilities", {}).get("drop", []):
        flags += ["--cap-drop", capability]
    for capability in effective.get("capabilities", {}).get("add", []):
        flags += ["--cap-add", capability]
    seccomp = effective.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp != "RuntimeDefault":
        fail(f"seccompProfile {seccomp}: only RuntimeDefault (Podman's default profile) is run")
    return flags


def limit_flags(container):
    limits = container.get("resources", {}).get("limits", {})
    flags = []
    if "memory" in limits:
        flags += ["--memory", f"{bytes_of(limits['memory'])}b"]
    if "cpu" in limits:
        flags += ["--cpus", f"{cpus_of(limits['cpu']):g}"]
    return flags


def secret_directory(name, secret, config_file):
    """A Secret volume as the kubelet projects it: one file per item, in a directory beside the
    config file. A key's value comes from the environment variable named like it (`relay-token`:
    RELAY_TOKEN), as for the env entries, so no secret is on a command line."""
    items = secret.get("items") or fail(f"volume {name}: a Secret volume without items is not run by the image check")
    directory = os.path.join(os.path.dirname(os.path.abspath(config_file)), f"secret-{name}")
    os.makedirs(directory, mode=0o755, exist_ok=True)
    for item in items:
        variable = item["key"].upper().replace("-", "_")
        value = os.environ.get(variable)
        if value is None:
            fail(f"volume {name}: Secret key {item['key']} needs {variable} in the environment")
        file = os.path.join(directory, item["path"])
        with open(file, "w", encoding="utf-8") as out:
            out.write(value)
        # Readable by the container's UID whatever the host user; the mount is read-only.
        os.chmod(file, 0o444)
    return directory


def mount_flags(pod, container, config_file):
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    flags = []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"]) or fail(f"volume {mount['name']} is not declared")
        path = mount["mountPath"]
        if "configMap" in volume:
            if "subPath" not in mount:
                fail(f"configMap volume {mount['name']} without subPath is not run by the image check")
            mode = "ro" if mount.get("readOnly") else "rw"
            flags += ["-v", f"{config_file}:{path}:{mode}"]
        elif "secret" in volume:
            directory = secret_directory(mount["name"], volume["secret"], config_file)
            flags += ["-v", f"{directory}:{path}:ro"]
        elif volume.get("emptyDir", {}).get("medium") == "Memory":
            size = volume["emptyDir"].get("sizeLimit")
            options = f"type=tmpfs,destination={path},tmpfs-mode=0777,notmpcopyup"
            if size is not None:
                options += f",tmpfs-size={bytes_of(size)}"
            flags += ["--mount", options]
        else:
            fail(f"volume {mount['name']} ({', '.join(volume)}) is not run by the image check")
    return flags


def env_flags(container, overrides):
    flags = []
    for variable in container.get("env", []):
        name = variable["name"]
        if name in overrides:
            flags += ["-e", f"{name}={overrides[name]}"]
        elif "value" in variable:
            flags += ["-e", f"{name}={variable['value']}"]
        elif "secretKeyRef" in variable.get("valueFrom", {}):
            flags += ["-e", name]
        else:
            fail(f"env {name}: only value and valueFrom.secretKeyRef are run by the image check")
    return flags


def run_flags(pod, container, config_file, overrides):
    flags = security_flags(pod, container) + limit_flags(container)
    flags += mount_flags(pod, container, config_file) + env_flags(container, overrides)
    if "command" in container:
        flags += ["--entrypoint", json.dumps(container["command"])]
    return flags + [container["image"]] + [str(arg) for arg in container.get("args", [])]


def main():
    deployment, request = sys.argv[1], sys.argv[2]
    with open(deployment, encoding="utf-8") as file:
        pod = yaml.safe_load(file)["spec"]["template"]["spec"]
    container = relay_container(pod)
    if request == "flags":
        overrides = dict(argument.split("=", 1) for argument in sys.argv[4:])
        output = run_flags(pod, container, sys.argv[3], overrides)
    elif request == "probe":
        probe = container.get(sys.argv[3]) or fail(f"the relay container has no {sys.argv[3]}")
        output = [str(part) for part in probe["exec"]["command"]]
    elif request == "grace":
        output = [str(pod.get("terminationGracePeriodSeconds", 30))]
    else:
        fail(f"unknown request {request}")
    sys.stdout.write("".join(f"{item}\0" for item in output))


if __name__ == "__main__":
    main()
