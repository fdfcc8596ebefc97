#!/usr/bin/env bash
# Starts a local AWS API server for tests and local runs: moto's server (PyPI `moto[server]`,
# pinned below), which serves DynamoDB, Secrets Manager and Step Functions on one loopback port.
#
#   eval "$(scripts/local-aws.sh)"        # install if needed, start if not running, export env
#   scripts/local-aws.sh stop             # stop the server this script started
#
# Idempotent: a second run finds the server answering and only prints the environment again.
# The server runs in the background; its pid and log live in .local/moto/server-<port>.{pid,log}.
# Environment: SFN_AGENT_LOCAL_AWS_PORT (default 45660) picks the port.
# stdout carries only `export` lines; progress goes to stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.local/moto"
port="${SFN_AGENT_LOCAL_AWS_PORT:-45660}"
endpoint="http://127.0.0.1:$port"
pidfile="$venv/server-$port.pid"
logfile="$venv/server-$port.log"
moto_version="5.2.5"

answers() {
  # moto's own API answers on every port it serves; any HTTP reply means it is up.
  python3 - "$endpoint" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=1).read()
PY
}

if [ "${1:-}" = "stop" ]; then
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; echo "stopped moto server (pid $pid)" >&2; fi
    rm -f "$pidfile"
  else
    echo "no moto server started by this script" >&2
  fi
  exit 0
fi

if ! answers; then
  if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
    echo "installing moto[server]==$moto_version into $venv ..." >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" >&2
  fi
  echo "starting moto server on $endpoint (log: $logfile) ..." >&2
  # setsid: the server outlives this shell and the terminal that started it.
  setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 < /dev/null &
  echo $! >"$pidfile"
  started=1
  for _ in $(seq 1 100); do
    if answers; then break; fi
    sleep 0.2
  done
  if ! answers; then
    echo "moto server did not answer on $endpoint; see $logfile" >&2
    exit 1
  fi
fi
echo "moto server ready on $endpoint" >&2

cat <<ENV
export AWS_ENDPOINT_URL=$endpoint
export SFN_AGENT_TEST_AWS_ENDPOINT=$endpoint
export AWS_REGION=\${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-testing}
export AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-testing}
export SFN_AGENT_LOCAL_AWS_STARTED=${started:-0}
ENV
