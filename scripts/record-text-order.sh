#!/usr/bin/env bash
# Records which of the relay's functions run from start-up to idle, under callgrind, and rewrites
# link/idle-text.ld, the linker script that puts them first in `.text` (see build.rs). Run it after a
# change that moves what runs at start-up: a stale list costs resident memory, never correctness.
#
#   scripts/record-text-order.sh [RELAY...]
#
# Records the benchmark build's relay, and each RELAY given besides (an unstripped static musl
# build, say: CARGO_PROFILE_RELEASE_STRIP=none), and writes the functions that ran in any of them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/build-deps.sh
source scripts/lib/postgres.sh
ensure_build_deps
ensure_postgres
if ! command -v callgrind_control >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
target="$(realpath "${CARGO_TARGET_DIR:-target}")"
# Symbols stay in, so that callgrind names the functions.
export CARGO_PROFILE_BENCH_STRIP=none
suite="$(cargo bench --bench suite --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)"
[ -x "$suite" ] || { echo "the benchmark suite did not build" >&2; exit 1; }
dumps="$(mktemp -d /tmp/relay-text-order.XXXXXX)"
trap 'rm -rf "$dumps"' EXIT

# Runs the suite's footprint section with the relay $2 under callgrind; its dump goes to $1.
record() {
    local out="$1" relay="$2" suite_pid dump relay_pid
    cat >"$dumps/relay" <<WRAPPER
#!/bin/sh
exec valgrind --tool=callgrind --demangle=no --callgrind-out-file=$out.%p $relay "\$@"
WRAPPER
    chmod +x "$dumps/relay"
    RELAY_BENCH_RELAY="$dumps/relay" "$suite" footprint --bench >"${out}_suite.log" 2>&1 &
    suite_pid=$!
    for _ in $(seq 120); do
        compgen -G "$out.*" >/dev/null && break
        sleep 0.5
    done
    dump="$(compgen -G "$out.*" | head -1)" || { echo "$relay did not start" >&2; return 1; }
    relay_pid="${dump##*.}"
    # The footprint section idles for 30 s once the relay is ready, then kills it: dump well
    # before, and wait for the dump's last line, since a relay killed mid-dump leaves half a file.
    sleep 24
    callgrind_control --dump "$relay_pid" >/dev/null
    for _ in $(seq 40); do
        grep -qs '^totals:' "$dump.1" && break
        sleep 0.25
    done
    wait "$suite_pid" || true
    grep -qs '^totals:' "$dump.1" || { echo "callgrind's dump of $relay is incomplete" >&2; return 1; }
}

relays=("$target/release/relay" "$@")
for index in "${!relays[@]}"; do
    record "$dumps/run$index" "$(realpath "${relays[$index]}")"
done
python3 scripts/lib/text-order.py "$target/release/deps" "$dumps"/run*.*.1 >link/idle-text.ld
echo "link/idle-text.ld: $(grep -c '^    \*' link/idle-text.ld) patterns" >&2
