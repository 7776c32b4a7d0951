# checks_security_server.sh — security checks of the HTTP front: every way to a manifest counts
# as a pull, slow or idle clients can't hold the server, client text can't forge log lines,
# upstream content types can't become active content. Sourced by run.sh.

# sec_server_up NAME [SERVER_YAML] [PLANS_YAML] [EXTRA_UPSTREAM_YAML] — an auth-on instance with
# users hp, hp2, lu (bcrypt cost 4) and the standard upstreams.
sec_server_up() {
  local name="$1" server="${2:-}" plans="${3:-}" extra="${4:-}" d="$WORK/tg/$1"
  [ -n "$plans" ] || plans='plans: {default: {}, anonymous: {}}'
  tg_alive "$name" && return 0
  tg_config "$name" "" "$extra" \
    "$(printf 'auth:\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}\n  lockout: {failures: 1000}' "$d" "$d")" \
    "$plans"
  [ -n "$server" ] && printf '%s\n' "$server" >>"$d/config.yaml"
  local u
  for u in hp hp2 lu; do
    echo "$u-pw" | "$TOLLGATE_BIN" user add "$u" --password-stdin --cost 4 --config "$d/config.yaml" >/dev/null 2>&1
  done
  tg_start "$name" 2>"$WORK/$name.start.err" || { fail "security: $name instance starts" "$(cat "$WORK/$name.start.err")"; return 1; }
}

# used_pulls NAME USER — pulls_per_6h.used from /usage.
used_pulls() {
  curl -s --max-time 10 -u "$2:$2-pw" "$(tg_url "$1")/usage" | jq -r '.current.pulls_per_6h.used // "none"'
}

check_security_pull_paths() {
  local plans='plans: {default: {pulls_per_6h: 2}, anonymous: {}}'
  sec_server_up secpull "" "$plans" || return
  local U; U=$(tg_url secpull)
  local gets0 gets1 heads0 heads1
  gets0=$(up_count hub GET '/v2/library/busybox/manifests/latest')
  heads0=$(up_count hub HEAD '/v2/library/busybox/manifests/latest')
  req -I -u hp:hp-pw -H "Accept: $V2S2" "$U/v2/library/busybox/manifests/latest"
  gets1=$(up_count hub GET '/v2/library/busybox/manifests/latest')
  heads1=$(up_count hub HEAD '/v2/library/busybox/manifests/latest')
  expect "security-pull-paths: HEAD of an uncached tag → 200 with the digest" \
    "200 $BUSYBOX_DIGEST $BUSYBOX_MANIFEST_SIZE" "$RS $(hdr docker-content-digest) $(hdr content-length)" "request: $REQ"
  expect "security-pull-paths: … answered by an upstream HEAD, no upstream manifest GET (HEAD, GET upstream)" \
    "1 0" "$((heads1 - heads0)) $((gets1 - gets0))"
  expect "security-pull-paths: … and no pull counted" "0" "$(used_pulls secpull hp)"

  req -u hp:hp-pw "$U/v2/library/busybox/blobs/$BUSYBOX_DIGEST"
  expect "security-pull-paths: the manifest's digest on the blob endpoint → 404 BLOB_UNKNOWN (after a HEAD)" \
    "404 BLOB_UNKNOWN" "$RS $(errcode)" "request: $REQ"
  req -u hp:hp-pw -H "Accept: $V2S2" "$U/v2/library/busybox/manifests/latest"
  expect "security-pull-paths: GET of the tag → 200, a pull" "200 1" "$RS $(used_pulls secpull hp)" "request: $REQ"
  req -u hp:hp-pw "$U/v2/library/busybox/blobs/$BUSYBOX_DIGEST"
  expect "security-pull-paths: … blob endpoint for the now cached manifest → 404 BLOB_UNKNOWN" \
    "404 BLOB_UNKNOWN" "$RS $(errcode)" "request: $REQ"
  req -u hp:hp-pw "$U/v2/library/alpine/blobs/$ALPINE_DIGEST"
  expect "security-pull-paths: blob endpoint for a manifest never seen here → 404 BLOB_UNKNOWN" \
    "404 BLOB_UNKNOWN" "$RS $(errcode)" "request: $REQ"
  expect "security-pull-paths: … and no pull counted for either" "1" "$(used_pulls secpull hp)"

  # hp2 spends its pulls, then a HEAD that only a GET can answer (a list, for a client that
  # doesn't accept lists) is refused; a HEAD answered from the cache is not.
  req -u hp2:hp2-pw -H "Accept: $V2S2" "$U/v2/library/alpine/manifests/3.19"
  req -u hp2:hp2-pw -H "Accept: $V2S2" "$U/v2/ghcr.io/org/tool/manifests/v1"
  expect "security-pull-paths: hp2 used its 2 pulls" "2" "$(used_pulls secpull hp2)"
  req -I -u hp2:hp2-pw -H "Accept: $V2S2" "$U/v2/library/multi/manifests/latest"
  expect "security-pull-paths: at the limit, HEAD of a list tag with a single-manifest Accept (needs a GET) → 429" \
    "429" "$RS" "request: $REQ"
  req -I -u hp2:hp2-pw -H "Accept: $V2S2" "$U/v2/library/busybox/manifests/latest"
  expect "security-pull-paths: at the limit, HEAD of a cached tag → 200 (no GET, no pull)" "200" "$RS" "request: $REQ"
  # hp has one pull left: the same list HEAD is charged one
  req -I -u hp:hp-pw -H "Accept: $V2S2" "$U/v2/library/multi/manifests/latest"
  expect "security-pull-paths: HEAD that takes an upstream GET → 200, charged a pull (used 1 → 2)" \
    "200 2" "$RS $(used_pulls secpull hp)" "request: $REQ"
  expect_match "security-pull-paths: … the answer names the linux/amd64 child" '^sha256:[0-9a-f]{64}$' \
    "$(hdr docker-content-digest)"
}

