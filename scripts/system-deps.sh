#!/usr/bin/env bash
# Installs the Debian packages a command needs, once, when they are missing (silent unless apt fails).
#   scripts/system-deps.sh test    chromium (the browser tests of the HTML report and the playground)
#                                   and redis-server (the queue test starts one on loopback)
#   scripts/system-deps.sh bench   spin and gcc (the side by side with Spin in `npm run bench`)
# Used by `npm test`, `npm run bench` and CI, so a fresh machine needs nothing installed by hand.
set -euo pipefail
pkgs=""
case "${1:-}" in
  test)
    [ -x /usr/bin/chromium ] || pkgs="$pkgs chromium"
    command -v redis-server >/dev/null 2>&1 || pkgs="$pkgs redis-server"
    ;;
  bench)
    command -v spin >/dev/null 2>&1 || pkgs="$pkgs spin"
    command -v gcc >/dev/null 2>&1 || pkgs="$pkgs gcc"
    ;;
  *)
    echo "usage: scripts/system-deps.sh test|bench" >&2
    exit 2
    ;;
esac
[ -n "$pkgs" ] || exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "vdm: $1 needs the Debian packages$pkgs; install them as root (apt-get install -y$pkgs)" >&2
    exit 1
  fi
  sudo="sudo"
fi
log="$(mktemp)"
if ! { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "vdm: could not install$pkgs (above: apt's output)" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
