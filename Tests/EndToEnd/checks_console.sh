# checks_console.sh — the web console in a real browser: headless Chromium driven by Selenium
# (console_browser.py, Debian's /usr/bin/python3 with python3-selenium and python3-pil), against a
# Tollgate with auth on, the harness's hub as docker.io, and real skopeo pulls with what the
# browser made. Screenshots (desktop and a 390-px phone) go to $CONSOLE_SHOTS
# (default <repo>/.build/console-screenshots).

check_console_browser() {
  local n=console d="$WORK/tg/console" shots kind what detail
  shots="${CONSOLE_SHOTS:-$E2E_DIR/../../.build/console-screenshots}"
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! /usr/bin/python3 -c 'import selenium, PIL' 2>/dev/null; then
    fail "console-browser: chromium, chromium-driver, python3-selenium and python3-pil are installed" \
      "got: /usr/bin/chromium $([ -x /usr/bin/chromium ] && echo yes || echo no), chromedriver $([ -x /usr/bin/chromedriver ] && echo yes || echo no), selenium/PIL for /usr/bin/python3: $(/usr/bin/python3 -c 'import selenium, PIL' 2>&1 | tail -1)"
    return
  fi
  mkdir -p "$d"
  : >"$d/htpasswd"
  htpasswd -B -C 10 -b "$d/htpasswd" webuser web-user-pw 2>/dev/null
  htpasswd -B -C 10 -b "$d/htpasswd" webadmin web-admin-pw 2>/dev/null
  tg_config $n "" "" \
    "$(printf 'auth:\n  htpasswd: "%s"\n  anonymous: false\n  token: {key_dir: "%s"}\n' "$d/htpasswd" "$d/tokens")" \
    "plans: {default: {pulls_per_6h: 50, bytes_per_day: 2GiB, concurrent_transfers: 4}, small: {pulls_per_6h: 7}, anonymous: {}}"
  tg_start_checked $n "console-browser: tollgate with the console starts" || return
  tgc $n user set webadmin --role admin
  expect_match "console-browser: (setup) user set webadmin --role admin" '^0 webadmin: .*; role admin$' \
    "$? $(cat "$WORK/cli.out")" "command: $CLI" "stderr: $(cat "$WORK/cli.err")"
  sleep 0.6  # the server reloads user settings within 250 ms
  rm -rf "$shots"; mkdir -p "$shots"
  BASE="$(tg_url $n)" MIRROR="$(tg_host $n)" USER=webuser PASSWORD=web-user-pw ADMIN=webadmin ADMIN_PASSWORD=web-admin-pw \
    HUB_USER=alice HUB_PASSWORD=alice-secret OUT="$shots" \
    timeout 300 /usr/bin/python3 "$E2E_DIR/console_browser.py" >"$WORK/console-browser.out" 2>"$WORK/console-browser.err"
  info "screenshots: $shots"
  local seen=0
  while IFS='|' read -r kind what detail; do
    case "$kind" in
      PASS) pass "console-browser: $what"; seen=$((seen + 1)) ;;
      FAIL) fail "console-browser: $what" "got: $detail" "log: $d/tollgate.log"; seen=$((seen + 1)) ;;
    esac
  done <"$WORK/console-browser.out"
  # what the browsers changed is in the audit log, with who and from where, and no secret
  tgc $n audit --json
  local audit
  audit=$(jq -r '.[] | "\(.actor) \(.address) \(.action) \(.target) \(.detail)"' "$WORK/cli.out" 2>&1)
  for want in "webadmin 127.0.0.1 user.set webuser plan=small" "webadmin 127.0.0.1 user.disable webuser" \
    "webuser 127.0.0.1 token.create webuser id " "webuser 127.0.0.1 token.revoke webuser id " \
    "webuser 127.0.0.1 upstream.login webuser docker.io as alice" "cli local user.set webadmin role=admin" \
    "webadmin 127.0.0.1 cache.evict docker.io/library/alpine:3.19 order "; do
    grep -qF -- "$want" <<<"$audit"
    verdict "console-browser: tollgate audit lists '$want…'" $? "got: $(head -c 900 <<<"$audit" | tr '\n' '|')"
  done
  ! grep -qE 'alice-secret|web-user-pw|tgp_' "$WORK/cli.out"
  verdict "console-browser: … and no password or token secret" $? "got: $(head -c 600 "$WORK/cli.out")"
  [ "$seen" -ge 20 ]
  verdict "console-browser: the browser script ran to the end ($seen assertions)" $? \
    "stderr tail: $(tail -c 800 "$WORK/console-browser.err" | tr '\n' ' ')"
  tg_stop $n
}

