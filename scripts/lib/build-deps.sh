# Shared by the project's scripts: what building the relay needs beyond Rust. The SQL policy uses
# PostgreSQL's own parser (libpg_query, through the pg_query crate), whose build needs libclang.

ensure_build_deps() {
    if ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
        return 0
    fi
    echo "libclang not found: installing Debian's libclang-dev and clang" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev clang >/dev/null
}
