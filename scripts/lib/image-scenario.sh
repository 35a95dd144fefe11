# The steps of scripts/check-image.sh that run against a started container: the development control
# plane, the smoke database, waiting for log lines and probes, and what the checks read from the
# container's /proc, its cgroups and its state. Uses check-image.sh's pm, workdir and RELAY_UID.
# Functions that find a problem return 1 and leave the reason in a variable named after them.
# shellcheck shell=bash

# Starts relay-devplane on 127.0.0.1 and writes the relay's configuration: deploy/relay-config.yaml
# unchanged except for the control plane's address. Sets devplane_pid and devplane_port.
start_devplane() {
    export RELAY_TOKEN="image-relay-token-$RANDOM$RANDOM"
    export TENANT_ID="image-tenant"
    export RELAY_DEVPLANE_API_KEY="image-api-key-$RANDOM$RANDOM"
    echo "==> Starting the development control plane on 127.0.0.1"
    "$devplane_bin" --listen 127.0.0.1:0 >"$workdir/devplane.log" 2>&1 &
    devplane_pid=$!
    devplane_port=""
    for _ in $(seq 1 100); do
        devplane_port=$(sed -n 's/.*"msg":"Dev control plane listening".*"addr":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' \
            "$workdir/devplane.log" | head -n 1)
        [ -n "$devplane_port" ] && break
        kill -0 "$devplane_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$devplane_port" ] || fail "the development control plane did not start: $(cat "$workdir/devplane.log")"
    sed "s#wss://api.causeflow.ai/v1/relay/connect#ws://127.0.0.1:$devplane_port/v1/relay/connect#" \
        deploy/relay-config.yaml >"$workdir/relay-config.yaml"
    chmod 0444 "$workdir/relay-config.yaml"
}

# The database the query reads, through a read-only role. Exports the four PG_ variables.
prepare_database() {
    export PG_HOST=127.0.0.1 PG_DATABASE=relay_image_smoke PG_USER=relay_image_reader
    export PG_PASSWORD="image-password-$RANDOM$RANDOM"
    echo "==> Preparing database $PG_DATABASE and read-only role $PG_USER"
    prepare_reader_database "$PG_DATABASE" "$PG_USER" "$PG_PASSWORD" <<'SQL'
CREATE TABLE IF NOT EXISTS smoke_customers (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO smoke_customers VALUES (1, 'ana.souza@example.com') ON CONFLICT (id) DO NOTHING;
SQL
}

# wait_for_log CONTAINER PATTERN — up to 60 s, while the container runs.
wait_for_log() {
    local container="$1" pattern="$2"
    for _ in $(seq 1 300); do
        pm logs "$container" 2>&1 | grep -q "$pattern" && return 0
        [ "$(pm inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ] || break
        sleep 0.2
    done
    pm logs "$container" 2>&1 | grep -q "$pattern"
}

# startup_lines VERSION URL < logs — prints the quickstart's four startup lines, or why they are not
# there: `Relay starting` first, `Relay ready` after `Connected to control plane` and `Resource healthy`.
startup_lines() {
    python3 -c '
import json, sys
version, url = sys.argv[1], sys.argv[2]
lines = []
for text in sys.stdin:
    try:
        lines.append((json.loads(text), text.rstrip()))
    except ValueError:
        pass
def find(msg, **fields):
    for index, (line, text) in enumerate(lines):
        if line.get("msg") == msg and all(line.get(k) == v for k, v in fields.items()):
            return index, text
    sys.exit(f"no {msg} line with {fields}")
starting = find("Relay starting", version=version)
connected = find("Connected to control plane", url=url)
healthy = find("Resource healthy", resourceId="main-pg", type="postgres")
ready = find("Relay ready")
if not starting[0] < min(connected[0], healthy[0]) <= max(connected[0], healthy[0]) < ready[0]:
    sys.exit("the startup lines are out of order")
print("\n".join(text for _, text in (starting, connected, healthy, ready)))
' "$@"
}

# check_process HOST_PID — the container's own /proc/1/status (read through its root, so in its PID
# namespace) is HOST_PID's, the relay's, as UID/GID 10001 with no supplementary group but its own,
# no capability in any set, no-new-privileges and a seccomp filter. Sets process_identity.
check_process() {
    local pid="$1" status set
    status=$(cat "/proc/$pid/root/proc/1/status") || { process_problem="cannot read /proc/1/status"; return 1; }
    field() { awk -v key="$1:" '$1 == key { $1 = ""; sub(/^[ \t]+/, ""); print }' <<<"$status"; }
    process_identity="$(field Name) as PID $(field Pid) (NSpid $(awk '$1 == "NSpid:" { print $2, $3 }' "/proc/$pid/status"))"
    process_identity+=", Uid $(field Uid), Gid $(field Gid), Groups $(field Groups)"
    process_problem=$process_identity
    [ "$(field Name)" = relay ] && [ "$(field Pid)" = 1 ] || return 1
    [ "$(awk '$1 == "NSpid:" { print $2, $3 }' "/proc/$pid/status")" = "$pid 1" ] || return 1
    [ "$(field Uid)" = "$RELAY_UID $RELAY_UID $RELAY_UID $RELAY_UID" ] || return 1
    [ "$(field Gid)" = "$RELAY_UID $RELAY_UID $RELAY_UID $RELAY_UID" ] || return 1
    case "$(field Groups)" in "" | "$RELAY_UID") ;; *) return 1 ;; esac
    for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        process_problem="$set $(field "$set")"
        [ "$(field "$set")" = 0000000000000000 ] || return 1
    done
    process_problem="NoNewPrivs $(field NoNewPrivs), Seccomp $(field Seccomp)"
    [ "$(field NoNewPrivs)" = 1 ] && [ "$(field Seccomp)" = 2 ]
}