# slow_clients PORT N LINE_EVERY SECONDS OUT — N connections that each send a request line and
# then one header line every LINE_EVERY s; writes "<closed> <open>" after SECONDS.
slow_clients() {
  python3 - "$@" <<'PY'
import socket, sys, time
port, n, every, secs, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = []
for _ in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    except OSError:
        pass
closed = set()
t0 = time.time()
while time.time() - t0 < secs:
    time.sleep(every)
    for i, s in enumerate(socks):
        if i in closed: continue
        try:
            s.sendall(b"X-Slow: 1\r\n")
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"": closed.add(i)
            except socket.timeout:
                pass
        except OSError:
            closed.add(i)
open(out, "w").write("%d %d\n" % (len(closed), len(socks)))
PY
}

# closed_after PORT REQUEST [ANSWER] — sends REQUEST (printf escapes), waits for ANSWER in the
# reply if given, then says how long until the server closed the connection (at most 10 s).
closed_after() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while sys.argv[3] and sys.argv[3].encode() not in data:
    more = s.recv(4096)
    if not more:
        print("closed before the answer: %r" % data[:200]); sys.exit(0)
    data += more
t0 = time.time()
try:
    while s.recv(4096): pass
    print("closed after %.1f s" % (time.time() - t0))
except socket.timeout:
    print("still open after 10 s")
PY
}

check_security_slow_clients() {
  sec_server_up secslow \
    "server: {header_timeout: 2s, idle_timeout: 3s, body_timeout: 2s, max_connections: 60, max_connections_per_client: 40}" ||
    return
  local U P; U=$(tg_url secslow) P=$(cat "$WORK/tg/secslow/port")
  slow_clients "$P" 30 0.5 5 "$WORK/slow.out"
  expect "security-slow-clients: 30 connections trickling a request head are all closed within 5 s (header_timeout 2s)" \
    "30 30" "$(cat "$WORK/slow.out")"
  req -u hp:hp-pw "$U/v2/"
  expect "security-slow-clients: a normal request afterwards → 200" "200" "$RS" "request: $REQ"

  # an idle keep-alive connection is closed after idle_timeout, counted from its answer; a
  # stalled POST /token body after body_timeout
  expect_match "security-slow-clients: idle keep-alive connection closed after idle_timeout (3 s)" '^closed after [34]\.' \
    "$(closed_after "$P" 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' ok)"
  expect_match "security-slow-clients: stalled POST /token body cut after body_timeout (2 s)" '^closed after [23]\.' \
    "$(closed_after "$P" 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=')"

  # caps: 40 per client address, 60 in total; refused connections get a 503 at once
  local caps
  caps=$(python3 - "$P" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def connect(src):
    s = socket.socket(); s.settimeout(3); s.bind((src, 0)); s.connect(("127.0.0.1", port)); return s
def first_line(s, wait):
    s.settimeout(wait)
    try: return s.recv(200).split(b"\r\n")[0].decode() or "closed"
    except socket.timeout: return "no answer"
# all within the 2 s header_timeout, so no connection is closed meanwhile
socks = [connect("127.0.0.1") for _ in range(45)]
time.sleep(0.3)
def refused(s):  # without waiting (a socket with a timeout would wait for it)
    s.setblocking(False)
    try: return s.recv(200).startswith(b"HTTP/1.1 503")
    except BlockingIOError: return False
r503 = sum(refused(s) for s in socks)
o = connect("127.0.0.2"); o.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); other = first_line(o, 1)
# 40 + 1 open: 20 more from other addresses pass the total of 60 by one (which one is refused
# depends on the order the server takes them in)
extra = [connect("127.0.0.%d" % (3 + i % 5)) for i in range(20)]
time.sleep(0.3)
total = sum(refused(s) for s in extra)
print("%d|%s|%d" % (r503, other, total))
PY
)
  expect "security-slow-clients: 45 connections from one address: 5 refused with 503 (max 40 per client); another address served; of 20 more from other addresses (61 in all) one refused (max 60)" \
    "5|HTTP/1.1 200 OK|1" "$caps"
  sleep 3
  req -u hp:hp-pw "$U/v2/"
  expect "security-slow-clients: after those connections closed, requests are served again" "200" "$RS" "request: $REQ"

  # a slow transfer that makes progress outlives every timeout (64 MiB at 8 MiB/s ≈ 8 s)
  req -u hp:hp-pw --limit-rate 8M "$U/v2/bigdata/blob/blobs/$BIG_BLOB"
  expect "security-slow-clients: a 64 MiB download at 8 MiB/s (8 s > every timeout) completes intact" \
    "200 $BIG_BLOB" "$RS $(body_sha)" "request: $REQ"
}

