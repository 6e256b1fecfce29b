# shellcheck shell=bash
# Helpers the project's scripts share: source it (`source scripts/lib.sh`), it does nothing
# by itself. Everything binds to 127.0.0.1 on a free port, so several runs (and other
# people's servers) can share the machine.
#
#   lib_build_bins                         the workspace's debug binaries (target/debug/deployer, …)
#   lib_free_port                          prints a free TCP port on 127.0.0.1
#   lib_wait_for_http URL SECONDS [PID]    until URL answers 2xx (fails early if PID dies)
#   lib_wait_for_line FILE REGEX SECONDS [PID]
#                                          prints the first line of FILE matching REGEX
#   lib_start_moto LOG                     our local AWS (tools/moto/launcher.py) -> MOTO_URL
#   lib_start_registry DIR                 Debian's docker-registry, storage in DIR -> REGISTRY_URL
#   lib_start_localstack DIR               LocalStack (no Docker), state in DIR -> LOCALSTACK_URL
#   lib_stop PID...                        stops processes started here (TERM, KILL after 20 s)
#   lib_stop_started                       stops everything the lib_start_* functions started
#
# Each lib_start_* function starts one server in the background, waits until it answers,
# sets its URL variable (and MOTO_PID / REGISTRY_PID / LOCALSTACK_PID), and remembers the
# pid in LIB_PIDS; when the server does not come up it says why, naming its log, and
# returns 1. Callers stop what they started with `trap lib_stop_started EXIT` (or call
# lib_stop_started from their own EXIT trap, which also runs after Ctrl-C when the script
# has `trap 'exit 130' INT TERM`: background jobs of a script ignore SIGINT themselves).

LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIB_PIDS=()

# Every debug binary of the workspace, with one command for every check and make local.
# Cargo resolves features per set of packages it builds, so `-p deployer`, `-p deployer -p
# xtask` and `-p service -p deployer` each compiled the AWS SDK crates again with another
# feature set (about 7 minutes each on a clean clone, measured); one set of packages means
# the first caller compiles and the others find everything built.
lib_build_bins() {
  (cd "$LIB_ROOT" && cargo build --locked --workspace --bins)
}
# What the lib_start_* functions set, for the caller to read (so unused in this file).
# shellcheck disable=SC2034
MOTO_URL="" MOTO_PID="" REGISTRY_URL="" REGISTRY_PID="" LOCALSTACK_URL="" LOCALSTACK_PID=""

lib_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# True while PID (optional) is alive; an empty PID means "nothing to watch".
_lib_alive() { [ -z "${1:-}" ] || kill -0 "$1" 2>/dev/null; }

lib_wait_for_http() { # URL SECONDS [PID]
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! _lib_alive "$pid"; then return 1; fi
    sleep 0.1
  done
}

lib_wait_for_line() { # FILE REGEX SECONDS [PID] -> prints the first matching line
  local file=$1 pattern=$2 deadline=$((SECONDS + $3)) pid=${4:-}
  while [ $SECONDS -lt $deadline ]; do
    if grep -m1 -E "$pattern" "$file" 2>/dev/null; then return 0; fi
    _lib_alive "$pid" || break
    sleep 0.1
  done
  # One last look: the line may have been written just before the process exited.
  grep -m1 -E "$pattern" "$file" 2>/dev/null
}

lib_stop() { # PID... : SIGTERM, up to 20 s to exit, then SIGKILL; forgets the pids
  local pid waited=0 alive
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null || true
  while :; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    if [ $alive -eq 0 ] || [ $waited -ge 200 ]; then break; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  [ $alive -eq 0 ] || kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
  local keep=() p
  for p in "${LIB_PIDS[@]}"; do
    for pid in "$@"; do [ "$p" = "$pid" ] && continue 2; done
    keep+=("$p")
  done
  LIB_PIDS=("${keep[@]}")
}

