# lib.sh — helpers for Tests/EndToEnd/run.sh (sourced, not run).
#
# Conventions
#   * Everything lives under $WORK (a mktemp dir made by run.sh); every process this suite starts
#     leaves a pid file there and is stopped by that pid only (see stop_pidfile).
#   * Results are appended to $WORK/results ("PASS name" / "FAIL name"), so checks may run in
#     subshells; run.sh counts them at the end.
#   * Every external command is bounded: curl --max-time, `timeout` around clients, loops with a
#     fixed number of iterations.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
HARNESS="${TOLLGATE_HARNESS:-$(cd "$REPO_ROOT/.." && pwd)/shared/harness}"
TOLLGATE_BIN="${TOLLGATE_BIN:-$REPO_ROOT/.build/debug/tollgate}"
case "$TOLLGATE_BIN" in /*) ;; *) TOLLGATE_BIN="$PWD/$TOLLGATE_BIN" ;; esac

# Manifest media types, sent as separate Accept lines like containers/image does.
ACCEPT_ALL=(
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
  -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json'
  -H 'Accept: application/vnd.oci.image.manifest.v1+json'
  -H 'Accept: application/vnd.oci.image.index.v1+json'
)
V2S2=application/vnd.docker.distribution.manifest.v2+json

# ---------------------------------------------------------------------------------------------
# output and results

info() { printf '  · %s\n' "$*"; }

# pass NAME
pass() {
  printf 'PASS %s\n' "$1" >>"$WORK/results"
  printf '  ok   %s\n' "$1"
}

# fail NAME DETAIL-LINE... — details should say request, expected, got.
fail() {
  local name="$1" line; shift
  printf 'FAIL %s\n' "$name" >>"$WORK/results"
  printf '  FAIL %s\n' "$name"
  { printf 'FAIL %s\n' "$name"; for line in "$@"; do printf '       %s\n' "$line"; done; } >>"$WORK/failures"
  for line in "$@"; do printf '       %s\n' "$line"; done
}

# verdict NAME RC [DETAIL...] — pass if RC is 0 (the exit status of a test command), else fail.
verdict() {
  local name="$1" rc="$2"
  shift 2
  if [ "$rc" = 0 ]; then pass "$name"; else fail "$name" "$@"; fi
}

# expect NAME EXPECTED GOT [DETAIL...] — string equality.
expect() {
  local name="$1" want="$2" got="$3"; shift 3
  if [ "$want" = "$got" ]; then pass "$name"; else fail "$name" "$@" "expected: $want" "got:      $got"; fi
}

# expect_match NAME REGEX GOT [DETAIL...] — extended regex match.
expect_match() {
  local name="$1" re="$2" got="$3"; shift 3
  if [[ "$got" =~ $re ]]; then pass "$name"; else fail "$name" "$@" "expected: ~ /$re/" "got:      $got"; fi
}

# ---------------------------------------------------------------------------------------------
# HTTP

# req [curl args...] URL — one bounded request. Sets RS (status, 000 if none), RC (curl exit),
# REQ (description for failure messages); body in $RB, headers in $RH.
RB= RH=
req() {
  RB="$WORK/req.body" RH="$WORK/req.hdr"
  : >"$RB"; : >"$RH"
  RS=$(curl -sS --path-as-is --max-time "${REQ_TIMEOUT:-30}" -o "$RB" -D "$RH" -w '%{http_code}' "$@" \
    2>"$WORK/req.err")
  RC=$?
  [ -n "$RS" ] || RS=000
  REQ="curl $(printf '%q ' "$@")"
}

# hdr NAME — value of the last NAME header of the last response (CR stripped, '' if none).
hdr() {
  tr -d '\r' <"$RH" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
    { i = index($0, ":"); if (i == 0) next; k = tolower(substr($0, 1, i - 1)) }
    k == n { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v) }
    END { print v }'
}

# errcode — errors[0].code of the last body, or "<not JSON: ...>".
errcode() {
  local c
  if c=$(jq -er '.errors[0].code' "$RB" 2>/dev/null); then printf '%s' "$c"
  else printf '<no JSON errors[0].code; body: %s>' "$(head -c 200 "$RB" | tr -d '\0' | tr '\n' ' ')"; fi
}

body_sha() { printf 'sha256:%s' "$(sha256sum <"$RB" | cut -d' ' -f1)"; }
body_len() { stat -c %s "$RB"; }
body_snip() { head -c "${1:-300}" "$RB" | tr -d '\0' | tr '\n' ' '; }

# got — one-line summary of the last response for failure messages.
got() {
  local b; b=$(body_snip 200)
  [[ "$b" == HTTP/* ]] && b="<none (HEAD)>"
  printf 'status=%s curl_rc=%s content-type=%s body=%s' "$RS" "$RC" "$(hdr content-type)" "$b"
}

# ---------------------------------------------------------------------------------------------
# processes

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# pid_matches PIDFILE PATTERN — the pid runs and its command line contains PATTERN.
pid_matches() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pidfile PIDFILE PATTERN — TERM, wait up to 5 s, KILL; only that pid, only if it still matches.
stop_pidfile() {
  local pid i
  if pid_matches "$1" "$2"; then
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null
    for i in $(seq 50); do pid_matches "$1" "$2" || break; sleep 0.1; done
    pid_matches "$1" "$2" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$1"
}

# wait_http URL SECONDS — until URL gives any HTTP answer.
wait_http() {
  local i code
  for i in $(seq $(($2 * 10))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# /etc/hosts (the suite runs as root): a line added by a check, removed again byte for byte, in
# place (the file may be a bind mount) and never left empty.

# hosts_add LINE — append LINE to /etc/hosts; the line is recorded in $WORK/etc-hosts.added so that
# run.sh's cleanup removes it even if the check is cut short.
hosts_add() {
  printf '%s\n' "$1" >>"$WORK/etc-hosts.added"
  python3 - "$1" <<'PY'
import sys
line = sys.argv[1].encode() + b"\n"
with open("/etc/hosts", "r+b") as f:
    data = f.read()
    f.write((b"" if data.endswith(b"\n") or not data else b"\n") + line)
PY
}

# hosts_remove LINE — remove every line equal to LINE from /etc/hosts (truncate when it is the tail).
hosts_remove() {
  python3 - "$1" <<'PY'
import sys
line = sys.argv[1].encode()
with open("/etc/hosts", "r+b") as f:
    data = f.read()
    lines = data.split(b"\n")
    kept = [l for l in lines if l != line]
    if len(kept) == len(lines):
        sys.exit(0)
    new = b"\n".join(kept)
    if data.startswith(new):
        f.truncate(len(new))
    else:
        f.seek(0); f.write(new); f.truncate()
PY
}

# ---------------------------------------------------------------------------------------------
# Tollgate instances: $WORK/tg/NAME/{config.yaml,data/,tollgate.log,pid,port}

# tg_config NAME [HUB_TTL] [EXTRA_UPSTREAM_YAML] [AUTH_YAML] [PLANS_YAML] — write the config
# (standard upstreams). AUTH_YAML is the whole top-level `auth:` block; the default lets anonymous
# clients pull without the token dance (`anonymous_without_token`: the proxy-core checks use curl). PLANS_YAML is top-level YAML
# about plans (`plans:`, `default_plan:`); the default makes the built-in plans unlimited so
# that the other suites are not rate limited.
tg_config() {
  local name="$1" ttl="${2:-}" extra="${3:-}" auth="${4:-}" plans="${5:-}" d="$WORK/tg/$1" port
  mkdir -p "$d"
  port=$(cat "$d/port" 2>/dev/null || free_port)
  echo "$port" >"$d/port"
  {
    echo "listen: \"127.0.0.1:$port\""
    echo "public_url: \"http://127.0.0.1:$port\""
    echo "storage: {path: \"$d/data\"}"
    echo "upstreams:"
    echo "  docker.io: {url: \"$HUB_URL\"${ttl:+, manifest_ttl: $ttl}}"
    echo "  ghcr.io: {url: \"$GHCR_URL\", aliases: [\"ghcr.mirror.test\"]}"
    echo "  quay.io: {url: \"$QUAY_URL\", username: quay-user, password_file: \"$WORK/quay.password\"}"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    echo "default_upstream: docker.io"
    if [ -n "$auth" ]; then printf '%s\n' "$auth"
    else printf "auth:\n  anonymous: true\n  anonymous_without_token: true\n  htpasswd: \"%s/htpasswd\"\n  token: {key_dir: \"%s/tokens\"}\n" "$d" "$d"; fi
    if [ -n "$plans" ]; then printf '%s\n' "$plans"
    else echo "plans: {default: {}, anonymous: {}}"; fi
  } >"$d/config.yaml"
}

# tg_start NAME — start `tollgate serve` for an already written config; wait for /v2/.
tg_start() {
  local d="$WORK/tg/$1"
  "$TOLLGATE_BIN" serve --config "$d/config.yaml" >>"$d/tollgate.log" 2>&1 &
  echo $! >"$d/pid"
  if ! wait_http "http://127.0.0.1:$(cat "$d/port")/v2/" 30; then
    echo "tollgate $1 did not answer /v2/ within 30 s; log tail:" >&2
    tail -20 "$d/tollgate.log" >&2
    return 1
  fi
}

# tg_start_checked NAME LABEL — tg_start; if it fails, one FAIL "LABEL" with the command and the
# start error ($WORK/tg/NAME/start.err), and return 1.
tg_start_checked() {
  local d="$WORK/tg/$1"
  tg_start "$1" 2>"$d/start.err" && return 0
  fail "$2" "command: $TOLLGATE_BIN serve --config $d/config.yaml" "got: $(tail -c 600 "$d/start.err" | tr '\n' ' ')"
  return 1
}

tg_stop() { stop_pidfile "$WORK/tg/$1/pid" "$WORK/tg/$1/config.yaml"; }
tg_url() { echo "http://127.0.0.1:$(cat "$WORK/tg/$1/port")"; }
tg_host() { echo "127.0.0.1:$(cat "$WORK/tg/$1/port")"; }
tg_alive() { pid_matches "$WORK/tg/$1/pid" "$WORK/tg/$1/config.yaml"; }

# Log marks: M=$(tg_mark NAME); ...; tg_since NAME $M  → the log lines written since.
tg_mark() { wc -l <"$WORK/tg/$1/tollgate.log"; }
tg_since() { tail -n +$(($2 + 1)) "$WORK/tg/$1/tollgate.log"; }

# access lines since a mark, filtered: al NAME MARK [KEY VALUE-REGEX]...
# Matches logfmt (key=value, key="value") and JSON-ish ("key":"value") fields.
al() {
  local name="$1" mark="$2" out; shift 2
  out=$(tg_since "$name" "$mark" | grep -E '(^|[^a-z_])access([^a-z_]|$)' | grep -E 'method')
  while [ $# -ge 2 ]; do
    out=$(printf '%s\n' "$out" | grep -E "(^|[ ,{\"])$1\"?[=:] ?\"?$2(\"|[ ,}?]|$)")
    shift 2
  done
  [ -n "$out" ] && printf '%s\n' "$out"
}

# alc NAME MARK [KEY VALUE]... — count of such access lines.
alc() { al "$@" | grep -c . ; }

# ---------------------------------------------------------------------------------------------
# upstream registry logs ($HARNESS_DIR/NAME/registry.log, Apache-style access lines)

# up_count NAME METHOD PATH-REGEX [STATUS-REGEX] — access lines so far.
up_count() {
  grep -cE "\"$2 $3 HTTP/[0-9.]+\" ${4:-[0-9]+} " "$HARNESS_DIR/$1/registry.log" 2>/dev/null
}
up_lines() { wc -l <"$HARNESS_DIR/$1/registry.log"; }

re_escape() { printf '%s' "$1" | sed 's/[.[\*^$()+?{}|/]/\\&/g'; }