# cgroup_limits PID — prints "memory BYTES cpu QUOTA/PERIOD" from PID's cgroups (v1 or v2).
cgroup_limits() {
    local pid="$1" memory cpu path
    path=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
    if [ -n "$path" ] && [ -r "/sys/fs/cgroup/memory$path/memory.limit_in_bytes" ]; then
        memory=$(cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes")
        path=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' "/proc/$pid/cgroup")
        cpu="$(cat "/sys/fs/cgroup/cpu$path/cpu.cfs_quota_us")/$(cat "/sys/fs/cgroup/cpu$path/cpu.cfs_period_us")"
    else
        path=$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")
        memory=$(cat "/sys/fs/cgroup$path/memory.max")
        cpu=$(tr ' ' / <"/sys/fs/cgroup$path/cpu.max")
    fi
    echo "memory $memory cpu $cpu"
}

# One query through the development control plane; sets answer.
query_masked() {
    answer=$(curl -sS --max-time 30 -H "Authorization: Bearer $RELAY_DEVPLANE_API_KEY" \
        -H 'Content-Type: application/json' -X POST "http://127.0.0.1:$devplane_port/v1/relay/operations" \
        -d '{"resourceId":"main-pg","operation":"query","params":{"sql":"SELECT id, email FROM smoke_customers ORDER BY id"}}')
    echo "operation answer: $answer"
    python3 -c '
import json, sys
answer = json.loads(sys.argv[1])
assert answer.get("type") == "result", answer
assert answer["rows"] == [[1, "***@***.***"]], answer["rows"]
assert answer["masked"]["total"] == 1, answer["masked"]
' "$answer"
}

# healthcheck_until_healthy CONTAINER — `podman healthcheck run` until it passes (up to 30 s).
healthcheck_until_healthy() {
    local output
    for _ in $(seq 1 60); do
        output=$(pm healthcheck run "$1" 2>&1) && { echo "$output"; return 0; }
        sleep 0.5
    done
    echo "$output"
    return 1
}

# exec_until_success CONTAINER COMMAND... / exec_until_failure — `podman exec` until the command
# exits 0 / exits non-zero (up to 40 s); prints its last output.
exec_until_success() {
    local container="$1" output
    shift
    for _ in $(seq 1 80); do
        output=$(pm exec "$container" "$@" 2>&1) && { echo "$output"; return 0; }
        sleep 0.5
    done
    echo "$output"
    return 1
}
exec_until_failure() {
    local container="$1" output
    shift
    for _ in $(seq 1 80); do
        output=$(pm exec "$container" "$@" 2>&1) || { echo "$output"; return 0; }
        sleep 0.5
    done
    echo "$output"
    return 1
}

# check_read_only_root HOST_PID TMPFS_SIZE — even root cannot write to the container's root
# filesystem or its configuration (through /proc/PID/root, in the container's mounts); /tmp is a
# tmpfs of TMPFS_SIZE, where the relay keeps its files, and the only writable mount but the runtime's
# /proc, /dev and /sys ones. Sets write_error and tmp_listing.
check_read_only_root() {
    local pid="$1" size="$2" root="/proc/$1/root" target mounts writable
    for target in "$root/relay-image-check-write" "$root/usr/local/bin/relay-image-check-write" \
        "$root/app/relay-config.yaml"; do
        if write_error=$( (: >>"$target") 2>&1); then
            filesystem_problem="${target#"$root"} is writable in the container"
            return 1
        fi
        case "$write_error" in
            *"Read-only file system"*) ;;
            *) filesystem_problem="writing ${target#"$root"}: $write_error"; return 1 ;;
        esac
    done
    write_error="${write_error##*: }"
    [ ! -e "$root/relay-image-check-write" ] || { filesystem_problem="a file appeared on the root"; return 1; }
    mounts=$(awk '$5 == "/" || $5 == "/tmp" { print $5, $6, $(NF - 2), $NF }' "/proc/$pid/mountinfo")
    filesystem_problem="mounts: $mounts"
    grep -Eq '^/ ro[, ]' <<<"$mounts" || return 1
    grep -Eq "^/tmp rw[, ].* tmpfs .*$size" <<<"$mounts" || return 1
    # Writable besides /tmp: only the runtime's own /proc, /dev and /sys mounts, as under Docker.
    writable=$(awk '$6 ~ /^rw/ && $5 != "/tmp" && $5 !~ /^\/(proc|dev|sys)(\/|$)/ { print $5 }' "/proc/$pid/mountinfo")
    filesystem_problem="writable mounts besides /tmp: $writable"
    [ -z "$writable" ] || return 1
    tmp_listing=$(find "$root/tmp" -mindepth 1 -printf '%P (%U) ' | sed 's/ $//')
    filesystem_problem="the relay wrote nothing to /tmp"
    [ -n "$tmp_listing" ]
}

# stopped_cleanly CONTAINER — exited 0, not restarted, after the drain's log lines and no error.
stopped_cleanly() {
    local state logs
    state=$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$1")
    logs=$(pm logs "$1" 2>&1)
    stop_problem="state $state after podman stop, expected exited 0 0"
    [ "$state" = "exited 0 0" ] || return 1
    for line in '"msg":"Shutdown requested"' '"msg":"Relay stopping"' '"msg":"Relay stopped"'; do
        stop_problem="no $line in the logs"
        grep -q "$line" <<<"$logs" || return 1
    done
    stop_problem="the relay logged errors: $(grep '"level":"error"' <<<"$logs" | head -n 3)"
    ! grep -q '"level":"error"' <<<"$logs"
}
