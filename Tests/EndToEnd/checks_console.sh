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
