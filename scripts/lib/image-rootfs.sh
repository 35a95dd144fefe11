# Lays out everything the image's final (`scratch`) stage copies, so the Containerfile's build stage
# and scripts/check-image.sh (which builds the final stage from a binary built on the host) ship the
# same files:
#   OUT/rootfs/usr/local/bin/relay                  root, 0555  the static binary
#   OUT/rootfs/etc/ssl/certs/ca-certificates.crt    root, 0444  the CA bundle
#   OUT/rootfs/etc/passwd, OUT/rootfs/etc/group     root, 0444  the relay user and group, 10001
#   OUT/rootfs/app                                  root, 0755  where the configuration is mounted
#   OUT/rootfs-tmp/tmp                                    1777  copied owned by 10001 (COPY --chown)
# Usage: image-rootfs.sh RELAY_BINARY OUT [CA_BUNDLE]  (CA_BUNDLE: Debian's bundle by default).
# POSIX sh: the Containerfile runs it with /bin/sh (dash). Runs the copied binary once (`relay version`).
# shellcheck shell=sh
set -eu

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
    echo "usage: $0 RELAY_BINARY OUT [CA_BUNDLE]" >&2
    exit 64
fi
relay_binary=$1
out=$2
ca_bundle=${3:-/etc/ssl/certs/ca-certificates.crt}

install -D -m 0555 "$relay_binary" "$out/rootfs/usr/local/bin/relay"
install -D -m 0444 "$ca_bundle" "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'relay:x:10001:10001:relay:/nonexistent:/sbin/nologin\n' >"$out/rootfs/etc/passwd"
printf 'relay:x:10001:\n' >"$out/rootfs/etc/group"
chmod 0444 "$out/rootfs/etc/passwd" "$out/rootfs/etc/group"
install -d -m 0755 "$out/rootfs/app"
# An empty world-writable sticky /tmp for when no tmpfs is mounted.
install -d -m 1777 "$out/rootfs-tmp/tmp"
"$out/rootfs/usr/local/bin/relay" version
