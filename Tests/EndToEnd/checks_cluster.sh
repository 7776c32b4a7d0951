# checks_cluster.sh — cluster mode (cluster-*): three nodes sharing one PostgreSQL, behind nginx;
# sourced by run.sh after the other check files (it uses tgc, cli_got, until_status, run_fails,
# sk_digest from checks_auth.sh, resp_is, run_cmd, ctr_digest from checks.sh, cr, detail, refused
# from checks_limits.sh, refused_is, hub_stat from checks_tenants.sh, crash_push_blob from
# checks_ops.sh). One function check_cluster_NAME per check `cluster-NAME`.
#
# The cluster (made on first use by cluster_up, shared by the checks, stopped by run.sh's cleanup):
#   PostgreSQL 15   a private server (initdb into a postgres-owned `mktemp -d /tmp/tg-e2e-pg.XXXXXX`,
#                   trust auth, user tollgate, 127.0.0.1 only), database `tollgate`. Its dir is in
#                   $WORK/cluster/pgdir, its port in $WORK/cluster/pg.port.
#   n1, n2, n3      `tollgate serve` instances $WORK/tg/nN (so tg_url/tg_mark/al work), each with its own
#                   port and storage, the same `database:` and the same cluster secret file
#                   ($WORK/cluster/secret), `cluster: {node: nN, advertise_url: <own URL>}`,
#                   `trusted_proxies: ["127.0.0.1"]`, `public_url` = the balancer, auth on (anonymous
#                   off, users in the database), no shared hub credentials.
#   nginx           round-robin balancer over the three ($WORK/cluster/nginx, one worker, pid file
#                   nginx.pid; access log lb.log with the node that answered: `upstream=127.0.0.1:P`).
#   The nodes and the CLI run a private copy of $TOLLGATE_BIN ($WORK/cluster/tollgate, made once per
#   run), so a rebuild during the run can't mix versions.
# Users are made with `tollgate user add --cost 4` against the database (password NAME-pw, see cr).
# Every check uses its own users, so the checks can run alone; suite order matters only in that
# cluster-singlefetch wants $BIG_BLOB cold (if a node already has it, a fresh blob is pushed).

CL_NODES=(n1 n2 n3)
PG_BIN=/usr/lib/postgresql/15/bin
CL_PLANS_YAML=$(cat <<'EOF'
plans: {default: {}, anonymous: {}}
limits: {enabled: true}
EOF
)

# ---------------------------------------------------------------------------------------------
# setup and teardown

cl_auth_yaml() {
  printf 'auth:\n  anonymous: false\n'
  printf '  token: {issuer: %s, service: %s, ttl: 5m, algorithm: ES256}\n' "$AUTH_ISSUER" "$AUTH_SERVICE"
  printf '  lockout: {failures: 100000, window: 1m}\n'
  [ -n "${1:-}" ] && printf '  %s\n' "$1"
  return 0
}

