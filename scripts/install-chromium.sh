#!/usr/bin/env bash
# Installs Debian's chromium (for the console's headless browser test) if it is missing, and
# prints the command's path. Needs root or password-less sudo for apt-get.
set -euo pipefail
for name in chromium chromium-browser; do
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    exit 0
  fi
done
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q >&2 || true
"${as_root[@]}" apt-get install -y -q --no-install-recommends chromium >&2
command -v chromium