check_security_log_injection() {
  sec_server_up seclog || return
  local U M forged; U=$(tg_url seclog) M=$(tg_mark seclog)
  forged='2026-12-06T12:00:00+0000 info tollgate.access: access method=GET path=/v2/private/app/manifests/1.0 status=200 user=admin id=FORGED'
  curl -s -o /dev/null --max-time 10 --data-urlencode "username=x
$forged" -d 'grant_type=password&password=x&service=tollgate' "$U/token"
  curl -s -o /dev/null --max-time 10 -u "$(printf 'y\r\n%s' "$forged"):pw" "$U/v2/"
  curl -s -o /dev/null --max-time 10 "$U/v2/a%0a$(printf '%s' "$forged" | sed 's/ /%20/g')/manifests/x"
  sleep 0.5
  local lines; lines=$(tg_since seclog "$M")
  if printf '%s\n' "$lines" | grep -q '^2026-12-06T12:00:00+0000'; then
    fail "security-log-injection: no forged line starts a log line" "got: $(printf '%s\n' "$lines" | grep -n 'FORGED' | head -3)"
  else pass "security-log-injection: no forged line starts a log line (POST /token user name, Basic user name, path)"; fi
  printf '%s\n' "$lines" | grep -q 'x\\nlogin\|x\\n2026-12-06T12:00:00+0000'
  verdict "security-log-injection: … the user name is logged escaped (\\n)" $? "got: $(printf '%s\n' "$lines" | grep FORGED | head -2)"
  printf '%s\n' "$lines" | grep -q 'y\\r\\n2026'
  verdict "security-log-injection: … CR LF in a Basic user name logged as \\r\\n" $? "got: $(printf '%s\n' "$lines" | grep FORGED | head -3)"
}

# sec_fake_up DIR — start fake_upstream.py; prints its port.
sec_fake_up() {
  local fd="$1" i
  mkdir -p "$fd"
  python3 "$E2E_DIR/fake_upstream.py" --port-file "$fd/port" --log "$fd/requests.log" >"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && break; sleep 0.1; done
  cat "$fd/port" 2>/dev/null
}

check_security_content_type() {
  local fport; fport=$(sec_fake_up "$WORK/fake-ct") || { fail "security-content-type: fake upstream starts" ""; return; }
  sec_server_up secct "" "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}" || return
  local U; U=$(tg_url secct)
  req -u hp:hp-pw -H "Accept: $V2S2" "$U/v2/library/busybox/manifests/latest"
  expect "security-content-type: manifest responses carry X-Content-Type-Options: nosniff" "200 nosniff" \
    "$RS $(hdr x-content-type-options)" "request: $REQ"
  req -u hp:hp-pw "$U/v2/nope/blobs/sha256:$(printf 'a%.0s' {1..64})"
  expect "security-content-type: … error responses too" "nosniff" "$(hdr x-content-type-options)" "request: $REQ"
  # an upstream that labels an HTML document as a manifest of type application/xhtml+xml
  req -u hp:hp-pw "$U/v2/bad.test/x/html/manifests/latest"
  expect "security-content-type: an upstream 'manifest' of type application/xhtml+xml (not JSON) → 400 MANIFEST_INVALID, never served" \
    "MANIFEST_INVALID" "$(errcode)" "request: $REQ" "$(got)"
  stop_pidfile "$WORK/fake-ct/pid" fake_upstream.py
}

check_security_unauthenticated_paths() {
  sec_server_up seclog || return
  local U p; U=$(tg_url seclog)
  for p in 'library/alpine/manifests/bad!tag' 'UPPER/manifests/latest' 'library/alpine/blobs/sha256:xyz'; do
    req "$U/v2/$p"
    expect "security-unauthenticated-paths: GET /v2/$p without credentials → 401 challenge (path not judged first)" \
      "401 UNAUTHORIZED" "$RS $(errcode)" "request: $REQ"
  done
  req -u hp:hp-pw "$U/v2/library/alpine/manifests/bad!tag"
  expect "security-unauthenticated-paths: … with credentials, an invalid reference → 404 MANIFEST_UNKNOWN" \
    "404 MANIFEST_UNKNOWN" "$RS $(errcode)" "request: $REQ"
  req -X PUT "$U/v2/library/alpine/manifests/sha256:bad"
  expect "security-unauthenticated-paths: a write → 405 UNSUPPORTED before anything else" "405 UNSUPPORTED" \
    "$RS $(errcode)" "request: $REQ"
}