# cl_node_config NAME [AUTH-EXTRA-LINE] — write node NAME's config (a tg instance).
cl_node_config() {
  local n="$1" d="$WORK/tg/$1"
  tg_config "$n" "" "" "$(cl_auth_yaml "${2:-}")" "$CL_PLANS_YAML
trusted_proxies: [\"127.0.0.1\"]
database: {url: \"postgres://tollgate@127.0.0.1:$(cat "$CL/pg.port")/tollgate\"}
cluster: {node: $n, advertise_url: \"http://127.0.0.1:$(cat "$d/port")\", secret_file: \"$CL/secret\"}"
  sed -i "s|^public_url: .*|public_url: \"$(cl_lb_url)\"|" "$d/config.yaml"
}

cl_lb_url() { echo "http://127.0.0.1:$(cat "$CL/lb.port")"; }
cl_lb_host() { echo "127.0.0.1:$(cat "$CL/lb.port")"; }

# psql_q SQL — one query on the cluster database, unaligned tuples only ('' + status 2 when down).
psql_q() { timeout 10 psql -X -qAt -h 127.0.0.1 -p "$(cat "$CL/pg.port")" -U tollgate -d tollgate -c "$1" 2>&1; }

pg_start() {
  local D; D=$(cat "$CL/pgdir")
  timeout 60 runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$D/data" -l "$D/log" -w \
    -o "-p $(cat "$CL/pg.port") -k $D -c listen_addresses=127.0.0.1" start >>"$CL/pg_ctl.out" 2>&1
}
pg_stop() {
  local D; D=$(cat "$CL/pgdir" 2>/dev/null) || return 0
  [ -f "$D/data/postmaster.pid" ] || return 0
  timeout 60 runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$D/data" -m fast -w stop >>"$CL/pg_ctl.out" 2>&1
}

# cluster_down — from run.sh's cleanup: nginx, then (after the tg loop stopped the nodes) PostgreSQL.
cluster_nginx_down() { CL="$WORK/cluster"; [ -f "$CL/nginx/nginx.pid" ] && stop_pidfile "$CL/nginx/nginx.pid" "$CL/nginx/nginx.conf"; return 0; }
cluster_pg_down() {
  local D
  CL="$WORK/cluster"
  [ -f "$CL/pgdir" ] || return 0
  D=$(cat "$CL/pgdir")
  pg_stop
  case "$D" in /tmp/tg-e2e-pg.*) rm -rf "$D" ;; esac
  rm -f "$CL/pgdir"
}

cl_nginx_conf() {
  local n
  mkdir -p "$CL/nginx/logs"
  {
    echo "daemon off;"
    echo "user root;"
    echo "worker_processes 1;"
    echo "pid $CL/nginx/nginx.pid.nginx;"
    echo "error_log $CL/nginx/logs/error.log warn;"
    echo "events { worker_connections 1024; }"
    echo "http {"
    echo "  log_format lb '\$remote_addr \"\$request\" \$status upstream=\$upstream_addr ustatus=\$upstream_status bytes=\$body_bytes_sent';"
    echo "  access_log $CL/nginx/logs/lb.log lb;"
    echo "  client_body_temp_path $CL/nginx/tmp-body; proxy_temp_path $CL/nginx/tmp-proxy;"
    echo "  fastcgi_temp_path $CL/nginx/tmp-fcgi; uwsgi_temp_path $CL/nginx/tmp-uwsgi; scgi_temp_path $CL/nginx/tmp-scgi;"
    echo "  upstream tollgate {"
    for n in "${CL_NODES[@]}"; do echo "    server 127.0.0.1:$(cat "$WORK/tg/$n/port") max_fails=0;"; done
    echo "    keepalive 16;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$(cat "$CL/lb.port");"
    echo "    client_max_body_size 0;"
    echo "    location / {"
    echo "      proxy_pass http://tollgate;"
    echo "      proxy_http_version 1.1;"
    echo "      proxy_set_header Connection \"\";"
    echo "      proxy_set_header Host \$http_host;"
    echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "      proxy_set_header X-Forwarded-Proto \$scheme;"
    echo "      proxy_buffering off;"
    echo "      proxy_request_buffering off;"
    echo "      proxy_connect_timeout 1s;"
    echo "      proxy_read_timeout 120s;"
    echo "      proxy_next_upstream error timeout http_502 http_503;"
    echo "      proxy_next_upstream_tries 3;"
    echo "    }"
    echo "  }"
    echo "}"
  } >"$CL/nginx/nginx.conf"
}

# cluster_up CHECK — make the cluster unless it runs (PostgreSQL, migrate, 3 nodes, nginx). A failed
# step is one FAIL "CHECK: (setup) …" and returns 1.
cluster_up() {
  local check="$1" D n rc out i before
  CL="$WORK/cluster"
  mkdir -p "$CL"
  # a private copy of the binary (once per run, retried while it is being rebuilt): nodes restarted
  # later in the run must be the same version as the others
  if [ ! -x "$CL/tollgate" ]; then
    for i in 1 2 3 4 5 6 7 8 9 10; do
      before=$(stat -c '%s %Y' "$TOLLGATE_BIN" 2>/dev/null)
      if cp "$TOLLGATE_BIN" "$CL/tollgate.$$" 2>/dev/null && [ -n "$before" ] &&
         [ "$(stat -c '%s %Y' "$TOLLGATE_BIN" 2>/dev/null)" = "$before" ]; then
        mv "$CL/tollgate.$$" "$CL/tollgate"
        break
      fi
      rm -f "$CL/tollgate.$$"
      sleep 3
    done
  fi
  [ -x "$CL/tollgate" ] && TOLLGATE_BIN="$CL/tollgate"   # checks run in subshells: only this one's
  if [ -f "$CL/up.done" ]; then
    for n in "${CL_NODES[@]}"; do tg_alive "$n" || { cl_node_start "$n" "$check" || return 1; }; done
    pid_matches "$CL/nginx/nginx.pid" "$CL/nginx/nginx.conf" || { cl_nginx_start "$check" || return 1; }
    return 0
  fi
  if [ ! -x "$PG_BIN/initdb" ] || ! command -v nginx >/dev/null; then
    fail "$check: (setup) PostgreSQL 15 and nginx are installed" "expected: $PG_BIN/initdb and nginx (scripts/test installs postgresql, nginx)"
    return 1
  fi
  if [ ! -f "$CL/pgdir" ]; then
    D=$(mktemp -d /tmp/tg-e2e-pg.XXXXXX); chown postgres "$D"; echo "$D" >"$CL/pgdir"
    free_port >"$CL/pg.port"
    if ! out=$(timeout 60 runuser -u postgres -- "$PG_BIN/initdb" -D "$D/data" -A trust -U tollgate -E UTF8 --locale=C 2>&1); then
      fail "$check: (setup) initdb" "got: $(tail -c 400 <<<"$out")"; return 1
    fi
    if ! pg_start; then fail "$check: (setup) PostgreSQL starts" "got: $(tail -c 400 "$D/log")"; return 1; fi
    if ! out=$(timeout 20 psql -X -q -h 127.0.0.1 -p "$(cat "$CL/pg.port")" -U tollgate -d postgres -c 'create database tollgate' 2>&1); then
      fail "$check: (setup) create database tollgate" "got: $out"; return 1
    fi
  fi
  head -c 32 /dev/urandom | base64 >"$CL/secret"; chmod 600 "$CL/secret"
  [ -f "$CL/lb.port" ] || free_port >"$CL/lb.port"
  for n in "${CL_NODES[@]}"; do mkdir -p "$WORK/tg/$n"; [ -f "$WORK/tg/$n/port" ] || free_port >"$WORK/tg/$n/port"; done
  for n in "${CL_NODES[@]}"; do cl_node_config "$n"; done
  tgc n1 db migrate; rc=$?
  if [ $rc != 0 ]; then fail "$check: (setup) tollgate db migrate" "command: $CLI" "got: $(cli_got $rc)"; return 1; fi
  cp "$WORK/cli.out" "$CL/migrate.out"
  tgc n1 user add warm --password-stdin --cost 4 <<<"warm-pw"; rc=$?
  if [ $rc != 0 ]; then fail "$check: (setup) user add warm (database)" "command: $CLI" "got: $(cli_got $rc)"; return 1; fi
  # the nodes start together (each migrates under the lock, then heartbeats)
  for n in "${CL_NODES[@]}"; do
    "$TOLLGATE_BIN" serve --config "$WORK/tg/$n/config.yaml" >>"$WORK/tg/$n/tollgate.log" 2>&1 &
    echo $! >"$WORK/tg/$n/pid"
  done
  for n in "${CL_NODES[@]}"; do
    if ! wait_http "$(tg_url "$n")/v2/" 30; then
      fail "$check: (setup) node $n answers /v2/" "command: $TOLLGATE_BIN serve --config $WORK/tg/$n/config.yaml" \
        "got: $(tail -c 600 "$WORK/tg/$n/tollgate.log" | tr '\n' ' ')"
      return 1
    fi
  done
  cl_nginx_start "$check" || return 1
  # every node sees the three (heartbeats every 1 s): else ownership differs between nodes meanwhile
  if ! cl_converged 10; then
    fail "$check: (setup) each node's last 'cluster nodes' log line says live=n1,n2,n3 within 10 s" \
      "got: $(for n in "${CL_NODES[@]}"; do grep 'cluster nodes' "$WORK/tg/$n/tollgate.log" | tail -1; done | tr '\n' ' ')"
    return 1
  fi
  touch "$CL/up.done"
  info "cluster: PostgreSQL 127.0.0.1:$(cat "$CL/pg.port"), nodes $(for n in "${CL_NODES[@]}"; do printf '%s=%s ' "$n" "$(tg_url "$n")"; done)balancer $(cl_lb_url)"
}

# cl_converged SECONDS [LIVE] — until every running node's last membership line is live=LIVE
# (default n1,n2,n3).
cl_converged() {
  local i n ok want="${2:-n1,n2,n3}"
  for i in $(seq $(($1 * 10))); do
    ok=1
    for n in "${CL_NODES[@]}"; do
      tg_alive "$n" || continue
      [[ "$(grep 'cluster nodes' "$WORK/tg/$n/tollgate.log" | tail -1)" == *"live=$want "* ]] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

cl_node_start() {
  local d="$WORK/tg/$1"
  "$TOLLGATE_BIN" serve --config "$d/config.yaml" >>"$d/tollgate.log" 2>&1 &
  echo $! >"$d/pid"
  wait_http "$(tg_url "$1")/v2/" 30 && return 0
  fail "$2: (setup) node $1 answers /v2/" "command: $TOLLGATE_BIN serve --config $d/config.yaml" \
    "got: $(tail -c 600 "$d/tollgate.log" | tr '\n' ' ')"
  return 1
}

cl_nginx_start() {
  cl_nginx_conf
  if ! out=$(timeout 10 nginx -t -c "$CL/nginx/nginx.conf" -p "$CL/nginx" 2>&1); then
    fail "$1: (setup) nginx -t accepts the balancer config" "got: $out"; return 1
  fi
  nginx -c "$CL/nginx/nginx.conf" -p "$CL/nginx" >>"$CL/nginx/logs/stdout.log" 2>&1 &
  echo $! >"$CL/nginx/nginx.pid"
  wait_http "$(cl_lb_url)/v2/" 10 && return 0
  fail "$1: (setup) nginx answers on $(cl_lb_url)" "got: $(tail -c 400 "$CL/nginx/logs/error.log" 2>/dev/null)"
  return 1
}

# cl_users CHECK USER... — add the users (password USER-pw) to the database via n1's config.
cl_users() {
  local check="$1" u rc; shift
  for u in "$@"; do
    tgc n1 user add "$u" --password-stdin --cost 4 <<<"$u-pw"; rc=$?
    [ $rc = 0 ] || { fail "$check: (setup) user add $u" "command: $CLI" "got: $(cli_got $rc)"; return 1; }
  done
  cl_known "$check" "$@"
}

# cl_known CHECK USER... — wait (≤ 3 s) until every node lets the users in (GET /v2/ → 200).
cl_known() {
  local check="$1" u n i code; shift
  for u in "$@"; do
    for n in "${CL_NODES[@]}"; do
      for i in $(seq 30); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -u "$(cr "$u")" "$(tg_url "$n")/v2/")
        [ "$code" = 200 ] && break
        sleep 0.1
      done
      [ "$code" = 200 ] || { fail "$check: (setup) node $n knows the new user $u within 3 s" "got: GET /v2/ → $code"; return 1; }
    done
  done
}

# cl_set CHECK USER ARGS... — `user set` (setup step; a failure is one FAIL).
cl_set() {
  local check="$1" rc; shift
  tgc n1 user set "$@"; rc=$?
  [ $rc = 0 ] || { fail "$check: (setup) user set $*" "command: $CLI" "got: $(cli_got $rc)"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# requests over nodes

# cl_url I — base URL of node number I (0-based, modulo 3).
cl_url() { tg_url "${CL_NODES[$(($1 % 3))]}"; }

# cl_marks — current log marks of the nodes, as "n1=M n2=M n3=M" (for cl_al).
cl_marks() { local n; for n in "${CL_NODES[@]}"; do printf '%s=%s ' "$n" "$(tg_mark "$n")"; done; }
cl_mark_of() { local m; for m in $1; do [ "${m%%=*}" = "$2" ] && echo "${m#*=}"; done; }

# cl_al MARKS [KEY VALUE]... — access lines of all nodes since the marks.
cl_al() { local marks="$1" n; shift; for n in "${CL_NODES[@]}"; do al "$n" "$(cl_mark_of "$marks" "$n")" "$@"; done; }

# cl_nodes_within NAME SECONDS WANT-REGEX CURL-ARGS... PATH — poll every node (PATH appended to its URL)
# until each answered WANT (from a common start); pass if all did within SECONDS.
cl_nodes_within() {
  local name="$1" lim="$2" want="$3" n t0 ms done_n="" worst=0 last=() i; shift 3
  local args=("${@:1:$#-1}") path="${@: -1}"
  t0=$(date +%s%N)
  for i in $(seq 60); do
    for n in "${CL_NODES[@]}"; do
      [[ " $done_n " == *" $n "* ]] && continue
      req "${args[@]}" "$(tg_url "$n")$path"
      ms=$((($(date +%s%N) - t0) / 1000000))
      if [[ "$RS" =~ ^($want)$ ]]; then done_n+=" $n"; [ $ms -gt $worst ] && worst=$ms
      else last=("$n: $(got)"); fi
    done
    [ "$(wc -w <<<"$done_n")" = 3 ] && break
    [ "$ms" -ge $((lim * 1000 + 1000)) ] && break
    sleep 0.05
  done
  if [ "$(wc -w <<<"$done_n")" = 3 ] && [ "$worst" -le $((lim * 1000)) ]; then pass "$name"; info "all nodes after $worst ms"
  else fail "$name" "request: $REQ (and the same path on each node)" "expected: $want from n1, n2 and n3 within $lim s" \
    "got: in time:${done_n:- none} (last after $worst ms); ${last[*]:-all eventually, too late}"; fi
}

# cl_token NODE CREDS SCOPE — a token from NODE's /token (Basic CREDS); '' on failure.
cl_token() {
  curl -sS --max-time 30 -G -u "$2" --data-urlencode "service=$AUTH_SERVICE" --data-urlencode "scope=$3" \
    "$(tg_url "$1")/token" 2>/dev/null | jq -r '.token // empty' 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# cluster-users: users, passwords, tokens live in the database; every node sees a change within 1 s.
check_cluster_users() {
  cluster_up cluster-users || return
  local rc T pat id f="$WORK/cluster/import.htpasswd" n got_nodes
  tgc n2 db migrate; rc=$?
  expect_match "cluster-users: tollgate db migrate (again, n2's config) → 'database tollgate@127.0.0.1:PORT/tollgate: schema version N', exit 0" \
    "^0 database tollgate@127\\.0\\.0\\.1:$(cat "$CL/pg.port")/tollgate: schema version [0-9]+$" "$rc $(head -1 "$WORK/cli.out")" \
    "command: $CLI" "$(cli_got $rc)" "first run said: $(head -1 "$CL/migrate.out")"
  got_nodes=$(psql_q "select string_agg(name, ' ' order by name) from nodes where heartbeat_at > clock_timestamp() - interval '3 seconds'")
  expect "cluster-users: table nodes lists n1 n2 n3 with fresh heartbeats" "n1 n2 n3" "$got_nodes" \
    "query: select name from nodes where heartbeat_at > now() - 3 s"
  req -u warm:warm-pw "$(tg_url n1)/readyz"
  resp_is "cluster-users: GET /readyz on n1 → 200" 200
  expect_match "cluster-users: … body 'ready'" '^ready' "$(body_snip 100)" "request: $REQ"
  expect_match "cluster-users: log lines carry node=n2 (the 'tollgate serving' line)" 'node=n2' \
    "$(grep -m1 'tollgate serving' "$WORK/tg/n2/tollgate.log")" "log: $WORK/tg/n2/tollgate.log"
  expect_match "cluster-users: access log lines carry node=n2 too (which node answered)" 'node=n2' \
    "$(al n2 0 | tail -1)" "log: $WORK/tg/n2/tollgate.log"

  # a new user, added with n3's config, logs in on every node within 1 s
  tgc n3 user add cu1 --password-stdin --cost 4 <<<"cu1-pw"; rc=$?
  expect "cluster-users: user add cu1 --password-stdin (n3's config, into the database) → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: cu1 logs in on n1, n2 and n3 (GET /v2/ Basic → 200) within 1 s" 1 200 -u cu1:cu1-pw /v2/
  req -u cu1:wrong "$(tg_url n2)/v2/"
  resp_is "cluster-users: … a wrong password → 401 (n2)" 401

  # a token issued by n1 works on n2 and n3
  T=$(cl_token n1 cu1:cu1-pw repository:library/alpine:pull)
  expect_match "cluster-users: GET n1/token (Basic cu1, scope alpine pull) → a token" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$T"
  for n in n2 n3; do
    req -H "Authorization: Bearer $T" "${ACCEPT_ALL[@]}" "$(tg_url "$n")/v2/library/alpine/manifests/3.19"
    resp_is "cluster-users: n1's token accepted by $n (GET alpine:3.19 manifest → 200)" 200 digest="$ALPINE_DIGEST"
  done

  # passwd: the old password stops working everywhere, the new one works everywhere
  tgc n1 user passwd cu1 --password-stdin --cost 4 <<<"cu1-new"; rc=$?
  expect "cluster-users: user passwd cu1 → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: after passwd the old password → 401 on every node within 1 s" 1 401 -u cu1:cu1-pw /v2/
  cl_nodes_within "cluster-users: … the new one → 200 on every node" 1 200 -u cu1:cu1-new /v2/

  # disable / enable
  tgc n2 user disable cu1; rc=$?
  expect "cluster-users: user disable cu1 → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: disabled cu1 → 401 on every node within 1 s" 1 401 -u cu1:cu1-new /v2/
  T=$(cl_token n3 cu1:cu1-new repository:library/alpine:pull)
  expect "cluster-users: … and gets no token from n3" "" "$T"
  tgc n3 user enable cu1; rc=$?
  expect "cluster-users: user enable cu1 → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: enabled again → 200 on every node within 1 s" 1 200 -u cu1:cu1-new /v2/

  # personal access token: works everywhere, revoked everywhere
  tgc n1 token create cu1 --label cl; rc=$?
  pat=$(head -1 "$WORK/cli.out")
  expect "cluster-users: token create cu1 --label cl → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: the personal access token works as cu1's password on every node within 1 s" 1 200 -u "cu1:$pat" /v2/
  tgc n2 token list cu1 --json
  id=$(jq -r '[.[] | select(.label == "cl")][0].id // empty' "$WORK/cli.out" 2>/dev/null)
  tgc n3 token revoke "$id"; rc=$?
  expect "cluster-users: token revoke <id> (n3's config) → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: the revoked token → 401 on every node within 1 s" 1 401 -u "cu1:$pat" /v2/

  # user del: password and bearer token refused everywhere
  T=$(cl_token n1 cu1:cu1-new repository:library/alpine:pull)
  tgc n1 user del cu1; rc=$?
  expect "cluster-users: user del cu1 → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: deleted cu1's password → 401 on every node within 1 s" 1 401 -u cu1:cu1-new /v2/
  cl_nodes_within "cluster-users: deleted cu1's bearer token (from n1) → 401 on every node within 1 s" 1 401 \
    -H "Authorization: Bearer $T" "${ACCEPT_ALL[@]}" /v2/library/alpine/manifests/3.19

  # user import of an Apache htpasswd -B file
  rm -f "$f"
  htpasswd -c -B -C 5 -b "$f" cimp-a cimp-a-pw 2>/dev/null
  htpasswd -B -C 5 -b "$f" cimp-b cimp-b-pw 2>/dev/null
  tgc n2 user import "$f"; rc=$?
  expect_match "cluster-users: user import of an htpasswd -B file (2 users) → exit 0, 'imported 2 new user(s)'" \
    '^0 imported 2 new user\(s\)' "$rc $(head -1 "$WORK/cli.out")" "command: $CLI" "$(cli_got $rc)"
  cl_nodes_within "cluster-users: imported cimp-a logs in on every node within 1 s" 1 200 -u cimp-a:cimp-a-pw /v2/
  cl_nodes_within "cluster-users: imported cimp-b logs in on every node within 1 s" 1 200 -u cimp-b:cimp-b-pw /v2/
  tgc n3 user export; rc=$?
  expect "cluster-users: user export (n3's config) has cimp-a's hash from the file" "0 $(grep '^cimp-a:' "$f")" \
    "$rc $(grep '^cimp-a:' "$WORK/cli.out")" "command: $CLI"
}

# cl_lb_mark — lines in the balancer's access log so far; cl_lb_since MARK — the lines after it.
cl_lb_mark() { wc -l <"$WORK/cluster/nginx/logs/lb.log"; }
cl_lb_since() { tail -n +$(($1 + 1)) "$WORK/cluster/nginx/logs/lb.log"; }

# cl_served_by MARKS USER — "n1=N n2=N n3=N": access lines of USER on each node since MARKS.
cl_served_by() {
  local n
  for n in "${CL_NODES[@]}"; do printf '%s=%s ' "$n" "$(alc "$n" "$(cl_mark_of "$1" "$n")" user "$2")"; done
}

# cl_each_served NAME COUNTS — pass if every node's count in COUNTS ("n1=N …") is > 0.
cl_each_served() {
  if [[ " $2" =~ \ n1=[1-9][0-9]*\ n2=[1-9][0-9]*\ n3=[1-9][0-9]* ]]; then pass "$1"; info "$2"
  else fail "$1" "expected: each node's access log has some of these requests" "got: $2"; fi
}

# ---------------------------------------------------------------------------------------------
# cluster-clients: real clients through the balancer; the requests spread over the nodes.
check_cluster_clients() {
  cluster_up cluster-clients || return
  cl_users cluster-clients cli || return
  local LB H M lbm ups prev u alt=1 i env cfg dg S="$HARNESS/clients/docker.sh" P="$HARNESS/clients/podman.sh" \
    C="$HARNESS/clients/containerd.sh" D d="$WORK/cluster/clients" realm
  LB=$(cl_lb_url) H=$(cl_lb_host)
  rm -rf "$d"; mkdir -p "$d"

  # the token realm is the balancer's, whichever node answers
  req "$(tg_url n2)/v2/"
  realm=$(chal_param "$(chal)" realm)
  expect "cluster-clients: a node's challenge names the balancer: realm=\"$LB/token\" (public_url)" "$LB/token" "$realm" "request: $REQ" "$(got)"

  # consecutive requests land on different nodes
  M=$(cl_marks) lbm=$(cl_lb_mark)
  for i in $(seq 6); do curl -s -o /dev/null --max-time 10 -u "$(cr cli)" "$LB/v2/"; done
  ups=$(cl_lb_since "$lbm" | sed -nE 's/.*upstream=([0-9.:]+).*/\1/p')
  prev=""; for u in $ups; do [ "$u" = "$prev" ] && alt=0; prev=$u; done
  [ "$alt" = 1 ] && [ "$(sort -u <<<"$ups" | grep -c .)" = 3 ]
  verdict "cluster-clients: 6 consecutive GET /v2/ through nginx → each answered by another node than the one before, all three used" $? \
    "nginx upstreams in order: $(echo $ups)"
  cl_each_served "cluster-clients: … and each node's access log has some of them" "$(cl_served_by "$M" cli)"

  M=$(cl_marks)
  # Docker: login to the balancer, a direct pull and a registry-mirrors pull (Hub credentials)
  if env=$(DOCKERD_MIRROR="$LB" DOCKERD_INSECURE="$H" timeout 90 "$S" start 2>"$d/dockerd.err"); then
    eval "$env"
    echo "docker $DOCKERD_DIR" >>"$WORK/daemons"
    cfg="$DOCKER_CONFIG/config.json"
    if run_cmd "cluster-clients: docker login $H (the balancer) -u cli" 60 docker login "$H" -u cli -p cli-pw; then
      if run_cmd "cluster-clients: docker pull $H/library/alpine:3.19" 180 docker pull -q "$H/library/alpine:3.19"; then
        expect_match "cluster-clients: … digest = hub's" "(^| )$(re_escape "$H")/library/alpine@$ALPINE_DIGEST( |$)" \
          "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/library/alpine:3.19" 2>&1)"
      fi
      jq --arg a "$(printf 'cli:cli-pw' | base64)" '.auths["https://index.docker.io/v1/"] = {auth: $a}' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
      if run_cmd "cluster-clients: docker pull busybox:latest via registry-mirrors = the balancer" 180 docker pull -q busybox:latest; then
        expect_match "cluster-clients: … digest = hub's" "(^| )(docker.io/library/)?busybox@$BUSYBOX_DIGEST( |$)" \
          "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' busybox:latest 2>&1)"
      fi
    fi
    timeout 60 "$S" stop "$DOCKERD_DIR"
  else
    fail "cluster-clients: private dockerd starts" "$(tail -c 300 "$d/dockerd.err")"
  fi

  # podman: login to the balancer, pull via the docker.io mirror and directly
  if D=$(PODMAN_INSECURE="$H" PODMAN_MIRROR="docker.io=$H" "$P" new); then
    sed -i 's|^location = "docker.io"|location = "127.0.0.1:9"|' "$D/registries.conf"
    echo "podman $D" >>"$WORK/daemons"
    if run_cmd "cluster-clients: podman login $H -u cli" 60 "$P" do "$D" login "$H" -u cli -p cli-pw; then
      if run_cmd "cluster-clients: podman pull docker.io/library/alpine:3.19 via the mirror (the balancer)" 180 \
        "$P" do "$D" pull -q docker.io/library/alpine:3.19; then
        dg=$(timeout 30 "$P" do "$D" image inspect --format '{{.Digest}}' docker.io/library/alpine:3.19 2>&1)
        expect "cluster-clients: … digest = hub's" "$ALPINE_DIGEST" "$dg"
      fi
      if run_cmd "cluster-clients: podman pull $H/ghcr.io/org/tool:v1" 180 "$P" do "$D" pull -q "$H/ghcr.io/org/tool:v1"; then
        dg=$(timeout 30 "$P" do "$D" image inspect --format '{{.Digest}}' "$H/ghcr.io/org/tool:v1" 2>&1)
        expect "cluster-clients: … digest = ghcr's" "$TOOL_DIGEST" "$dg"
      fi
    fi
    "$P" rm "$D"
  else
    fail "cluster-clients: private podman" "podman.sh new failed"
  fi

  # containerd: hosts.toml mirror for docker.io = the balancer, with the credentials as a header
  if env=$(timeout 60 "$C" start 2>"$d/ctr.err"); then
    eval "$env"
    echo "containerd $CTR_DIR" >>"$WORK/daemons"
    "$C" mirror "$CTR_DIR" docker.io "$LB"
    sed -i 's|^server = .*|server = "http://127.0.0.1:9"|' "$CTR_DIR/certs.d/docker.io/hosts.toml"
    printf '  [host."%s".header]\n    Authorization = "Basic %s"\n' "$LB" "$(printf 'cli:cli-pw' | base64)" \
      >>"$CTR_DIR/certs.d/docker.io/hosts.toml"
    run_cmd "cluster-clients: ctr pull docker.io/library/multi:latest via hosts.toml (balancer, credentials in the file)" 180 \
      "$C" pull "$CTR_DIR" docker.io/library/multi:latest &&
      expect "cluster-clients: … digest = hub's" "$MULTI_DIGEST" "$(ctr_digest docker.io/library/multi:latest)"
    run_cmd "cluster-clients: ctr pull --plain-http --user cli:… $H/quay.io/coreos/etcd:v3" 180 \
      "$C" pull "$CTR_DIR" --plain-http --user "$(cr cli)" "$H/quay.io/coreos/etcd:v3" &&
      expect "cluster-clients: … digest = quay's" "$ETCD_DIGEST" "$(ctr_digest "$H/quay.io/coreos/etcd:v3")"
    timeout 30 "$C" stop "$CTR_DIR"
  else
    fail "cluster-clients: private containerd starts" "$(tail -c 300 "$d/ctr.err")"
  fi

  # skopeo
  if run_cmd "cluster-clients: skopeo copy --all --src-creds cli:… $H/library/multi:latest" 180 \
    skopeo copy -q --all --src-tls-verify=false --src-creds "$(cr cli)" "docker://$H/library/multi:latest" "dir:$d/multi"; then
    expect "cluster-clients: … digest = hub's" "$MULTI_DIGEST" "$(sk_digest "$d/multi")"
  fi
  if run_cmd "cluster-clients: skopeo copy $H/docker.io/library/busybox:latest" 180 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr cli)" "docker://$H/docker.io/library/busybox:latest" "dir:$d/bb"; then
    expect "cluster-clients: … digest = hub's" "$BUSYBOX_DIGEST" "$(sk_digest "$d/bb")"
  fi
  sleep 0.3
  cl_each_served "cluster-clients: the client pulls were served by every node (access lines of user cli)" "$(cl_served_by "$M" cli)"
  local bad
  bad=$(cl_al "$M" user cli | grep -E 'status=5[0-9][0-9]' | head -3)
  expect "cluster-clients: no 5xx answer to cli's requests on any node" "" "$bad"
}

# cl_on_disk DIGEST — the nodes whose storage holds the blob file ("n1 n3").
cl_on_disk() {
  local n out=""
  for n in "${CL_NODES[@]}"; do [ -e "$WORK/tg/$n/data/blobs/sha256/${1:7:2}/${1:7}" ] && out+="$n "; done
  printf '%s' "${out% }"
}

# ---------------------------------------------------------------------------------------------
# cluster-singlefetch: one upstream fetch per blob for the whole cluster (cache ownership + forwarding).
check_cluster_singlefetch() {
  cluster_up cluster-singlefetch || return
  cl_users cluster-singlefetch sf || return
  local d="$WORK/cluster/sf" blob="$BIG_BLOB" repo="$BIG_BLOB_REPO" up=hub size="$BIG_BLOB_SIZE" u0 u1 i pids=() bad="" n200=0 f held
  rm -rf "$d"; mkdir -p "$d"
  if [ -n "$(cl_on_disk "$BIG_BLOB")" ]; then
    # not cold any more (an earlier check fetched it): a fresh 64 MiB blob on ghcr instead
    head -c $((64 * 1024 * 1024)) /dev/urandom >"$d/fresh"
    if ! blob=$(crash_push_blob cluster/sf "$d/fresh" 2>"$d/push.err"); then
      fail "cluster-singlefetch: (setup) push a fresh 64 MiB blob to ghcr" "got: $(cat "$d/push.err")"; return
    fi
    repo=ghcr.io/cluster/sf up=ghcr size=$((64 * 1024 * 1024))
    info "\$BIG_BLOB is already cached on $(cl_on_disk "$BIG_BLOB"): using a fresh blob $blob in ghcr cluster/sf"
    rm -f "$d/fresh"
  fi
  local upath="/v2/${repo#ghcr.io/}/blobs/$blob"
  u0=$(up_count $up GET "$(re_escape "$upath")")
  for i in $(seq 0 15); do
    curl -s --max-time 120 -u "$(cr sf)" -o "$d/body$i" -w '%{http_code}' "$(cl_url $i)/v2/$repo/blobs/$blob" >"$d/st$i" 2>"$d/err$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for i in $(seq 0 15); do
    if [ "$(cat "$d/st$i")" = 200 ] && [ "sha256:$(sha256sum <"$d/body$i" | cut -d' ' -f1)" = "$blob" ]; then n200=$((n200 + 1))
    else bad+=" #$i($(cl_url $i)): status $(cat "$d/st$i") $(stat -c %s "$d/body$i" 2>/dev/null) B;"; fi
  done
  rm -f "$d"/body*
  expect "cluster-singlefetch: 16 concurrent cold GETs of one 64 MiB blob over n1, n2, n3 → 16 × 200 with the right bytes" 16 "$n200" \
    "request: curl -u sf:… GET <node>/v2/$repo/blobs/$blob (i-th to node i mod 3)" "wrong:$bad"
  sleep 0.3
  u1=$(up_count $up GET "$(re_escape "$upath")")
  expect "cluster-singlefetch: … exactly 1 upstream GET for the cluster (the owner fetched it; the others forwarded)" 1 "$((u1 - u0))" \
    "$HARNESS_DIR/$up/registry.log: GET $upath lines before $u0, after $u1"
  held=$(cl_on_disk "$blob")
  expect_match "cluster-singlefetch: … the blob is stored by one node (its owner), not by all three" '^n[123]$' "$held" \
    "nodes holding $blob: '${held}'"

  # a cold image through the balancer, three clients at once: each blob fetched once
  local img dg raw kid M0 c cnt skfail=0
  img=ghcr.io/cluster/app-$RANDOM
  if ! dg=$(timeout 120 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/${img#ghcr.io/}:1" --layers 3 --layer-size 400000 \
    --seed "$img" 2>"$d/mk.err"); then
    fail "cluster-singlefetch: (setup) push a fresh image to ghcr" "got: $(tail -c 300 "$d/mk.err")"; return
  fi
  raw=$(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$GHCR_HOST/${img#ghcr.io/}:1")
  pids=()
  for i in 1 2 3; do
    timeout 180 skopeo copy -q --src-tls-verify=false --src-creds "$(cr sf)" "docker://$(cl_lb_host)/$img:1" "dir:$d/img$i" \
      >"$d/sk$i.out" 2>&1 &
    pids+=($!)
  done
  for i in 1 2 3; do wait "${pids[$((i - 1))]}" || skfail=1; done
  [ $skfail = 0 ] && [ "$(sk_digest "$d/img1")" = "$dg" ] && [ "$(sk_digest "$d/img2")" = "$dg" ] && [ "$(sk_digest "$d/img3")" = "$dg" ]
  verdict "cluster-singlefetch: 3 concurrent skopeo copies of a cold image ($img:1) through the balancer → all succeed, digest $dg" $? \
    "outputs: $(cat "$d"/sk*.out | tail -c 400 | tr '\n' ' ')"
  sleep 0.3
  cnt=""
  for c in $(jq -r '.config.digest, .layers[].digest' <<<"$raw"); do
    cnt+="$(up_count ghcr GET "$(re_escape "/v2/${img#ghcr.io/}/blobs/$c")") "
  done
  expect "cluster-singlefetch: … each of its 4 blobs (config + 3 layers) fetched from ghcr exactly once" "1 1 1 1 " "$cnt" \
    "GET counts in $HARNESS_DIR/ghcr/registry.log, config then layers"
  rm -rf "$d"
}

# cl_par DIR N USER PATH [CURL-ARGS...] — N concurrent GETs of PATH as USER, the i-th to node i mod 3
# (Accept: manifest types). Per request: DIR/st$i = "status size", DIR/h$i = headers, DIR/b$i = body.
cl_par() {
  local d="$1" n="$2" u="$3" p="$4" i pids=(); shift 4
  rm -rf "$d"; mkdir -p "$d"
  for i in $(seq 0 $((n - 1))); do
    curl -s --max-time 90 -u "$(cr "$u")" "${ACCEPT_ALL[@]}" -D "$d/h$i" -o "$d/b$i" -w '%{http_code} %{size_download}\n' "$@" \
      "$(cl_url $i)$p" >"$d/st$i" 2>/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
}

# cl_par_count DIR STATUS — how many answers had STATUS; cl_par_hdr DIR I NAME — a header of answer I.
cl_par_count() { cat "$1"/st* | grep -c "^$2 "; }
cl_par_hdr() { tr -d '\r' <"$1/h$2" | awk -v n="$3" 'tolower($0) ~ "^" n ":" {sub(/^[^:]*: */, ""); v = $0} END {print v}'; }
cl_par_summary() { cat "$1"/st* | awk '{print $1}' | sort | uniq -c | tr '\n' ' ' | tr -s ' '; }

# cl_par_refusals NAME DIR DETAIL — every 429 answer in DIR is TOOMANYREQUESTS with errors[0].detail
# DETAIL and a Retry-After of whole seconds.
cl_par_refusals() {
  local name="$1" d="$2" want="$3" i st bad="" n=0
  for i in $(seq 0 200); do
    [ -f "$d/st$i" ] || break
    st=$(cut -d' ' -f1 "$d/st$i")
    [ "$st" = 429 ] || continue
    n=$((n + 1))
    [ "$(jq -r '.errors[0].code + " " + .errors[0].detail' "$d/b$i" 2>/dev/null)" = "TOOMANYREQUESTS $want" ] &&
      [[ "$(cl_par_hdr "$d" $i retry-after)" =~ ^[0-9]+$ ]] ||
      bad+=" #$i: body $(head -c 160 "$d/b$i" | tr '\n' ' ') Retry-After '$(cl_par_hdr "$d" $i retry-after)';"
  done
  if [ $n -gt 0 ] && [ -z "$bad" ]; then pass "$name"; else fail "$name" "expected: each 429 with code TOOMANYREQUESTS, detail $want, Retry-After N" "got: $n refusals;$bad"; fi
}

# ---------------------------------------------------------------------------------------------
# cluster-limits: limits hold for the cluster as a whole, whatever node the requests reach.
check_cluster_limits() {
  cluster_up cluster-limits || return
  cl_users cluster-limits lp lb lc lr lr2 || return
  lim_alpine_blobs
  cl_set cluster-limits lp --pulls-per-6h 30 || return
  local lim=$((3 * BUSYBOX_LAYER_SIZE + BUSYBOX_LAYER_SIZE / 2))
  cl_set cluster-limits lb --bytes-per-day "$lim" || return
  cl_set cluster-limits lc --concurrent-transfers 2 || return
  cl_set cluster-limits lr --requests-per-minute 60 || return
  cl_set cluster-limits lr2 --requests-per-minute 60 || return
  local d="$WORK/cluster/lim" i n200 n429 sent rl bad t0 ms sts n
  # warm the content on its owners (as warm, unlimited)
  for i in 0 1 2; do
    curl -s -o /dev/null --max-time 120 -u warm:warm-pw "${ACCEPT_ALL[@]}" "$(cl_url $i)/v2/library/alpine/manifests/$ALPINE_DIGEST"
    curl -s -o /dev/null --max-time 120 -u warm:warm-pw "$(cl_url $i)/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  done
  curl -s -o /dev/null --max-time 120 -u warm:warm-pw "$(cl_url 0)/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  sleep 0.6  # the overrides reach every node within 250 ms

  # pulls_per_6h: 30, 64 parallel manifest GETs over the three nodes
  cl_par "$d" 64 lp "/v2/library/alpine/manifests/$ALPINE_DIGEST"
  n200=$(cl_par_count "$d" 200) n429=$(cl_par_count "$d" 429)
  expect "cluster-limits: lp (pulls_per_6h: 30) 64 parallel manifest GETs over n1, n2, n3 → exactly 30 × 200 and 34 × 429" \
    "30 34" "$n200 $n429" "request: 64 × curl -u lp:… GET <node i mod 3>/v2/library/alpine/manifests/$ALPINE_DIGEST" \
    "statuses: $(cl_par_summary "$d")"
  bad=""
  for i in $(seq 0 63); do
    [ "$(cut -d' ' -f1 "$d/st$i")" = 429 ] || continue
    rl=$(cl_par_hdr "$d" $i ratelimit-limit)
    [ "$rl" = "30;w=21600" ] && [[ "$(cl_par_hdr "$d" $i retry-after)" =~ ^[0-9]+$ ]] ||
      bad+=" #$i: RateLimit-Limit '$rl' Retry-After '$(cl_par_hdr "$d" $i retry-after)';"
  done
  expect "cluster-limits: … every 429 has RateLimit-Limit: 30;w=21600 and Retry-After" "" "$bad"
  cl_par_refusals "cluster-limits: … every 429 says TOOMANYREQUESTS, detail pulls_per_6h" "$d" pulls_per_6h
  req -u "$(cr lp)" "${ACCEPT_ALL[@]}" "$(tg_url n3)/v2/library/alpine/manifests/$ALPINE_DIGEST"
  resp_is "cluster-limits: … one more on n3 → 429" 429

  # bytes_per_day: 3.5 busybox layers' worth; 9 parallel GETs of the layer
  cl_par "$d" 9 lb "/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  n200=0 sent=0 bad=""
  for i in $(seq 0 8); do
    read -r st sz <"$d/st$i"
    sent=$((sent + sz))
    if [ "$st" = 200 ]; then
      n200=$((n200 + 1))
      [ "sha256:$(sha256sum <"$d/b$i" | cut -d' ' -f1)" = "$BUSYBOX_LAYER" ] || bad+=" #$i: 200 with wrong bytes ($sz B);"
    fi
  done
  expect "cluster-limits: lb (bytes_per_day: $lim = 3.5 × the $BUSYBOX_LAYER_SIZE B busybox layer) 9 parallel GETs of it over the nodes → 3 × 200 (whole, right digest), 6 × 429" \
    "3 6 " "$n200 $(cl_par_count "$d" 429) $bad" "statuses: $(cl_par_summary "$d")"
  [ "$(cat "$d"/st* | awk '$1 == 200 {s += $2} END {print s + 0}')" -le "$lim" ]
  verdict "cluster-limits: … the blob bytes delivered ($(cat "$d"/st* | awk '$1 == 200 {s += $2} END {print s + 0}') B) ≤ the limit ($lim B)" $? \
    "answers: $(cat "$d"/st* | tr '\n' ',')"
  cl_par_refusals "cluster-limits: … every 429 says TOOMANYREQUESTS, detail bytes_per_day" "$d" bytes_per_day

  # concurrent_transfers: 2; 6 parallel 64 MiB GETs (at 24 MB/s each, so that they overlap)
  cl_par "$d" 6 lc "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" --limit-rate 24M
  n200=0 bad=""
  for i in $(seq 0 5); do
    read -r st sz <"$d/st$i"
    if [ "$st" = 200 ]; then
      n200=$((n200 + 1))
      [ "$sz" = "$BIG_BLOB_SIZE" ] && [ "sha256:$(sha256sum <"$d/b$i" | cut -d' ' -f1)" = "$BIG_BLOB" ] || bad+=" #$i: 200 but $sz B / wrong digest;"
    fi
  done
  expect "cluster-limits: lc (concurrent_transfers: 2) 6 parallel 64 MiB GETs over the nodes → 2 × 200 (whole, right digest), 4 × 429" \
    "2 4 " "$n200 $(cl_par_count "$d" 429) $bad" "statuses: $(cl_par_summary "$d")"
  cl_par_refusals "cluster-limits: … every 429 says TOOMANYREQUESTS, detail concurrent_transfers" "$d" concurrent_transfers
  rm -f "$d"/b*
  n=$(psql_q "select count(*) from transfer_reservations where subject like '%lc%'")
  expect "cluster-limits: … afterwards no transfer reservation of lc is left (transfer_reservations)" 0 "$n"
  req -u "$(cr lc)" "$(tg_url n2)/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  resp_is "cluster-limits: … and lc's next blob GET → 200" 200 sha="$BUSYBOX_LAYER"

  # requests_per_minute: 60; 3 × 40 requests at once, one keep-alive curl per node
  t0=$(date +%s%N)
  local pids=()
  for i in 0 1 2; do
    ( a=(); for n in $(seq 40); do a+=(-o /dev/null "$(cl_url $i)/v2/"); done
      curl -s --max-time 60 -u "$(cr lr)" -w '%{http_code}\n' "${a[@]}" >"$d/rpm$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"  # (never a bare wait: the nodes may be this shell's children)
  ms=$((($(date +%s%N) - t0) / 1000000))
  n200=$(cat "$d"/rpm* | grep -c '^200$')
  [ "$n200" -le $((60 + ms / 1000 + 1)) ]
  verdict "cluster-limits: lr (requests_per_minute: 60) 3 × 40 requests at once, one curl per node → at most 60 (+1 a second of refill) × 200 cluster-wide" $? \
    "got: $n200 × 200 in $ms ms; per node: $(for i in 0 1 2; do printf '%s ' "$(grep -c '^200$' "$d/rpm$i")"; done)" \
    "statuses: $(cat "$d"/rpm* | sort | uniq -c | tr '\n' ' ' | tr -s ' ')"
  info "lr: $n200 × 200 of 120 in $ms ms (per node: $(for i in 0 1 2; do printf '%s ' "$(grep -c '^200$' "$d/rpm$i")"; done))"
  req -u "$(cr lr)" "$(tg_url n1)/v2/"
  refused "cluster-limits: … the next request → 429, detail requests_per_minute" requests_per_minute 1 60

  # … and a user whose traffic all goes to one node gets (nearly) all of it
  t0=$(date +%s%N)
  curl -s -o /dev/null --max-time 10 -u "$(cr lr2)" "$(tg_url n2)/v2/"
  curl -s -o /dev/null --max-time 10 -u "$(cr lr2)" "$(tg_url n3)/v2/"
  sleep 1.5
  a=(); for n in $(seq 70); do a+=(-o /dev/null "$(tg_url n1)/v2/"); done
  sts=$(curl -s --max-time 60 -u "$(cr lr2)" -w '%{http_code}\n' "${a[@]}")
  ms=$((($(date +%s%N) - t0) / 1000000))
  n200=$(grep -c '^200$' <<<"$sts")
  [ "$n200" -ge 54 ] && [ "$n200" -le $((58 + ms / 1000 + 1)) ]
  verdict "cluster-limits: lr2 (60/min; one request on n2 and n3 1.5 s before) 70 requests at once on n1 → ≥ 54 (90 %) and ≤ 58 (+ 1 a second of refill) × 200" $? \
    "got: $n200 × 200, $ms ms after lr2's first request; statuses: $(sort <<<"$sts" | uniq -c | tr '\n' ' ' | tr -s ' ')"
  rm -rf "$d"
}

# cl_get NODE USER PATH [CURL-ARGS...] — `req` GET (manifest Accept) of PATH on NODE as USER.
cl_get() { local n="$1" u="$2" p="$3"; shift 3; req -u "$(cr "$u")" "${ACCEPT_ALL[@]}" "$@" "$(tg_url "$n")$p"; }

# ---------------------------------------------------------------------------------------------
# cluster-isolation: the tenant rules hold when the entitled and the refused request for the same
# private content land on different nodes (no shared hub credentials on the cluster).
check_cluster_isolation() {
  cluster_up cluster-isolation || return
  cl_users cluster-isolation carol dave erin xavier den || return
  local rc raw cfg l1 l2 who n p refs=() ref
  tgc n1 upstream login carol docker.io --username alice --password-stdin <<<alice-secret; rc=$?
  expect "cluster-isolation: upstream login carol docker.io --username alice (n1's config) → exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  tgc n2 upstream login erin docker.io --username bob --password-stdin <<<bob-secret || fail "cluster-isolation: (setup) upstream login erin" "$(cli_got $?)"
  tgc n3 upstream login xavier docker.io --username alice --password-stdin <<<"$TEN_WRONG_PW" || fail "cluster-isolation: (setup) upstream login xavier" "$(cli_got $?)"
  tgc n1 upstream login den docker.io --username alice --password-stdin <<<alice-secret || fail "cluster-isolation: (setup) upstream login den" "$(cli_got $?)"
  cl_set cluster-isolation den --deny 'docker.io/private/**' || return

  # carol, entitled, on n1: the tag, then its config and layers
  if until_status 2 200 -u "$(cr carol)" "${ACCEPT_ALL[@]}" "$(tg_url n1)/v2/private/app/manifests/1.0"; then
    resp_is "cluster-isolation: carol (own hub credentials alice) GET private/app:1.0 on n1 → 200 within 2 s of the login" 200 sha="$PRIVATE_DIGEST"
  else
    resp_is "cluster-isolation: carol (own hub credentials alice) GET private/app:1.0 on n1 → 200 within 2 s of the login" 200; return
  fi
  raw=$(cat "$RB")
  cfg=$(jq -r '.config.digest' <<<"$raw") l1=$(jq -r '.layers[0].digest' <<<"$raw") l2=$(jq -r '.layers[1].digest // .layers[0].digest' <<<"$raw")
  for p in "$cfg" "$l1" "$l2"; do
    cl_get n1 carol "/v2/private/app/blobs/$p"
    resp_is "cluster-isolation: carol GET private/app blob ${p:0:19}… on n1 → 200, right bytes" 200 sha="$p"
  done
  refs=("manifests/1.0" "manifests/$PRIVATE_DIGEST" "blobs/$cfg" "blobs/$l1")

  # the others, on the other nodes: never the content
  for who in dave erin; do
    for n in n2 n3; do
      for ref in "${refs[@]}"; do
        cl_get $n $who "/v2/private/app/$ref"
        p=${ref#*/}
        refused_is "cluster-isolation: $who ($([ $who = dave ] && echo 'no credentials' || echo 'own: bob, denied by hub')) GET private/app/${ref:0:22}… on $n → 403 DENIED, not the content" \
          403 DENIED 'upstream docker\.io denied access' "$([[ $p == sha256:* ]] && echo "$p")"
      done
    done
  done
  cl_get n2 xavier /v2/private/app/manifests/1.0
  refused_is "cluster-isolation: xavier (own credentials, wrong password) GET private/app:1.0 on n2 → 403 'upstream docker.io refused the credentials'" \
    403 DENIED '^upstream docker\.io refused the credentials' "$PRIVATE_DIGEST"
  cl_get n3 xavier "/v2/private/app/blobs/$l1"
  refused_is "cluster-isolation: xavier GET a private/app layer on n3 → 403, not the bytes" 403 DENIED 'refused the credentials' "$l1"
  for n in n2 n3; do
    for ref in "manifests/1.0" "manifests/$PRIVATE_DIGEST" "blobs/$l1"; do
      cl_get $n den "/v2/private/app/$ref"
      p=${ref#*/}
      refused_is "cluster-isolation: den (own credentials alice, --deny docker.io/private/**) GET private/app/${ref:0:22}… on $n → 403 'requested access to the resource is denied'" \
        403 DENIED '^requested access to the resource is denied$' "$([[ $p == sha256:* ]] && echo "$p")"
    done
  done
  cl_get n3 den /v2/library/alpine/manifests/3.19
  resp_is "cluster-isolation: (control) den GET library/alpine:3.19 on n3 → 200" 200 digest="$ALPINE_DIGEST"
  for n in n2 n3; do
    cl_get $n carol "/v2/private/app/blobs/$l1"
    resp_is "cluster-isolation: (control) carol GET the same layer on $n → 200, right bytes" 200 sha="$l1"
  done
  cl_get n3 carol "/v2/private/app/manifests/$PRIVATE_DIGEST"
  resp_is "cluster-isolation: (control) carol GET private/app by digest on n3 → 200" 200 sha="$PRIVATE_DIGEST"

  # hide_denied: a fourth node n4 with auth.hide_denied: true joins for a moment
  mkdir -p "$WORK/tg/n4"; [ -f "$WORK/tg/n4/port" ] || free_port >"$WORK/tg/n4/port"
  cl_node_config n4 "hide_denied: true"
  if cl_node_start n4 cluster-isolation; then
    cl_get n4 den /v2/private/app/manifests/1.0
    refused_is "cluster-isolation: (n4, hide_denied: true) den GET private/app:1.0 → 404 NAME_UNKNOWN" 404 NAME_UNKNOWN . "$PRIVATE_DIGEST"
    cl_get n4 den "/v2/private/app/blobs/$l1"
    refused_is "cluster-isolation: (n4, hide_denied) den GET a private/app layer → 404 NAME_UNKNOWN, not the bytes" 404 NAME_UNKNOWN . "$l1"
    cl_get n4 carol "/v2/private/app/blobs/$l1"
    resp_is "cluster-isolation: (n4, hide_denied) carol GET the layer → 200" 200 sha="$l1"
    tg_stop n4
  fi
  cl_converged 10 || info "membership did not settle back to n1,n2,n3 within 10 s after n4 stopped"
}

# ---------------------------------------------------------------------------------------------
# cluster-usage: `tollgate usage` (the database) = what the three nodes' access logs show.
check_cluster_usage() {
  cluster_up cluster-usage || return
  local M d="$WORK/cluster/usage" i lines pulls bytes nreq rc LBH n0
  # acct0: requests on every node right after `user add` (before the nodes have seen the add's
  # "former user of this name" erasure) are counted like any other
  tgc n1 user add acct --password-stdin --cost 4 <<<"acct-pw" || { fail "cluster-usage: (setup) user add acct" "$(cli_got $?)"; return; }
  tgc n1 user add acct0 --password-stdin --cost 4 <<<"acct0-pw" || { fail "cluster-usage: (setup) user add acct0" "$(cli_got $?)"; return; }
  # acct0 on every node at once, every 20 ms for 1 s from the add (401 until a node knows the user)
  local hp=()
  for i in 0 1 2; do
    ( for n in $(seq 50); do curl -s -o /dev/null --max-time 5 -u "$(cr acct0)" "$(cl_url $i)/v2/"; sleep 0.02; done ) &
    hp+=($!)
  done
  wait "${hp[@]}"
  cl_known cluster-usage acct0 || return
  sleep 1  # acct: from here on
  LBH=$(cl_lb_host)
  rm -rf "$d"; mkdir -p "$d"
  M=$(cl_marks)
  run_cmd "cluster-usage: skopeo copy alpine:3.19 through the balancer as acct" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$LBH/library/alpine:3.19" "dir:$d/a"
  run_cmd "cluster-usage: skopeo copy busybox:latest through the balancer as acct" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$LBH/library/busybox:latest" "dir:$d/b"
  run_cmd "cluster-usage: skopeo copy ghcr.io/org/tool:v1 through the balancer as acct" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$LBH/ghcr.io/org/tool:v1" "dir:$d/t"
  for i in 0 1 2; do
    curl -s -o /dev/null --max-time 30 -u "$(cr acct)" "${ACCEPT_ALL[@]}" "$(cl_url $i)/v2/library/multi/manifests/latest"
    curl -s -o /dev/null --max-time 30 -u "$(cr acct)" "$(cl_url $i)/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  done
  # the access lines of all of acct's own requests (a forwarded copy on the owner carries forwarded_by=)
  lines=$(cl_al "n1=0 n2=0 n3=0" user acct | grep -v 'forwarded_by=')
  pulls=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -cF '/manifests/')
  bytes=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=(200|206) ' | grep -F '/blobs/' |
    sed -nE 's/.* bytes=([0-9]+).*/\1/p' | awk '{s += $1} END {print s + 0}')
  nreq=$(grep -cE ' path=/v2' <<<"$lines")
  info "access logs (n1+n2+n3, acct, not forwarded copies): $pulls manifest GETs, $bytes blob bytes, $nreq /v2 requests"
  # usage is written per node every second: wait (≤ 5 s) until the database has every pull
  for i in $(seq 25); do
    tgc n2 usage acct --json; rc=$?
    [ "$(jq -r '.[0] | "\(.pulls) \(.bytes_sent) \(.requests)"' "$WORK/cli.out" 2>/dev/null)" = "$pulls $bytes $nreq" ] && break
    sleep 0.2
  done
  info "the database had them after $((i * 200 - 200)) ms"
  cp "$WORK/cli.out" "$WORK/lim.usage.json"; USAGE_REQ=$CLI USAGE_RS="exit $rc"
  uexpect "cluster-usage: tollgate usage acct --json (database) → one entry for acct" '[length, .[0].user]' '[1,"acct"]'
  uexpect "cluster-usage: … pulls = the manifest GETs in the three access logs ($pulls)" '.[0].pulls' "$pulls"
  uexpect "cluster-usage: … bytes_sent = the blob bytes in the three access logs ($bytes)" '.[0].bytes_sent' "$bytes"
  uexpect "cluster-usage: … requests = acct's /v2 requests in the three access logs ($nreq)" '.[0].requests' "$nreq"
  info "usage_daily (upstream requests pulls): $(psql_q "select upstream, requests, pulls from usage_daily where user_name = 'acct' order by 1" | tr '\n' ' ')"
  info "access lines per upstream=: $(grep -E ' path=/v2' <<<"$lines" | sed -nE 's/.* upstream=([^ ]+) .*/\1/p' | sort | uniq -c | tr '\n' ' ' | tr -s ' ')"
  uexpect "cluster-usage: … cache_bytes + upstream_bytes = bytes_sent" '.[0] | .cache_bytes + .upstream_bytes == .bytes_sent' true
  n0=$(cl_al "n1=0 n2=0 n3=0" user acct0 | grep -cE ' path=/v2')
  for i in $(seq 10); do
    tgc n2 usage acct0 --json
    [ "$(jq -r '.[0].requests' "$WORK/cli.out" 2>/dev/null)" = "$n0" ] && break
    sleep 0.2
  done
  expect "cluster-usage: acct0's $n0 successful GET /v2/ in the first second after user add (on every node) are all in the database (usage requests)" "$n0" \
    "$(jq -r '.[0].requests' "$WORK/cli.out" 2>&1)" "command: $CLI" "$(cli_got 0)" \
    "usage_daily rows: $(psql_q "select upstream, requests from usage_daily where user_name = 'acct0'" | tr '\n' ' ')" \
    "node logs: $(grep -h "user=acct0 .*forgot\|forgot.*user=acct0" "$WORK"/tg/n[123]/tollgate.log | cut -c1-140 | tr '\n' ' ')"
  tgc n3 usage --json; rc=$?
  expect "cluster-usage: tollgate usage --json (all users, n3's config) has the same numbers for acct" "$pulls $bytes" \
    "$(jq -r '.[] | select(.user == "acct") | "\(.pulls) \(.bytes_sent)"' "$WORK/cli.out" 2>&1)" "command: $CLI" "$(cli_got $rc)"
  req -u "$(cr acct)" "$(cl_lb_url)/usage"
  cp "$RB" "$WORK/lim.usage.json"; USAGE_REQ=$REQ USAGE_RS=$RS
  uexpect "cluster-usage: GET /usage through the balancer → 200, the same totals" "[$RS, .usage.total.pulls, .usage.total.bytes_sent]" \
    "[200,$pulls,$bytes]"
  rm -rf "$d"
}

# ---------------------------------------------------------------------------------------------
# cluster-kill: kill -9 of a node under load: the clients' retries succeed, the other two serve,
# its transfer reservations are released, and restarted it rejoins.
check_cluster_kill() {
  cluster_up cluster-kill || return
  cl_users cluster-kill kl kc || return
  local d="$WORK/cluster/kill" LBH i pids=() spids=() refs t_kill t0 n ms bad="" late="" early=0 rounds=0 st res ok dg
  LBH=$(cl_lb_host)
  rm -rf "$d"; mkdir -p "$d"
  curl -s -o /dev/null --max-time 120 -u warm:warm-pw "$(cl_url 0)/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  # transfers in flight on n2 (kc, slowly): reservations tagged n2
  for i in 1 2; do
    curl -s -o /dev/null --max-time 30 --limit-rate 2M -u "$(cr kc)" "$(tg_url n2)/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" &
    spids+=($!)
  done
  for i in $(seq 30); do
    n=$(psql_q "select count(*) from transfer_reservations where node = 'n2'")
    [ "${n:-0}" -ge 1 ] 2>/dev/null && break
    sleep 0.1
  done
  [ "${n:-0}" -ge 1 ] 2>/dev/null
  verdict "cluster-kill: (setup) 2 slow blob GETs on n2 hold transfer reservations of node n2" $? "got: count = '$n'"

  # 8 parallel pulls through the balancer, then kill -9 n2
  refs=("bigdata/blob:64m $BIG_DIGEST" "bigdata/blob:64m $BIG_DIGEST" "bigdata/blob:64m $BIG_DIGEST" "library/multi:latest $MULTI_DIGEST --all"
    "library/multi:latest $MULTI_DIGEST --all" "library/alpine:3.19 $ALPINE_DIGEST" "library/busybox:latest $BUSYBOX_DIGEST" "ghcr.io/org/tool:v1 $TOOL_DIGEST")
  # a client that fails pulls again (at most 3 attempts, 1 s apart), as CI jobs and kubelets do
  for i in $(seq 0 7); do
    set -- ${refs[$i]}
    ( for a in 1 2 3; do
        echo "attempt $a" >>"$d/p$i.out"
        rm -rf "$d/p$i"
        timeout 120 skopeo copy -q --retry-times 3 --src-tls-verify=false --src-creds "$(cr kl)" ${3:-} "docker://$LBH/$1" "dir:$d/p$i" \
          >>"$d/p$i.out" 2>&1 && exit 0
        sleep 1
      done; exit 1 ) &
    pids+=($!)
  done
  sleep 0.8
  kill -9 "$(cat "$WORK/tg/n2/pid")"
  t_kill=$(date +%s%N)
  # from the kill on, watch n2's reservations (≤ 15 s): the ms when none is left
  local hb hbms rpid
  hb=$(psql_q "select (extract(epoch from heartbeat_at) * 1000)::bigint from nodes where name = 'n2'")
  ( for i in $(seq 75); do
      [ "$(psql_q "select count(*) from transfer_reservations where node = 'n2'")" = 0 ] &&
        { echo "$(date +%s%3N) $((($(date +%s%N) - t_kill) / 1000000))" >"$d/released"; exit 0; }
      sleep 0.2
    done ) &
  rpid=$!
  info "n2 killed; pulls under way: $(for p in "${pids[@]}"; do kill -0 $p 2>/dev/null && printf x; done | wc -c) of 8"
  ok=0
  for i in $(seq 0 7); do
    set -- ${refs[$i]}
    if wait "${pids[$i]}" && [ "$(sk_digest "$d/p$i" 2>/dev/null)" = "$2" ]; then ok=$((ok + 1))
    else bad+=" $1: digest $(sk_digest "$d/p$i" 2>/dev/null) $(tail -c 300 "$d/p$i.out" | tr '\n' ' ');"; fi
  done
  expect "cluster-kill: 8 parallel skopeo copies through the balancer, n2 killed 0.8 s in → all 8 succeed (a failed one pulled again, ≤ 3 attempts), right digests" \
    8 "$ok" "failed:$bad"
  info "attempts per pull: $(for i in $(seq 0 7); do printf '%s ' "$(grep -c '^attempt' "$d/p$i.out")"; done); failures seen: $(grep -h 'level=fatal' "$d"/p*.out | sed -E 's/.*msg="([^"]{0,80}).*/\1/' | sort | uniq -c | tr '\n' ' ')"
  kill "${spids[@]}" 2>/dev/null; wait "${spids[@]}" 2>/dev/null

  # new pulls from the kill on: every one succeeds from 5 s after the kill (rounds for 8 s)
  for i in $(seq 40); do
    ms=$((($(date +%s%N) - t_kill) / 1000000))
    [ $ms -ge 8000 ] && break
    rounds=$((rounds + 1)) res=""
    for st in \
      "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$(cr kl)" "${ACCEPT_ALL[@]}" "http://$LBH/v2/library/alpine/manifests/3.19")" \
      "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$(cr kl)" "http://$LBH/v2/library/busybox/blobs/$BUSYBOX_LAYER")" \
      "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$(cr kl)" "${ACCEPT_ALL[@]}" "$(tg_url n1)/v2/library/multi/manifests/latest")" \
      "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$(cr kl)" "${ACCEPT_ALL[@]}" "$(tg_url n3)/v2/ghcr.io/org/tool/manifests/v1")" \
      "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$(cr kl)" "${ACCEPT_ALL[@]}" "$(tg_url n3)/v2/library/busybox/manifests/latest")"; do
      res+="$st "
    done
    if [ "$res" != "200 200 200 200 200 " ]; then
      if [ $ms -ge 5000 ]; then late+=" @${ms}ms: $res;"; else early=$((early + 1)); fi
    fi
    sleep 0.3
  done
  expect "cluster-kill: from 5 s after the kill every new pull succeeds (LB alpine tag + busybox layer, n1 multi tag, n3 ghcr tag + busybox tag)" \
    "" "$late" "rounds: $rounds; rounds with a failure in the first 5 s: $early"
  info "$rounds rounds after the kill; $early with a failure in the first 5 s"

  # n2's reservations released once its heartbeat is 5 s old
  wait "$rpid"
  if [ -s "$d/released" ]; then
    read -r hbms ms <"$d/released"
    hbms=$((hbms - ${hb:-0}))
    [ "$hbms" -le 7000 ]
    verdict "cluster-kill: n2's transfer reservations released ≤ 7 s after its last heartbeat (5 s to be dead + 1 s heartbeat period + 1 s slack; select count(*) from transfer_reservations where node='n2' → 0)" $? \
      "got: none left $ms ms after the kill, $hbms ms after n2's last heartbeat"
    info "reservations of n2: none left $ms ms after the kill, $hbms ms after its last heartbeat"
  else
    fail "cluster-kill: n2's transfer reservations released ≤ 7 s after its last heartbeat" \
      "got: still $(psql_q "select count(*) from transfer_reservations where node = 'n2'") 15 s after the kill"
  fi

  # restarted, it rejoins and serves again
  if cl_node_start n2 cluster-kill; then
    t0=$(date +%s%N)
    for i in $(seq 30); do
      [ "$(psql_q "select count(*) from nodes where name = 'n2' and heartbeat_at > clock_timestamp() - interval '2 seconds'")" = 1 ] && break
      sleep 0.1
    done
    expect "cluster-kill: restarted n2 heartbeats again (table nodes)" 1 \
      "$(psql_q "select count(*) from nodes where name = 'n2' and heartbeat_at > clock_timestamp() - interval '2 seconds'")"
    cl_converged 10
    verdict "cluster-kill: … every node lists it again (live=n1,n2,n3) within 10 s" $? \
      "got: $(for n in "${CL_NODES[@]}"; do grep 'cluster nodes' "$WORK/tg/$n/tollgate.log" | tail -1 | cut -c1-90; done | tr '\n' ' ')"
    local M; M=$(tg_mark n2)
    for i in $(seq 6); do curl -s -o /dev/null --max-time 10 -u "$(cr kl)" "${ACCEPT_ALL[@]}" "http://$LBH/v2/library/alpine/manifests/3.19"; done
    sleep 0.2
    n=$(alc n2 "$M" user kl status 200)
    [ "${n:-0}" -ge 1 ]
    verdict "cluster-kill: … and serves again: of 6 GETs through the balancer n2 answered some (200)" $? "got: $n access lines on n2"
    cl_get n2 kl "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
    resp_is "cluster-kill: … a 64 MiB blob GET on n2 → 200, right bytes" 200 sha="$BIG_BLOB"
  fi
  cl_kill_owner_mid_relay "$d"
  rm -rf "$d"
}

# A blob relayed from its owner, the owner killed mid-transfer: the relaying node finishes the
# body from the byte where the owner stopped (its own download), and the client gets every byte.
# (80 MB: socket buffers and the relay's read-ahead hold ~25-35 MB between owner and client, and
# the owner must still be sending when it dies.)
cl_kill_owner_mid_relay() {
  local d="$1" img repo layer owner other n st sz sha fwd
  img="cluster/relay-$RANDOM"
  if ! timeout 120 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/$img:1" --layers 1 --layer-size 80000000 --seed "$img" \
    >/dev/null 2>"$d/mk.err"; then
    fail "cluster-kill: (setup) an 80 MB image pushed to ghcr" "got: $(tail -c 300 "$d/mk.err")"; return
  fi
  repo="ghcr.io/$img"
  layer=$(skopeo inspect --raw --tls-verify=false "docker://$GHCR_HOST/$img:1" 2>"$d/mk.err" | jq -r '.layers[0].digest')
  # one ranged GET makes its owner fetch and keep it (a forwarded range isn't kept by the asker)
  cl_get n1 kl "/v2/$repo/blobs/$layer" -r 0-0
  for n in $(seq 50); do   # the 206 can come as the verified file is moved into place
    owner=$(cl_on_disk "$layer")
    [ -n "$owner" ] && break
    sleep 0.1
  done
  if ! [[ "$owner" =~ ^n[123]$ ]] || [ "$RS" != 206 ]; then
    fail "cluster-kill: (setup) one node holds the 80 MB layer after a ranged GET" "got: status $RS, holders '$owner'"; return
  fi
  for n in "${CL_NODES[@]}"; do [ "$n" = "$owner" ] || { other=$n; break; }; done
  local M; M=$(tg_mark "$other")
  curl -s --max-time 60 --limit-rate 8M -u "$(cr kl)" -o "$d/relayed" -w '%{http_code}' \
    "$(tg_url "$other")/v2/$repo/blobs/$layer" >"$d/relayed.st" 2>/dev/null &
  local cpid=$!
  sleep 1
  kill -9 "$(cat "$WORK/tg/$owner/pid")"
  wait "$cpid"
  st=$(cat "$d/relayed.st") sz=$(stat -c %s "$d/relayed" 2>/dev/null) sha="sha256:$(sha256sum <"$d/relayed" | cut -d' ' -f1)"
  fwd=$(tg_since "$other" "$M" | grep -c "broke off; finishing it here")
  expect "cluster-kill: an 80 MB blob relayed by $other from its owner $owner, the owner killed 1 s in (client at 8 MB/s) → 200, every byte, right digest; $other finished it" \
    "200 $layer 1" "$st $sha $fwd" "size: $sz"
  cl_node_start "$owner" cluster-kill && cl_converged 10
}

# ---------------------------------------------------------------------------------------------
# cluster-db-outage: PostgreSQL stopped for E2E_CLUSTER_OUTAGE (default 60) s under pull load.
check_cluster_db_outage() {
  cluster_up cluster-db-outage || return
  cl_users cluster-db-outage dg dh dx || return
  cl_set cluster-db-outage dg --pulls-per-6h 20 || return
  cl_set cluster-db-outage dx --pulls-per-6h 20 || return
  local d="$WORK/cluster/outage" T pat i n t0 ms st LBU secs="${E2E_CLUSTER_OUTAGE:-60}" bad bad5 dgok lines pulls bytes rc
  LBU=$(cl_lb_url)
  rm -rf "$d"; mkdir -p "$d"
  lim_alpine_blobs
  for i in 0 1 2; do
    curl -s -o /dev/null --max-time 60 -u warm:warm-pw "${ACCEPT_ALL[@]}" "$(cl_url $i)/v2/library/alpine/manifests/$ALPINE_DIGEST"
    curl -s -o /dev/null --max-time 60 -u warm:warm-pw "$(cl_url $i)/v2/library/busybox/blobs/$BUSYBOX_LAYER"
    curl -s -o /dev/null --max-time 60 -u warm:warm-pw "$(cl_url $i)/v2/library/alpine/blobs/$SMALL_BLOB"
  done
  T=$(cl_token n1 "$(cr dh)" repository:library/alpine:pull)
  tgc n1 token create dh --label outage; pat=$(head -1 "$WORK/cli.out")
  sleep 0.6
  for i in 0 1 2; do  # dg's and dx's pulls before the outage, one per node; each node reads their windows within a second
    curl -s -o /dev/null --max-time 30 -u "$(cr dg)" "${ACCEPT_ALL[@]}" "$(cl_url $i)/v2/library/alpine/manifests/$ALPINE_DIGEST"
    curl -s -o /dev/null --max-time 30 -u "$(cr dx)" "${ACCEPT_ALL[@]}" "$(cl_url $i)/v2/library/alpine/manifests/$ALPINE_DIGEST"
  done
  sleep 1.5
  # then dx takes 14 more pulls on n1 only (17 of 20 used): n2 and n3 last read 3 (they re-read every few seconds)
  for i in $(seq 14); do
    curl -s -o /dev/null --max-time 30 -u "$(cr dx)" "${ACCEPT_ALL[@]}" "$(tg_url n1)/v2/library/alpine/manifests/$ALPINE_DIGEST"
  done

  pg_stop || { fail "cluster-db-outage: (setup) pg_ctl stop" "got: $(tail -c 300 "$WORK/cluster/pg_ctl.out")"; return; }
  t0=$(date +%s%N)
  info "PostgreSQL stopped for $secs s"
  # /readyz says degraded on every node
  for n in "${CL_NODES[@]}"; do
    until_status 6 503 "$(tg_url "$n")/readyz"
    expect "cluster-db-outage: $n GET /readyz → 503 '… degraded: database unreachable' within 6 s" "503 yes" \
      "$RS $(grep -qF 'degraded: database unreachable' "$RB" && echo yes || echo "no: $(body_snip 120)")" "request: $REQ"
  done
  # what needs the database: a personal access token never checked before → 503 with the message
  req -u "dh:$pat" "${ACCEPT_ALL[@]}" "$(tg_url n2)/v2/library/alpine/manifests/3.19"
  expect "cluster-db-outage: dh's new personal access token as the password (needs the database) → 503 'degraded: database unreachable'" \
    "503 degraded: database unreachable" "$RS $(jq -r '.errors[0].message' "$RB" 2>/dev/null)" "request: $REQ" "$(got)"

  # load: recently verified users pull cached content (bounded: ≤ 400 rounds, until the outage ends);
  # 8 s in, dg (pulls_per_6h: 20, 2 used) sends 30 parallel manifest GETs over the nodes
  : >"$d/log"
  local burst=0 w
  w() {  # w LABEL CURL-ARGS... — one request, logged as "ms label status seconds [body]"
    local label="$1" out; shift
    out=$(curl -s --max-time 20 -o "$d/b" -w '%{http_code} %{time_total}' "$@")
    echo "$ms $label $out $(case "$out" in 200*) ;; *) head -c 150 "$d/b" | tr '\n' ' ' ;; esac)" >>"$d/log"
  }
  for i in $(seq 400); do
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $ms -ge $((secs * 1000)) ] && break
    n=$((i % 3))
    w dh-basic-lb-blob -u "$(cr dh)" "$LBU/v2/library/busybox/blobs/$BUSYBOX_LAYER"
    w "dh-bearer-n$((n + 1))-manifest" -H "Authorization: Bearer $T" "${ACCEPT_ALL[@]}" "$(cl_url $n)/v2/library/alpine/manifests/$ALPINE_DIGEST"
    w "dh-basic-n$(((n + 1) % 3 + 1))-blob" -u "$(cr dh)" "$(cl_url $((n + 1)))/v2/library/alpine/blobs/$SMALL_BLOB"
    w "dg-n$((n + 1))-manifest" -u "$(cr dg)" "${ACCEPT_ALL[@]}" "$(cl_url $n)/v2/library/alpine/manifests/$ALPINE_DIGEST"
    if [ $burst = 0 ] && [ $ms -ge 8000 ]; then
      burst=1
      cl_par "$d/burst" 30 dg "/v2/library/alpine/manifests/$ALPINE_DIGEST"
      for n in $(seq 0 29); do echo "$ms dg-burst-n$((n % 3 + 1)) $(cat "$d/burst/st$n") $(grep -q '^200 ' "$d/burst/st$n" || head -c 150 "$d/burst/b$n")" >>"$d/log"; done
      cl_par "$d/burst" 30 dx "/v2/library/alpine/manifests/$ALPINE_DIGEST"
      for n in $(seq 0 29); do echo "$ms dx-burst-n$((n % 3 + 1)) $(cat "$d/burst/st$n") $(grep -q '^200 ' "$d/burst/st$n" || head -c 150 "$d/burst/b$n")" >>"$d/log"; done
    fi
    sleep 0.25
  done
  pg_start || { fail "cluster-db-outage: PostgreSQL starts again" "got: $(tail -c 300 "$WORK/cluster/pg_ctl.out")"; return; }
  info "PostgreSQL back after $((($(date +%s%N) - t0) / 1000000)) ms; $(grep -c . "$d/log") requests made meanwhile"

  bad=$(awk '$2 ~ /^dh/ && $3 != 200' "$d/log" | head -5)
  local slow; slow=$(awk '$2 ~ /^dh/ && $1 >= 10000 && $4 > 2.0' "$d/log")
  expect "cluster-db-outage: … and from 10 s into the outage each of them is answered within 2 s (the node decides without the database)" "" \
    "$(head -4 <<<"$slow")" "$(grep -c . <<<"$slow") slow of $(awk '$2 ~ /^dh/ && $1 >= 10000' "$d/log" | grep -c .); seconds: $(awk '$2 ~ /^dh/ {printf "%s ", $4}' "$d/log")"
  expect "cluster-db-outage: during the outage every cached pull of dh (verified before it; Basic via nginx and on the nodes, Bearer) → 200" "" "$bad" \
    "statuses: $(awk '$2 ~ /^dh/ {print $3}' "$d/log" | sort | uniq -c | tr '\n' ' ')"
  bad5=$(awk '$3 ~ /^5/ && !/degraded: database unreachable/' "$d/log" | head -5)
  expect "cluster-db-outage: … no 5xx other than 503 'degraded: database unreachable'" "" "$bad5"
  dgok=$(awk '$2 ~ /^dg/ && $3 == 200' "$d/log" | grep -c .)
  [ $burst = 1 ] || fail "cluster-db-outage: (setup) dg's burst ran (8 s into the outage)" "got: the load loop ended before"
  local per=""
  for n in 1 2 3; do per+="$(awk -v n="n$n" '$2 ~ "^dg" && $2 ~ n && $3 == 200' "$d/log" | grep -c .) "; done
  [[ "$per" =~ ^[1-9][0-9]*\ [1-9][0-9]*\ [1-9][0-9]*\ $ ]]
  verdict "cluster-db-outage: dg (pulls_per_6h: 20, 3 used, seen by every node before the outage) still pulls on each node during it (its slice: (20 - 3) ÷ 3 nodes = 5)" $? \
    "got: pulls granted during the outage on n1 n2 n3: $per; answers: $(awk '$2 ~ /^dg/ {print $3}' "$d/log" | sort | uniq -c | tr '\n' ' ')" \
    "a refusal: $(awk '$2 ~ /^dg/ && $3 == 429' "$d/log" | head -1 | cut -c1-260)"
  info "dg during the outage: $(awk '$2 ~ /^dg/ {print $3}' "$d/log" | sort | uniq -c | tr '\n' ' ')"
  for n in "${CL_NODES[@]}"; do
    tg_alive "$n"
    verdict "cluster-db-outage: $n still running" $? "log tail: $(tail -c 400 "$WORK/tg/$n/tollgate.log" | tr '\n' ' ')"
  done
  for n in "${CL_NODES[@]}"; do
    within "cluster-db-outage: database back: $n GET /readyz → 200 within 10 s" 10 200 "$(tg_url "$n")/readyz"
  done

  # no limit passed: dg (20 pulls / 6 h) got at most 20 manifest GETs in all, outage included
  lines=$(cl_al "n1=0 n2=0 n3=0" user dg | grep -v 'forwarded_by=')
  pulls=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -cF '/manifests/')
  [ "$pulls" -le 20 ]
  verdict "cluster-db-outage: dg (pulls_per_6h: 20) got ≤ 20 manifest GETs in all (3 before, $dgok during the outage)" $? "got: $pulls (access logs)"
  lines=$(cl_al "n1=0 n2=0 n3=0" user dx | grep -v 'forwarded_by=')
  pulls=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -cF '/manifests/')
  [ "$pulls" -le 20 ]
  verdict "cluster-db-outage: dx (pulls_per_6h: 20; 17 used, 14 of them on n1 just before the outage) got ≤ 20 manifest GETs in all" $? \
    "got: $pulls (access logs): 17 before, $(awk '$2 ~ /^dx/ && $3 == 200' "$d/log" | grep -c .) of 30 during the outage (per node: $(for n in 1 2 3; do printf 'n%s=%s ' $n "$(awk -v n="dx-burst-n$n" '$2 == n && $3 == 200' "$d/log" | grep -c .)"; done))"
  lines=$(cl_al "n1=0 n2=0 n3=0" user dg | grep -v 'forwarded_by=')
  pulls=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -cF '/manifests/')
  for i in $(seq 25); do
    tgc n1 usage dg --json
    [ "$(jq -r '.[0].pulls' "$WORK/cli.out" 2>/dev/null)" = "$pulls" ] && break
    sleep 0.2
  done
  expect "cluster-db-outage: after the outage the database has dg's pulls (usage) = the access logs' $pulls" "$pulls" \
    "$(jq -r '.[0].pulls' "$WORK/cli.out" 2>&1)" "command: $CLI" "$(cli_got 0)"
  lines=$(cl_al "n1=0 n2=0 n3=0" user dh | grep -v 'forwarded_by=')
  bytes=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -F '/blobs/' |
    sed -nE 's/.* bytes=([0-9]+).*/\1/p' | awk '{s += $1} END {print s + 0}')
  pulls=$(grep -E 'method=GET ' <<<"$lines" | grep -E 'status=200 ' | grep -cF '/manifests/')
  for i in $(seq 25); do
    tgc n3 usage dh --json
    [ "$(jq -r '.[0] | "\(.pulls) \(.bytes_sent)"' "$WORK/cli.out" 2>/dev/null)" = "$pulls $bytes" ] && break
    sleep 0.2
  done
  expect "cluster-db-outage: … and dh's usage {pulls, bytes_sent} = the access logs' {$pulls, $bytes}" "$pulls $bytes" \
    "$(jq -r '.[0] | "\(.pulls) \(.bytes_sent)"' "$WORK/cli.out" 2>&1)" "command: $CLI" "$(cli_got 0)"
  req -u "$(cr dh)" "$LBU/v2/"
  resp_is "cluster-db-outage: after it, dh GET /v2/ through the balancer → 200" 200
  req -u "dh:$pat" "$(tg_url n2)/v2/"
  resp_is "cluster-db-outage: … and the personal access token works → 200" 200
  cp "$d/log" "$WORK/cluster/outage.log"
  rm -rf "$d"
}
