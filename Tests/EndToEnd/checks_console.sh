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
    "webuser 127.0.0.1 upstream.login webuser docker.io as alice" "cli local user.set webadmin role=admin"; do
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