# cluster-console: the console's session lives in the cluster's database: made through the balancer,
# it opens pages on every node, and logout through one node ends it on all (curl with a cookie jar).
check_cluster_console() {
  cluster_up cluster-console || return
  cl_users cluster-console webc || return
  local lb jar="$WORK/cluster/console.jar" csrf code i n cookie
  lb=$(cl_lb_url)
  rm -f "$jar"
  csrf=$(curl -s -c "$jar" "$lb/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" \
    --data-urlencode "username=webc" --data-urlencode "password=webc-pw" "$lb/login")
  cookie=$(awk '$6 == "tollgate_session" {print $7}' "$jar")
  expect "cluster-console: logging in through the balancer → 303 and a session cookie" "303 yes" \
    "$code $([ -n "$cookie" ] && echo yes || echo no)" "request: POST $lb/login"
  for i in 0 1 2; do
    req -H "Cookie: tollgate_session=$cookie" "$(cl_url $i)/"
    expect "cluster-console: the session opens the overview on ${CL_NODES[$i]} directly" "200 yes" \
      "$RS $(grep -q 'Hello, webc' "$RB" && echo yes || echo no)" "request: $REQ" "$(got)"
  done
  for i in 1 2 3 4 5 6; do  # and through the balancer, whichever node answers
    req -H "Cookie: tollgate_session=$cookie" "$lb/activity"
    [ "$RS" = 200 ] || break
  done
  expect "cluster-console: six pages in a row through the balancer → 200 each" 200 "$RS" "request: $REQ" "$(got)"
  # logout on n2 (its form token: from a page of the session)
  csrf=$(curl -s -H "Cookie: tollgate_session=$cookie" "$(cl_url 1)/" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: tollgate_session=$cookie" --data-urlencode "csrf=$csrf" "$(cl_url 1)/logout")
  expect "cluster-console: logout on n2 → 303" 303 "$code" "request: POST $(cl_url 1)/logout"
  for i in 0 1 2; do
    req -H "Cookie: tollgate_session=$cookie" "$(cl_url $i)/"
    expect "cluster-console: … the session is over on ${CL_NODES[$i]} too (→ 303 to /login)" "303 /login" \
      "$RS $(hdr location)" "request: $REQ" "$(got)"
  done
  # the same in a real browser (headless Chromium): pages through the balancer land on several nodes
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
    fail "cluster-console: chromium, chromium-driver and python3-selenium are installed" "got: not all of them"
    return
  fi
  local mark kind what detail seen=0 used
  mark=$(cl_lb_mark)
  LB="$lb" NODES="$(for i in 0 1 2; do printf '%s ' "$(cl_url $i)"; done)" USER=webc PASSWORD=webc-pw \
    timeout 180 /usr/bin/python3 "$E2E_DIR/console_cluster_browser.py" >"$WORK/cluster/console-browser.out" 2>"$WORK/cluster/console-browser.err"
  while IFS='|' read -r kind what detail; do
    case "$kind" in
      PASS) pass "cluster-console: (browser) $what"; seen=$((seen + 1)) ;;
      FAIL) fail "cluster-console: (browser) $what" "got: $detail"; seen=$((seen + 1)) ;;
    esac
  done <"$WORK/cluster/console-browser.out"
  [ "$seen" -ge 9 ]
  verdict "cluster-console: (browser) the script ran to the end ($seen assertions)" $? \
    "stderr tail: $(tail -c 600 "$WORK/cluster/console-browser.err" | tr '\n' ' ')"
  used=$(cl_lb_since "$mark" | grep -E '"GET /(activity|tokens|credentials|setup)? HTTP' | grep -oE 'upstream=[0-9.:]+' | sort -u | wc -l)
  [ "$used" -ge 2 ]
  verdict "cluster-console: (browser) the balancer sent the browser's pages to $used nodes (≥ 2)" $? \
    "lb.log: $(cl_lb_since "$mark" | tail -12 | tr '\n' '|')"
}

