#!/usr/bin/env bash
# run.sh — Tollgate end-to-end tests: real upstream registries (../shared/harness), the built
# binary, real clients (skopeo, podman, containerd/ctr, dockerd, curl).
#
# Usage:
#   Tests/EndToEnd/run.sh [CHECK...]      run all checks, or only the named ones (in suite order);
#                                         the name `security` stands for every security-* check,
#                                         `cluster` for every cluster-* check
#   Tests/EndToEnd/run.sh --list          print the check names
#
# Env:
#   TOLLGATE_BIN      binary under test (default <repo>/.build/debug/tollgate)
#   TOLLGATE_HARNESS  harness folder (default <repo>/../shared/harness)
#   E2E_ARTIFACTS=DIR copy logs and configs there before the temp dir is removed
#   E2E_KEEP=1        keep the temp dir (its path is printed); processes are stopped anyway
#
# The last line of output is exactly "N passed, M failed"; exit status is 0 only if M is 0.
# Needs root for dockerd/containerd/podman; everything listens on 127.0.0.1 only.
set -uo pipefail

ALL_CHECKS=(config head accept notfound range routing badinput tags containerd docker podman skopeo restart burst singleflight mismatch stale
  auth-config auth-anon auth-basic auth-token auth-skopeo auth-podman auth-docker auth-containerd auth-refresh auth-userdel
  auth-pat auth-lockout auth-htpasswd auth-distribution auth-restart auth-cli auth-import
  limits-config limits-headers limits-pulls limits-rpm limits-parallel limits-bytes limits-concurrent limits-usage
  limits-isolation limits-anon limits-set limits-metrics limits-restart limits-off
  tenants-config tenants-cli tenants-shared tenants-policy tenants-own tenants-wrong tenants-redirect tenants-secrets
  crash tls tls-reload tls-clients evict cache-cli cache-rm crash-marker shutdown health lock
  security-pull-paths security-slow-clients security-log-injection security-content-type security-unauthenticated-paths
  security-redirect-credentials security-proof-of-access
  security-fill-bounds security-range-unverified security-quota-unknown-length
  security-lockout-burst security-pat-refresh security-user-recreate security-token-endpoint security-user-timing
  security-token-form security-forwarded-for
  realm-host first-contact referrers-api referrers-cosign upgrade-storage
  console-browser console-ctr
  cluster-users cluster-clients cluster-singlefetch cluster-limits cluster-isolation cluster-usage cluster-kill cluster-db-outage
  cluster-console cluster-evict)

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_DIR/checks.sh"
source "$E2E_DIR/checks_auth.sh"
source "$E2E_DIR/checks_limits.sh"
source "$E2E_DIR/checks_tenants.sh"
source "$E2E_DIR/checks_ops.sh"
source "$E2E_DIR/checks_security_server.sh"
source "$E2E_DIR/checks_security_upstream.sh"
source "$E2E_DIR/checks_security_bounds.sh"
source "$E2E_DIR/checks_security_accounts.sh"
source "$E2E_DIR/checks_security_fuzz.sh"
source "$E2E_DIR/checks_first_contact.sh"
source "$E2E_DIR/checks_referrers.sh"
source "$E2E_DIR/checks_upgrade.sh"
source "$E2E_DIR/checks_user_import.sh"
source "$E2E_DIR/checks_console.sh"
source "$E2E_DIR/checks_cluster.sh"

usage() { awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; }

SELECTED=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    --list) printf '%s\n' "${ALL_CHECKS[@]}"; exit 0 ;;
    security) for c in "${ALL_CHECKS[@]}"; do [[ "$c" == security-* ]] && SELECTED+=("$c"); done ;;
    cluster) for c in "${ALL_CHECKS[@]}"; do [[ "$c" == cluster-* ]] && SELECTED+=("$c"); done ;;
    *) [[ " ${ALL_CHECKS[*]} " == *" $a "* ]] || { echo "unknown check '$a' (see --list)" >&2; exit 2; }
       SELECTED+=("$a") ;;
  esac
