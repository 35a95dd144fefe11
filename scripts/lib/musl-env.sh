# Shared by the Containerfile and scripts/check-static.sh: the one place that says how the relay is
# built as a static x86_64 musl binary (`relay` links libpg_query's C code through the pg_query crate,
# whose bindings come from bindgen, and ring's C and assembly). Source it, then run
#   cargo build --release --locked --target "$RELAY_MUSL_TARGET" --bin relay
# Needs Debian's musl-tools (musl-gcc and the musl headers) and libclang (bindgen); see
# ensure_musl_build_deps below, or the Containerfile's build stage.
# POSIX sh: the Containerfile sources it with /bin/sh (dash).
# shellcheck shell=sh

RELAY_MUSL_TARGET=x86_64-unknown-linux-musl
export RELAY_MUSL_TARGET

# C code of the musl target (libpg_query, ring) is compiled by musl-gcc, Debian's gcc wrapper that
# uses musl's headers and libc instead of glibc's; cc-rs does not find it by itself.
export CC_x86_64_unknown_linux_musl=musl-gcc
export AR_x86_64_unknown_linux_musl=ar
# bindgen runs libclang with --target=x86_64-unknown-linux-musl, which would otherwise read glibc's
# headers from /usr/include: generate the pg_query bindings from the musl headers that are linked.
export BINDGEN_EXTRA_CLANG_ARGS_x86_64_unknown_linux_musl="-isystem /usr/include/x86_64-linux-musl"
# Rust links the musl target statically with its self-contained CRT and libc (the default for this
# target); say so explicitly so a changed default cannot produce a dynamic binary unnoticed.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"

# Installs what the musl build needs on a Debian machine (root, as the other scripts/lib helpers):
# musl-tools, libclang for bindgen, and the Rust target. Does nothing when all are present.
ensure_musl_build_deps() {
    if ! command -v musl-gcc >/dev/null 2>&1 || [ ! -f /usr/include/x86_64-linux-musl/stdint.h ]; then
        echo "musl-gcc not found: installing Debian's musl-tools" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null || return 1
    fi
    if ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
        echo "libclang not found: installing Debian's libclang-dev and clang" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev clang >/dev/null || return 1
    fi
    if ! rustup target list --installed 2>/dev/null | grep -qx "$RELAY_MUSL_TARGET"; then
        echo "Rust target $RELAY_MUSL_TARGET not installed: adding it" >&2
        rustup target add "$RELAY_MUSL_TARGET" || return 1
    fi
}
