#!/usr/bin/env bash
# Installs formance-grpc-gateway as a systemd service (run as root):
#
#   deploy/systemd/install.sh [--root DIR] [--build-dir DIR]     binaries, unit, user, config
#   deploy/systemd/install.sh [--root DIR] --set-secret < FILE   writes (or rotates) the secret
#
# Install: the daemon and the CLI into /usr/local/bin, the unit into /etc/systemd/system, the
# service user into /usr/lib/sysusers.d (created with systemd-sysusers), and
# /etc/formance-grpc-gateway/gateway.yaml from deploy/systemd/gateway.yaml unless one exists
# (an edited config is never overwritten). Then: edit gateway.yaml, --set-secret, and
# `systemctl enable --now formance-grpc-gateway`.
#
# --set-secret reads the client secret from standard input (never from an argument: the
# process list is public) and replaces /etc/formance-grpc-gateway/secret/client_secret
# atomically (same directory, rename), root-owned, mode 0640, group formance-grpc-gateway.
# The running gateway sees the new file within seconds and uses it for its next token: this is
# the rotation, no restart.
#
# --root DIR installs under DIR instead of / (a package build or the tests; systemctl is not
# called). Exit status: 0 done, 1 failed, 2 usage.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_SRC=$(cd "$HERE/../.." && pwd)
DEST=""
BUILD_DIR="$ROOT_SRC/build"
MODE=install
while (($#)); do
  case "$1" in
    --root) DEST="${2:?--root needs a directory}"; shift 2 ;;
    --build-dir) BUILD_DIR="${2:?--build-dir needs a directory}"; shift 2 ;;
    --set-secret) MODE=secret; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
DEST="${DEST%/}"
NAME=formance-grpc-gateway
ETC="$DEST/etc/$NAME"

service_gid() {
  local gid
  gid=$(awk -F: -v n="$NAME" '$1 == n {print $3}' "$DEST/etc/group" 2>/dev/null || true)
  [[ -n "$gid" ]] || { echo "install.sh: group $NAME missing in $DEST/etc/group (install first)" >&2; exit 1; }
  echo "$gid"
}

if [[ "$MODE" == secret ]]; then
  gid=$(service_gid)
  install -d -o 0 -g "$gid" -m 0750 "$ETC/secret"
  tmp=$(mktemp "$ETC/secret/.client_secret.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  cat >"$tmp"
  [[ -s "$tmp" ]] || { echo "install.sh: empty secret on standard input" >&2; exit 1; }
  chown 0:"$gid" "$tmp"
  chmod 0640 "$tmp"
  mv -f "$tmp" "$ETC/secret/client_secret"
  trap - EXIT
  echo "install.sh: secret written to $ETC/secret/client_secret"
  exit 0
fi

for bin in server/$NAME client/formance-grpc-cli; do
  [[ -x "$BUILD_DIR/$bin" ]] || { echo "install.sh: $BUILD_DIR/$bin not built (deploy/build.sh)" >&2; exit 1; }
done
install -d -m 0755 "$DEST/usr/local/bin" "$DEST/etc/systemd/system" "$DEST/usr/lib/sysusers.d"
install -m 0755 "$BUILD_DIR/server/$NAME" "$BUILD_DIR/client/formance-grpc-cli" "$DEST/usr/local/bin/"
install -m 0644 "$HERE/$NAME.service" "$DEST/etc/systemd/system/$NAME.service"
install -m 0644 "$HERE/$NAME.sysusers" "$DEST/usr/lib/sysusers.d/$NAME.conf"
if [[ -n "$DEST" ]]; then
  install -d -m 0755 "$DEST/etc"
  systemd-sysusers --root="$DEST" "$DEST/usr/lib/sysusers.d/$NAME.conf"
else
  systemd-sysusers "/usr/lib/sysusers.d/$NAME.conf"
fi
gid=$(service_gid)
install -d -o 0 -g "$gid" -m 0750 "$ETC" "$ETC/secret"
if [[ -e "$ETC/gateway.yaml" ]]; then
  echo "install.sh: keeping the existing $ETC/gateway.yaml"
else
  install -o 0 -g "$gid" -m 0640 "$HERE/gateway.yaml" "$ETC/gateway.yaml"
fi
[[ -z "$DEST" ]] && systemctl daemon-reload 2>/dev/null || true
echo "install.sh: installed under ${DEST:-/}; next: edit $ETC/gateway.yaml, then"
echo "  $0 --set-secret < client_secret_file && systemctl enable --now $NAME"