done
RUN=()
for c in "${ALL_CHECKS[@]}"; do
  if [ ${#SELECTED[@]} -eq 0 ] || [[ " ${SELECTED[*]} " == *" $c "* ]]; then RUN+=("$c"); fi
done

WORK=$(mktemp -d /tmp/tollgate-e2e.XXXXXX)
export WORK
: >"$WORK/results"; : >"$WORK/failures"; : >"$WORK/daemons"
export HARNESS_DIR="$WORK/harness"
mkdir -p "$HARNESS_DIR" "$WORK/tg"

CLEANED=0
cleanup() {
  [ $CLEANED = 1 ] && return
  CLEANED=1
  local f kind dir
  cluster_nginx_down
  for f in "$WORK"/tg/*/pid; do [ -f "$f" ] && tg_stop "$(basename "$(dirname "$f")")"; done
  cluster_pg_down
  for f in "$WORK"/fake*/pid; do [ -f "$f" ] && stop_pidfile "$f" fake_upstream.py; done
  while read -r kind dir; do
    [ -d "$dir" ] || continue
    case "$kind" in
      docker) timeout 60 "$HARNESS/clients/docker.sh" stop "$dir" >/dev/null 2>&1 ;;
      containerd) timeout 30 "$HARNESS/clients/containerd.sh" stop "$dir" >/dev/null 2>&1 ;;
      podman) "$HARNESS/clients/podman.sh" rm "$dir" >/dev/null 2>&1 ;;
    esac
  done <"$WORK/daemons"
  if [ -f "$WORK/etc-hosts.added" ]; then
    while read -r f; do hosts_remove "$f"; done <"$WORK/etc-hosts.added"
  fi
  timeout 60 "$HARNESS/seed.sh" stop >/dev/null 2>&1
  if [ -n "${E2E_ARTIFACTS:-}" ]; then
    mkdir -p "$E2E_ARTIFACTS"
    (cd "$WORK" && find . \( -name '*.log' -o -name '*.yaml' -o -name results -o -name failures -o -name env \) \
      -not -path './harness/*/data/*' -print0 | xargs -0 -r cp --parents -t "$E2E_ARTIFACTS") 2>/dev/null
  fi
  if [ "${E2E_KEEP:-}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
CHECK_PID=
trap cleanup EXIT
# Checks run as background jobs so that INT/TERM interrupt `wait` at once; stop the running check,
# then the EXIT trap stops everything else.
on_signal() {
  [ -n "$CHECK_PID" ] && kill "$CHECK_PID" 2>/dev/null
  fail "run interrupted by a signal" "the remaining checks did not run"
  summary
  exit 130
}
trap on_signal INT TERM

summary() {
  local p f
  p=$(grep -c '^PASS' "$WORK/results") f=$(grep -c '^FAIL' "$WORK/results")
  if [ "$f" -gt 0 ]; then
    echo
    echo "Failures:"
    cat "$WORK/failures"
  fi
  cleanup
  echo "$p passed, $f failed"
  [ "$f" = 0 ]
}

T0=$(date +%s)
echo "tollgate e2e: binary $TOLLGATE_BIN; harness $HARNESS; work $WORK"
echo "checks: ${RUN[*]}"

# --- setup ------------------------------------------------------------------------------------
if [ ! -x "$TOLLGATE_BIN" ]; then
  fail "setup: binary exists" "expected: executable $TOLLGATE_BIN (build it, or set TOLLGATE_BIN)" "got: missing"
  summary; exit
fi
if ! timeout 240 "$HARNESS/seed.sh" >"$WORK/seed.log" 2>&1; then
  fail "setup: seed.sh starts the upstreams" "log tail: $(tail -c 600 "$WORK/seed.log")"
  summary; exit
fi
source "$HARNESS_DIR/env"
echo quay-secret >"$WORK/quay.password"

# reference values straight from hub
BUSYBOX_RAW=$(timeout 30 skopeo inspect --raw --tls-verify=false --creds "$HUB_ADMIN" "docker://$HUB_HOST/library/busybox:latest")
BUSYBOX_MANIFEST_SIZE=$(printf '%s' "$BUSYBOX_RAW" | wc -c)
BUSYBOX_LAYER=$(jq -r '.layers[0].digest' <<<"$BUSYBOX_RAW")
BUSYBOX_LAYER_SIZE=$(jq -r '.layers[0].size' <<<"$BUSYBOX_RAW")
BIG_BLOB_SIZE=$(timeout 30 skopeo inspect --raw --tls-verify=false --creds "$HUB_ADMIN" "docker://$HUB_HOST/bigdata/blob:64m" |
  jq -r '.layers[0].size')

tg_config main
if ! tg_start main 2>"$WORK/main.start.err"; then
  fail "setup: tollgate serve answers /v2/" "command: $TOLLGATE_BIN serve --config $WORK/tg/main/config.yaml" \
    "$(tail -c 800 "$WORK/main.start.err")"
  summary; exit
fi
echo "setup done in $(($(date +%s) - T0)) s: mirror $(tg_url main), hub $HUB_URL, ghcr $GHCR_URL, quay $QUAY_URL"

# --- checks -----------------------------------------------------------------------------------
for c in "${RUN[@]}"; do
  t=$(date +%s)
  echo "== $c"
  ( "check_${c//-/_}" ) &
  CHECK_PID=$!
  wait "$CHECK_PID"
  CHECK_PID=
  echo "   ($c: $(($(date +%s) - t)) s)"
  if ! tg_alive main; then
    fail "main instance still running after '$c'" "expected: tollgate serve keeps running" \
      "got: process gone; log tail: $(tail -c 800 "$WORK/tg/main/tollgate.log" | tr '\n' ' ')"
    tg_start main 2>/dev/null || { summary; exit; }
  fi
done
echo "total $(($(date +%s) - T0)) s"
summary