# cluster-evict: `tollgate cache rm` on one node evicts from every node's cache: the order goes
# into the shared eviction log (PostgreSQL), each node applies it to its own disk and memory.
check_cluster_evict() {
  cluster_up cluster-evict || return
  cl_users cluster-evict evu || return
  local d="$WORK/cluster/evict" img dg raw parts=() held="" c n i rc out applied
  rm -rf "$d"; mkdir -p "$d"
  img=ghcr.io/cluster/evict-$RANDOM
  if ! dg=$(timeout 120 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/${img#ghcr.io/}:1" --layers 4 --layer-size 100000 \
    --seed "$img" 2>"$d/mk.err"); then
    fail "cluster-evict: (setup) push a fresh image to ghcr" "got: $(tail -c 300 "$d/mk.err")"; return
  fi
  raw=$(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$GHCR_HOST/${img#ghcr.io/}:1")
  mapfile -t parts < <(jq -r '.config.digest, .layers[].digest' <<<"$raw")
  timeout 120 skopeo copy -q --src-tls-verify=false --src-creds "$(cr evu)" "docker://$(cl_lb_host)/$img:1" "dir:$d/a" >"$d/sk.out" 2>&1 &&
    [ "$(sk_digest "$d/a")" = "$dg" ]
  verdict "cluster-evict: skopeo copies $img:1 through the balancer" $? "got: $(tail -c 300 "$d/sk.out")"
  for c in "$dg" "${parts[@]}"; do held+="$(cl_on_disk "$c") "; done
  info "nodes holding the manifest, config and layers: $held"
  [ -n "${held// /}" ]
  verdict "cluster-evict: (setup) the image's content is on the nodes' disks" $? "held: $held"

  tgc n1 cache rm "$img:1"; rc=$?
  out=$(head -1 "$WORK/cli.out")
  [ $rc = 0 ] && [[ "$out" == "evicted $img:1: "*" on this node; the other nodes apply order "*" themselves" ]]
  verdict "cluster-evict: rm $img:1 on n1 → exit 0, says the other nodes apply the order" $? "command: $CLI" "got: $(cli_got $rc)"
  for i in $(seq 50); do
    applied=0
    for n in "${CL_NODES[@]}"; do
      grep 'eviction order applied' "$WORK/tg/$n/tollgate.log" | grep -qF "scope=$img:1" && applied=$((applied + 1))
    done
    [ $applied = 3 ] && break
    sleep 0.1
  done
  expect "cluster-evict: … every node's log says it applied the order within 5 s" 3 "$applied" \
    "logs: $(for n in "${CL_NODES[@]}"; do grep -i 'evict' "$WORK/tg/$n/tollgate.log" | tail -1; done | tr '\n' ' ')"
  held=""
  for c in "$dg" "${parts[@]}"; do held+="$(cl_on_disk "$c")"; done
  expect "cluster-evict: … the manifest, config and layers are gone from every node's disk" "" "$held"
  rm -rf "$d/a"
  timeout 120 skopeo copy -q --src-tls-verify=false --src-creds "$(cr evu)" "docker://$(cl_lb_host)/$img:1" "dir:$d/a" >"$d/sk.out" 2>&1 &&
    [ "$(sk_digest "$d/a")" = "$dg" ]
  verdict "cluster-evict: … and the next copy through the balancer fetches it again, same digest" $? "got: $(tail -c 300 "$d/sk.out")"
  rm -rf "$d"
}

# console-ctr: the node-wide containerd snippet a new token's page shows (a hosts.toml whose
# [host."…".header] sends `Authorization: Basic <user:token>`) works as pasted: ctr pulls through a
# mirror with anonymous access off and no --user; without the header it is refused; after the
# token is revoked in the console the next pull is refused.
check_console_ctr() {
  local n=consolectr d="$WORK/tg/consolectr" C="$HARNESS/clients/containerd.sh" jar page csrf code env hosts id
  mkdir -p "$d"
  : >"$d/htpasswd"
  htpasswd -B -C 10 -b "$d/htpasswd" nodeuser node-user-pw 2>/dev/null
  tg_config $n "" "" "$(printf 'auth:\n  htpasswd: "%s"\n  anonymous: false\n  token: {key_dir: "%s"}\n' "$d/htpasswd" "$d/tokens")"
  tg_start_checked $n "console-ctr: tollgate with the console starts" || return
  jar="$d/jar" page="$d/page.html"
  rm -f "$jar"
  csrf=$(curl -s -c "$jar" "$(tg_url $n)/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -s -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" --data-urlencode username=nodeuser \
    --data-urlencode password=node-user-pw "$(tg_url $n)/login"
  csrf=$(curl -s -b "$jar" "$(tg_url $n)/tokens" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  code=$(curl -s -o "$page" -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode label=k8s-nodes \
    --data-urlencode expires=30d "$(tg_url $n)/tokens")
  hosts=$(/usr/bin/python3 - "$page" <<'PY'
import html, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<h3>containerd, node-wide[^<]*</h3>\s*<div class="copyable"><pre id="[^"]*">(.*?)</pre>', page, re.S)
print(html.unescape(m.group(1)) if m else "")
PY
)
  [ "$code" = 201 ] || [ "$code" = 200 ]
  grep -qE '^ *Authorization = "Basic [A-Za-z0-9+/=]+"$' <<<"$hosts"
  verdict "console-ctr: creating a token in the console shows a node-wide hosts.toml with an Authorization header" $? \
    "status $code; snippet: $(head -c 400 <<<"$hosts" | tr '\n' '|')"
  env=$(timeout 60 "$C" start 2>"$d/ctr.err") || { fail "console-ctr: private containerd starts" "$(tail -c 300 "$d/ctr.err")"; tg_stop $n; return; }
  eval "$env"
  echo "containerd $CTR_DIR" >>"$WORK/daemons"
  mkdir -p "$CTR_DIR/certs.d/docker.io"
  # as pasted, but the fallback server a closed loopback port (nothing may reach a real registry)
  sed 's|^server = .*|server = "http://127.0.0.1:9"|' <<<"$hosts" >"$CTR_DIR/certs.d/docker.io/hosts.toml"
  run_cmd "console-ctr: ctr pull docker.io/library/busybox:latest with the pasted hosts.toml, no --user" 180 \
    "$C" pull "$CTR_DIR" docker.io/library/busybox:latest &&
    expect "console-ctr: … digest = hub's" "$BUSYBOX_DIGEST" "$(ctr_digest docker.io/library/busybox:latest)"
  grep -v -e '\.header\]' -e 'Authorization' <<<"$hosts" | sed 's|^server = .*|server = "http://127.0.0.1:9"|' \
    >"$CTR_DIR/certs.d/docker.io/hosts.toml"
  ! timeout 60 "$C" pull "$CTR_DIR" docker.io/library/alpine:3.19 >"$d/noheader.out" 2>&1
  verdict "console-ctr: … without the header line the pull is refused (anonymous access is off)" $? "got: $(tail -c 300 "$d/noheader.out")"
  sed 's|^server = .*|server = "http://127.0.0.1:9"|' <<<"$hosts" >"$CTR_DIR/certs.d/docker.io/hosts.toml"
  id=$(grep -oE '/tokens/[A-Za-z0-9_-]+/revoke' "$page" | head -1)
  csrf=$(curl -s -b "$jar" "$(tg_url $n)/tokens" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data-urlencode "csrf=$csrf" "$(tg_url $n)$id")
  expect_match "console-ctr: revoking the token in the console" '^(200|303)$' "$code" "request: POST $id"
  sleep 1.2  # verified tokens are remembered for a second
  ! timeout 60 "$C" pull "$CTR_DIR" docker.io/library/alpine:3.19 >"$d/revoked.out" 2>&1
  verdict "console-ctr: … then the pull with the revoked token in the header is refused" $? "got: $(tail -c 300 "$d/revoked.out")"
  timeout 30 "$C" stop "$CTR_DIR"
  tg_stop $n
}