lib_stop_started() {
  [ ${#LIB_PIDS[@]} -eq 0 ] || lib_stop "${LIB_PIDS[@]}"
}

lib_start_moto() { # LOG -> MOTO_URL, MOTO_PID
  local log=$1 line
  if [ ! -x "$LIB_ROOT/.venv/bin/python" ]; then
    echo "error: $LIB_ROOT/.venv is missing: run scripts/deps.sh" >&2
    return 1
  fi
  "$LIB_ROOT/.venv/bin/python" "$LIB_ROOT/tools/moto/launcher.py" --port 0 > "$log" 2>&1 &
  MOTO_PID=$!
  LIB_PIDS+=("$MOTO_PID")
  # The launcher prints `READY http://127.0.0.1:PORT` once it accepts connections.
  if ! line=$(lib_wait_for_line "$log" '^READY ' 30 "$MOTO_PID"); then
    echo "error: moto (tools/moto/launcher.py) did not start within 30 s (see $log)" >&2
    return 1
  fi
  # shellcheck disable=SC2034 # read by the caller
  MOTO_URL=${line#READY }
}

lib_start_registry() { # DIR -> REGISTRY_URL, REGISTRY_PID; config, log and storage in DIR
  local dir=$1 port
  if [ ! -x /usr/bin/docker-registry ]; then
    echo "error: /usr/bin/docker-registry is missing: run scripts/deps.sh" >&2
    return 1
  fi
  port=$(lib_free_port)
  mkdir -p "$dir"
  # No access log: one line per request is noise in the push benchmark and in logs.
  cat > "$dir/registry.yml" <<YAML
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $dir/registry-data }
  delete: { enabled: true }
http: { addr: 127.0.0.1:$port }
YAML
  /usr/bin/docker-registry serve "$dir/registry.yml" > "$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  LIB_PIDS+=("$REGISTRY_PID")
  REGISTRY_URL="http://127.0.0.1:$port"
  if ! lib_wait_for_http "$REGISTRY_URL/v2/" 30 "$REGISTRY_PID"; then
    echo "error: docker-registry did not start within 30 s (see $dir/registry.log)" >&2
    return 1
  fi
}

# LocalStack's core runtime, started without Docker and kept offline:
#   SERVICES       only what the LocalStack suite's fixtures use (lazy-loaded on first call);
#                  Lambda is not among them: on Python 3.11 its provider fails to import
#                  (localstack.packages.api evaluates `threading.Lock | None`, which needs a Python
#                  where threading.Lock is a class).
#   OVERRIDE_IN_DOCKER=0, FILESYSTEM_ROOT, CONFIG_DIR, XDG_CACHE_HOME
#                  host mode (in a container like this machine's it assumes it is in its
#                  own image and writes to /var/lib/localstack); every file it writes,
#                  plugin caches included, goes under DIR.
#   DNS_ADDRESS=0  no DNS server on port 53.
#   DISABLE_EVENTS=1, API_ENDPOINT, ANALYTICS_API, SKIP_SSL_CERT_DOWNLOAD=1
#                  no telemetry and no calls home: both APIs point at port 1 on loopback,
#                  where nothing listens (":0" would mean port 80), so each attempt fails
#                  at once instead of waiting for a network timeout.
#   CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0
#                  a resource type it cannot provision fails the change set instead of being
#                  faked. Its support check needs a resource catalog it downloads; offline it
#                  would call every type unsupported, so DIR gets an empty catalog for this
#                  version (types it provisions count as supported, nothing else does).
#   CFN_NO_WAIT_ITERATIONS=0
#                  a resource whose handler reports "in progress" (IAM users, nested stacks)
#                  takes a real second per poll, as asynchronous operations do on AWS.
LIB_LOCALSTACK_VERSION=4.13.1
LIB_LOCALSTACK_SERVICES=cloudformation,iam,s3,sns,sqs,ssm,sts

lib_start_localstack() { # DIR -> LOCALSTACK_URL, LOCALSTACK_PID; log in DIR/localstack.log
  local dir=$1 port python=$LIB_ROOT/.venv-localstack/bin/python
  if [ ! -x "$python" ]; then
    echo "error: $LIB_ROOT/.venv-localstack is missing: run scripts/deps.sh" >&2
    return 1
  fi
  port=$(lib_free_port)
  mkdir -p "$dir/fs/var/lib/localstack/cache" "$dir/config" "$dir/cache"
  printf '{"schema_version": "v1", "localstack": {"version": "%s"}, "services": {}, "cloudformation_resources": {"community": {}}}\n' \
    "$LIB_LOCALSTACK_VERSION" > "$dir/fs/var/lib/localstack/cache/aws_catalog.json"
  env GATEWAY_LISTEN="127.0.0.1:$port" SERVICES="$LIB_LOCALSTACK_SERVICES" \
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$dir/fs" CONFIG_DIR="$dir/config" XDG_CACHE_HOME="$dir/cache" \
    DNS_ADDRESS=0 DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
    API_ENDPOINT=http://127.0.0.1:1 ANALYTICS_API=http://127.0.0.1:1 \
    CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0 CFN_NO_WAIT_ITERATIONS=0 \
    "$python" -m localstack.runtime.main > "$dir/localstack.log" 2>&1 &
  LOCALSTACK_PID=$!
  LIB_PIDS+=("$LOCALSTACK_PID")
  LOCALSTACK_URL="http://127.0.0.1:$port"
  # The health endpoint answers once the gateway is up; the READY stage of its
  # init endpoint is complete once start-up (and any init hook) is done.
  local deadline=$((SECONDS + 60))
  until lib_wait_for_http "$LOCALSTACK_URL/_localstack/health" 1 "$LOCALSTACK_PID" \
    && curl -fsS "$LOCALSTACK_URL/_localstack/init/READY" 2>/dev/null | grep -q '"completed": *true'; do
    if [ $SECONDS -ge $deadline ] || ! _lib_alive "$LOCALSTACK_PID"; then
      echo "error: LocalStack did not become ready within 60 s (see $dir/localstack.log)" >&2
      return 1
    fi
    sleep 0.2
  done
}
