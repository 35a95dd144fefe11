#!/usr/bin/env bash
# Builds and runs the real container image with Podman (runc). The image is the Containerfile's final
# (`scratch`) stage, unchanged, with the build stage replaced by the static binary from target/musl
# (the one scripts/check-static.sh builds; rebuilt here if stale), laid out by
# scripts/lib/image-rootfs.sh exactly as the build stage lays it out (--build-context build=DIR).
# Checks the image with `podman image inspect` (size under 20 MB, USER 10001, ENTRYPOINT and CMD,
# HEALTHCHECK) and its files, then runs it with exactly the quickstart's `docker run` flags, plus host
# networking, against the development control plane and the local PostgreSQL: the four startup lines
# in `podman logs`, a masked query, `podman healthcheck run`, a failed write to the root filesystem,
# no capabilities in /proc/1/status, `podman stop` draining and exit 0. Then runs the relay container
# of deploy/kubernetes/deployment.yaml as the manifest sets it up (UID/GID and fsGroup, read-only
# root, the in-memory emptyDir /tmp, the read-only config subPath, limits) and its probes' commands.
# Installs podman and runc when missing; on a host that cannot run containers at all it says so on
# one line and exits 0. Needs root. Podman's storage and state: target/podman. Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/build-deps.sh
source scripts/lib/postgres.sh
source scripts/lib/musl-env.sh
source scripts/lib/podman.sh
source scripts/lib/python-venv.sh

IMAGE=causeflow/relay:latest
CONTAINER=causeflow-relay
KUBE_CONTAINER=causeflow-relay-kubernetes
DEPLOYMENT=deploy/kubernetes/deployment.yaml
CONFIGMAP=deploy/kubernetes/configmap.yaml
RELAY_UID=10001
MAX_IMAGE_BYTES=$((20 * 1000 * 1000))
YAML_REQUIREMENTS="PyYAML==6.0.3"
started_at=$(date +%s)

checks=0
pass() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; [ -n "${workdir:-}" ] && echo "logs kept in $workdir" >&2; exit 1; }
skip() {
    echo "image check: SKIPPED, this host cannot run containers: $*"
    rm -rf "${workdir:-}"
    workdir=""
    exit 0
}

[ "$(id -u)" = 0 ] || fail "run as root: Podman runs rootful here and the checks read /proc of the container"
for tool in curl python3 git; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done
ensure_podman || skip "podman and runc are not installed and apt-get could not install them"
ensure_build_deps
ensure_musl_build_deps || fail "cannot install the musl build's dependencies"
ensure_postgres || fail "no PostgreSQL on 127.0.0.1:5432"
yaml_venv="$PWD/target/image-venv"
ensure_python_venv "$yaml_venv" "$YAML_REQUIREMENTS" 'import yaml' || fail "cannot install $YAML_REQUIREMENTS"

export CARGO_TARGET_DIR="$PWD/target/musl"
echo "==> The static relay and relay-devplane (target/musl; a no-op after check-static.sh)"
nice -n 10 cargo build --release --locked --target "$RELAY_MUSL_TARGET" --bin relay --bin relay-devplane
relay_bin="$CARGO_TARGET_DIR/$RELAY_MUSL_TARGET/release/relay"
devplane_bin="$CARGO_TARGET_DIR/$RELAY_MUSL_TARGET/release/relay-devplane"
version=$("$relay_bin" version | awk '{ print $2 }')

