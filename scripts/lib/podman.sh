# Shared by the project's scripts: Podman, a daemonless container engine, for running the real image.
# Each checkout gets its own storage, state and events under target/podman, so a run touches no other
# image or container on the host (another checkout's `causeflow-relay` included).
# shellcheck shell=bash

# Installs Debian's podman and runc when either is missing (as root). Returns 1 if it cannot.
ensure_podman() {
    if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "podman or runc not found: installing Debian's podman and runc" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
}

# podman_configure DIR — writes DIR/containers.conf and DIR/storage.conf and exports them
# (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF) for every later `pm` call.
podman_configure() {
    local dir="$1"
    mkdir -p "$dir/storage" "$dir/run"
    # default_ulimits = []: Podman raises RLIMIT_NPROC by default, which sandboxed hosts refuse.
    # cgroupfs, a file for events and k8s-file logs: no systemd or journald is needed.
    cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/run/events.log"
tmp_dir = "$dir/run/libpod"
EOF
    cat >"$dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/run/storage"
EOF
    export CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf"
}

# pm ARGS... — podman with the runc runtime: crun, Podman's default, refuses hosts with hybrid
# (v1 + v2) cgroup hierarchies.
pm() {
    podman --runtime runc "$@"
}