podman_configure "$PWD/target/podman"
umask 022
workdir="$(mktemp -d /var/tmp/relay-image.XXXXXX)"
chmod 0755 "$workdir"
# On failure the containers' logs stay in $workdir beside the control plane's.
cleanup() {
    local name
    for name in "$CONTAINER" "$KUBE_CONTAINER"; do
        if [ -n "$workdir" ]; then pm logs "$name" >"$workdir/$name.log" 2>&1 || true; fi
        pm rm -f -t 0 "$name" >/dev/null 2>&1 || true
    done
    if [ -n "${image_mounted:-}" ]; then pm image unmount "$IMAGE" >/dev/null 2>&1 || true; fi
    if [ -n "${devplane_pid:-}" ] && kill -0 "$devplane_pid" 2>/dev/null; then
        kill -TERM "$devplane_pid" 2>/dev/null || true
        wait "$devplane_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
pm rm -f -t 0 "$CONTAINER" "$KUBE_CONTAINER" >/dev/null 2>&1 || true

# ---- can this host run a container at all? Podman's storage, then the static binary alone as a
# root filesystem: it runs on the host (check-static.sh), so a failure here is the host's.
mkdir "$workdir/probe-root"
install -m 0555 "$relay_bin" "$workdir/probe-root/relay"
if ! probe_output=$(pm info 2>&1 >/dev/null) ||
    ! probe_output=$(pm run --rm --network host --rootfs "$workdir/probe-root" /relay version 2>&1); then
    skip "$(printf '%s' "$probe_output" | tail -n 3 | tr '\n' ' ')"
fi
pass "this host runs containers: $(podman --version), runc $(runc --version | awk 'NR == 1 { print $3 }')"

# ---- the image ----
echo "==> Building $IMAGE from the Containerfile's final stage (build stage: target/musl's relay)"
sh scripts/lib/image-rootfs.sh "$relay_bin" "$workdir/build-stage" >/dev/null
# --format docker: the OCI image format has no HEALTHCHECK; Docker's has, and Docker builds it.
pm build --quiet --format docker --build-context build="$workdir/build-stage" \
    --build-arg REVISION="$(git rev-parse HEAD)" -f Containerfile -t "$IMAGE" . >/dev/null ||
    fail "podman build of the Containerfile's final stage failed"
pm image inspect "$IMAGE" >"$workdir/image.json"
image_config_check=$(cat <<'PY'
import json, sys
image = json.load(open(sys.argv[1]))[0]
# Podman reports the HEALTHCHECK beside Config, Docker inside it.
config = {"Healthcheck": image.get("Healthcheck"), **image["Config"]}
limit, version = int(sys.argv[2]), sys.argv[3]
seconds = 1_000_000_000
expected = {
    "User": "10001:10001",
    "Entrypoint": ["/usr/local/bin/relay"],
    "Cmd": ["run"],
    "WorkingDir": "/app",
    "StopSignal": "SIGTERM",
    "Volumes": {"/tmp": {}},
    "Healthcheck": {"Test": ["CMD", "/usr/local/bin/relay", "healthcheck"], "Interval": 30 * seconds,
                    "Timeout": 5 * seconds, "StartPeriod": 30 * seconds, "Retries": 3},
}
problems = [f"{key} is {config.get(key)!r}, expected {want!r}"
            for key, want in expected.items() if config.get(key) != want]
if image["Size"] >= limit:
    problems.append(f"the image is {image['Size']} bytes, not under {limit}")
if config.get("Labels", {}).get("org.opencontainers.image.version") != version:
    problems.append(f"label org.opencontainers.image.version is not {version}")
if problems:
    sys.exit("; ".join(problems))
print(f"{image['Size'] / 1e6:.1f} MB, user {config['User']}, entrypoint {config['Entrypoint']} "
      f"{config['Cmd']}, healthcheck {' '.join(config['Healthcheck']['Test'][1:])} every 30 s")
PY
)
image_summary=$(python3 -c "$image_config_check" "$workdir/image.json" "$MAX_IMAGE_BYTES" "$version" 2>&1) ||
    fail "the image's configuration: $image_summary"
pass "podman image inspect: $image_summary"
image_size_mb=${image_summary%% MB*}

# Every file of the image, with owner and mode: exactly what the final stage should hold.
image_root=$(pm image mount "$IMAGE")
image_mounted=1
listing=$(cd "$image_root" && find . -mindepth 1 -printf '%p %U:%G %m\n' | sort)
expected_listing="./app 0:0 755
./etc 0:0 755
./etc/group 0:0 444
./etc/passwd 0:0 444
./etc/ssl 0:0 755
./etc/ssl/certs 0:0 755
./etc/ssl/certs/ca-certificates.crt 0:0 444
./tmp $RELAY_UID:$RELAY_UID 1777
./usr 0:0 755
./usr/local 0:0 755
./usr/local/bin 0:0 755
./usr/local/bin/relay 0:0 555"
[ "$listing" = "$expected_listing" ] ||
    fail "the image's files differ from the expected layout:$(diff <(echo "$expected_listing") <(echo "$listing"))"
cmp -s "$image_root/usr/local/bin/relay" "$relay_bin" || fail "the image's relay is not target/musl's"
[ "$(cat "$image_root/etc/passwd")" = "relay:x:$RELAY_UID:$RELAY_UID:relay:/nonexistent:/sbin/nologin" ] ||
    fail "unexpected /etc/passwd: $(cat "$image_root/etc/passwd")"
[ "$(cat "$image_root/etc/group")" = "relay:x:$RELAY_UID:" ] || fail "unexpected /etc/group"
certificates=$(grep -c 'BEGIN CERTIFICATE' "$image_root/etc/ssl/certs/ca-certificates.crt")
[ "$certificates" -ge 100 ] || fail "the CA bundle holds only $certificates certificates"
pm image unmount "$IMAGE" >/dev/null
image_mounted=""
pass "files: the relay (0555), $certificates CA certificates, passwd and group for $RELAY_UID, /app, /tmp ($RELAY_UID, 1777), nothing else"

# ---- the quickstart's run ----
source scripts/lib/image-scenario.sh
start_devplane
prepare_database
seed_flags=(
    -v "$workdir/relay-config.yaml:/app/relay-config.yaml:ro"
    -e RELAY_TOKEN="$RELAY_TOKEN" -e TENANT_ID="$TENANT_ID" -e PG_HOST="$PG_HOST"
    -e PG_DATABASE="$PG_DATABASE" -e PG_USER="$PG_USER" -e PG_PASSWORD="$PG_PASSWORD"
    --memory=512m --cpus=0.5 --read-only --tmpfs /tmp:size=64m
    --security-opt no-new-privileges --cap-drop ALL
)
# Beside the quickstart's flags: host networking, to reach PostgreSQL and the control plane on
# 127.0.0.1; and --read-only-tmpfs=false, so that --read-only means what it means to Docker (Podman
# would otherwise also mount writable tmpfs on /run and /var/tmp).
podman_flags=(--network host --read-only-tmpfs=false)

# Podman's own messages go to podman.log: without systemd it cannot schedule the HEALTHCHECK by
# itself and says so; `podman healthcheck run` below runs it.
check_output=$(pm run --rm "${seed_flags[@]}" "${podman_flags[@]}" "$IMAGE" check 2>>"$workdir/podman.log") ||
    fail "relay check in the image: $check_output $(tail -n 5 "$workdir/podman.log")"
pass "podman run ... $IMAGE check: $check_output"

echo "==> podman run -d --name $CONTAINER --restart unless-stopped (the quickstart's flags) --network host"
pm run -d --name "$CONTAINER" --restart unless-stopped "${seed_flags[@]}" "${podman_flags[@]}" \
    "$IMAGE" >/dev/null 2>>"$workdir/podman.log" || fail "podman run failed: $(tail -n 5 "$workdir/podman.log")"
wait_for_log "$CONTAINER" '"msg":"Relay ready"' || fail "the relay did not log \"Relay ready\""
startup_lines=$(pm logs "$CONTAINER" 2>&1 | startup_lines "$version" "ws://127.0.0.1:$devplane_port/v1/relay/connect" 2>&1) ||
    fail "podman logs lacks the four startup lines: $startup_lines"
echo "$startup_lines"
pass "podman logs: Relay starting, Connected to control plane, Resource healthy (main-pg), Relay ready"

relay_pid=$(pm inspect -f '{{.State.Pid}}' "$CONTAINER")
check_process "$relay_pid" || fail "PID 1 of the container: $process_problem"
pass "/proc/1/status in the container: $process_identity, every capability set empty, NoNewPrivs, seccomp"
limits=$(cgroup_limits "$relay_pid") || fail "cgroup limits: $limits"
[ "$limits" = "memory 536870912 cpu 50000/100000" ] || fail "--memory=512m --cpus=0.5 not in force: $limits"
pass "cgroup limits in force: $limits"

query_masked || fail "unexpected answer to the query: $answer"
pass "query through POST /v1/relay/operations answered, e-mail masked"

healthcheck_output=$(healthcheck_until_healthy "$CONTAINER") || fail "podman healthcheck run: $healthcheck_output"
health=$(pm inspect -f '{{.State.Health.Status}}' "$CONTAINER")
[ "$health" = healthy ] || fail "health status $health after a passing healthcheck"
probe_line=$(pm inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$CONTAINER" | tail -n 1)
pass "podman healthcheck run: exit 0${healthcheck_output:+ ($healthcheck_output)}, status $health; the HEALTHCHECK said: $probe_line"
status=0
pm exec "$CONTAINER" /usr/local/bin/relay healthcheck --status-file /tmp/no-such-status.json >/dev/null 2>&1 || status=$?
[ "$status" = 1 ] || fail "relay healthcheck without a status file exited $status in the container, expected 1"
pass "the same probe on a missing status file exits 1"

check_read_only_root "$relay_pid" "size=65536k" || fail "$filesystem_problem"
pass "root filesystem read-only (writes as root failed: $write_error), nothing writable but /tmp, a 64 MiB tmpfs holding $tmp_listing"

pm stop -t 15 "$CONTAINER" >/dev/null 2>>"$workdir/podman.log" || fail "podman stop failed"
stopped_cleanly "$CONTAINER" || fail "$stop_problem"
pass "podman stop: drained (Shutdown requested, Relay stopping, Relay stopped), exited 0, not restarted"

# ---- the Kubernetes Deployment's container ----
kube() { "$yaml_venv/bin/python" scripts/lib/kubernetes-container.py "$DEPLOYMENT" "$@"; }
# The ConfigMap's configuration (the token read from the Secret volume's file), pointed at the
# development control plane like the one above.
mkdir -p "$workdir/kube"
"$yaml_venv/bin/python" -c 'import sys, yaml; sys.stdout.write(yaml.safe_load(open(sys.argv[1]))["data"]["relay-config.yaml"])' \
    "$CONFIGMAP" | sed "s#wss://api.causeflow.ai/v1/relay/connect#ws://127.0.0.1:$devplane_port/v1/relay/connect#" \
    >"$workdir/kube/relay-config.yaml"
chmod 0444 "$workdir/kube/relay-config.yaml"
mapfile -d '' kube_flags < <(kube flags "$workdir/kube/relay-config.yaml" PG_HOST="$PG_HOST")
[ "${#kube_flags[@]}" -gt 0 ] || fail "cannot read $DEPLOYMENT"
grace=$(kube grace | tr -d '\0')
echo "==> The relay container of $DEPLOYMENT: podman run -d ${kube_flags[*]}"
# --pull never: the manifest's imagePullPolicy: Always asks a registry; the image was just built.
pm run -d --name "$KUBE_CONTAINER" --network host --pull never "${kube_flags[@]}" >/dev/null 2>>"$workdir/podman.log" ||
    fail "podman run of the Deployment's container failed: $(tail -n 5 "$workdir/podman.log")"
wait_for_log "$KUBE_CONTAINER" '"msg":"Relay ready"' || fail "the Deployment's relay did not log \"Relay ready\""
kube_pid=$(pm inspect -f '{{.State.Pid}}' "$KUBE_CONTAINER")
check_process "$kube_pid" || fail "the Deployment's relay: $process_problem"
check_read_only_root "$kube_pid" "size=65536k" || fail "the Deployment's relay: $filesystem_problem"
pass "Deployment: UID/GID $RELAY_UID with fsGroup $RELAY_UID, no capabilities, NoNewPrivs, read-only root, emptyDir /tmp (64 MiB tmpfs), the ConfigMap's configuration with the token read from the Secret volume"
for probe in startupProbe livenessProbe readinessProbe; do
    mapfile -d '' probe_command < <(kube probe "$probe")
    probe_output=$(exec_until_success "$KUBE_CONTAINER" "${probe_command[@]}") ||
        fail "$probe ${probe_command[*]}: $probe_output"
    pass "$probe ${probe_command[*]}: $probe_output"
done

# Without the control plane the pod is not Ready, but alive.
kill -TERM "$devplane_pid"
wait "$devplane_pid" 2>/dev/null || true
devplane_pid=""
mapfile -d '' readiness < <(kube probe readinessProbe)
mapfile -d '' liveness < <(kube probe livenessProbe)
not_ready=$(exec_until_failure "$KUBE_CONTAINER" "${readiness[@]}") ||
    fail "readinessProbe still passes without the control plane: $not_ready"
alive=$(pm exec "$KUBE_CONTAINER" "${liveness[@]}" 2>&1) || fail "livenessProbe fails without the control plane: $alive"
pass "control plane gone: readinessProbe fails ($not_ready), livenessProbe passes"

pm stop -t "$grace" "$KUBE_CONTAINER" >/dev/null 2>>"$workdir/podman.log" || fail "podman stop of the Deployment's container failed"
stopped_cleanly "$KUBE_CONTAINER" || fail "the Deployment's relay: $stop_problem"
pass "stopped within terminationGracePeriodSeconds ($grace s): drained, exited 0"

pm image prune -f >/dev/null 2>&1 || true
rm -rf "$workdir"
workdir=""
echo "image: ok — $IMAGE ${image_size_mb} MB built from the Containerfile with podman + runc," \
    "quickstart run and Kubernetes container settings ok ($checks checks, $(($(date +%s) - started_at))s)"
