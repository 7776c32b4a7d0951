# checks_security_accounts.sh — the account-security checks (security-*); sourced by run.sh. One
# function check_security_NAME per check `security-NAME`, each on its own instance "sa-NAME"
# (auth on, anonymous off), stopped at the end of the check. Users are added with the CLI.
# Every loop is bounded in count and time.

# sa_up NAME LOCKOUT-FAILURES [PLANS-YAML] — write and start instance NAME (auth on, lockout
# window 5m, hub as docker.io); returns 1 (after one FAIL for NAME) if it does not start.
sa_up() {
  local n="$1" d="$WORK/tg/$1" auth
  mkdir -p "$d"
  : >"$d/htpasswd"
  auth=$(printf 'auth:\n  anonymous: false\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens", service: tollgate}\n  lockout: {failures: %s, window: 5m}\n' \
    "$d" "$d" "$2")
  tg_config "$n" "" "" "$auth" "${3:-}"
  tg_start "$n" 2>"$d/start.err" && return 0
  fail "security: instance $n starts" "config: $d/config.yaml" "got: $(tail -c 400 "$d/start.err" | tr '\n' ' ')"
  return 1
}

# sa_user NAME USER PASSWORD [COST] — `tollgate user add` (bcrypt cost 4 unless given). The
# running server sees it within its htpasswd reload interval (0.5 s): sleep 0.6 before using it.
sa_user() { echo "$3" | timeout 60 "$TOLLGATE_BIN" user add "$2" --password-stdin --cost "${4:-4}" \
  --config "$WORK/tg/$1/config.yaml" >/dev/null 2>&1; }

# sa_cli NAME ARGS... — the CLI against instance NAME; stdout in $WORK/cli.out, stderr in $WORK/cli.err.
sa_cli() {
  local n="$1"; shift
  timeout 60 "$TOLLGATE_BIN" "$@" --config "$WORK/tg/$n/config.yaml" >"$WORK/cli.out" 2>"$WORK/cli.err"
}

# sa_code URL [CURL-ARGS...] — only the HTTP status (bounded).
sa_code() { local u="$1"; shift; curl -s -o /dev/null --max-time 30 -w '%{http_code}' "$@" "$u"; }

# ---------------------------------------------------------------------------------------------

# A burst of parallel guesses gets at most `failures` verdicts (attempts take their slot before
# bcrypt), after which the right password is refused, and another user's login during a
# 300-guess burst (from other addresses) is not starved.
check_security_lockout_burst() {
  local c=security-lockout-burst n=sa-lockout u d evaluated out code secs burst i
  sa_up $n 5 || return
  u=$(tg_url $n) d="$WORK/tg/$n"
  sa_user $n victim 's3cret-42' 10; sa_user $n target 'target-pw' 10; sa_user $n other 'other-pw' 10
  sleep 0.6
  seq 1 60 | sed 's/^/guess/' >"$d/guesses"
  # 60 parallel wrong guesses from 127.0.0.2
  xargs -P 60 -I{} curl -s -o /dev/null --max-time 60 --interface 127.0.0.2 -w '%{http_code}\n' -u "victim:{}" "$u/v2/" \
    <"$d/guesses" >"$d/results"
  evaluated=$(grep -c '^401' "$d/results")
  info "60 parallel guesses: $(sort "$d/results" | uniq -c | tr '\n' ' ')"
  if [ "$evaluated" -le 5 ] && [ "$(grep -c '^429' "$d/results")" -ge 55 ]; then pass "$c: 60 parallel guesses → at most 5 verdicts (401), the rest 429"
  else fail "$c: 60 parallel guesses → at most 5 verdicts" "expected: ≤ 5 × 401, ≥ 55 × 429" \
    "got: $(sort "$d/results" | uniq -c | tr '\n' ' ')"; fi
  req -u victim:s3cret-42 --interface 127.0.0.3 "$u/v2/"
  if [ "$RS" = 429 ] && [ -n "$(hdr retry-after)" ]; then pass "$c: then the right password is refused (429 + Retry-After), from another address too"
  else fail "$c: then the right password is refused" "request: $REQ" "expected: 429 with Retry-After" "got: $(got)"; fi
  # 300 guesses at `target` from 127.0.0.4 (one curl, 100 connections at a time) while `other`
  # logs in from 127.0.0.5; the time is curl's own (not the machine's process start-up).
  for i in $(seq 1 300); do printf 'url = "%s/v2/"\nuser = "target:g%s"\noutput = "/dev/null"\n' "$u" "$i"; done >"$d/burst.cfg"
  timeout 120 curl -s --no-progress-meter --parallel --parallel-max 100 --max-time 60 --interface 127.0.0.4 -K "$d/burst.cfg" \
    -w '%{http_code}\n' >"$d/burst.out" 2>/dev/null &
  burst=$!
  sleep 0.3
  out=$(curl -s -o /dev/null --max-time 30 -w '%{http_code} %{time_total}' --interface 127.0.0.5 -u other:other-pw "$u/v2/")
  code=${out% *} secs=${out#* }
  wait $burst
  info "300 guesses: $(grep -o '^[0-9]*' "$d/burst.out" | sort | uniq -c | tr '\n' ' '); another user's login meanwhile: HTTP $code in ${secs}s"
  if [ "$code" = 200 ] && python3 -c "import sys; sys.exit(0 if $secs < 3 else 1)"; then
    pass "$c: another user's login during a 300-guess burst → 200 in ${secs}s (< 3 s)"
  else fail "$c: another user's login during a 300-guess burst is not starved" "expected: 200 in < 3 s" "got: HTTP $code in ${secs}s"; fi
  if [ "$(grep -c '^401' "$d/burst.out")" -le 5 ]; then pass "$c: the 300-guess burst got at most 5 verdicts"
  else fail "$c: the 300-guess burst got at most 5 verdicts" "got: $(grep -o '^[0-9]*' "$d/burst.out" | sort | uniq -c | tr '\n' ' ')"; fi
  tg_stop $n
}

# A refresh token obtained with a personal token records its origin, is listed as a login, never
# outlives the token and ends with it (seen by the running server within a second).
check_security_pat_refresh() {
  local c=security-pat-refresh n=sa-pat u pat patid r list login pexp lexp code at rpw rid
  sa_up $n 10 || return
  u=$(tg_url $n)
  sa_user $n dave dave-pw
  sleep 0.6
  sa_cli $n token create dave --label ci --expires 1d; pat=$(grep -o 'tgp_[A-Za-z0-9_-]*' "$WORK/cli.out")
  r=$(curl -s --max-time 30 -u "dave:$pat" "$u/token?service=tollgate&offline_token=true&client_id=ci-runner" | jq -r '.refresh_token // empty')
  sa_cli $n token list dave --json; list=$(cat "$WORK/cli.out")
  patid=$(jq -r '[.[] | select(.kind == "personal")][0].id' <<<"$list")
  login=$(jq -c '[.[] | select(.kind == "login")][0]' <<<"$list")
  pexp=$(jq -r '[.[] | select(.kind == "personal")][0].expires' <<<"$list"); lexp=$(jq -r '.expires' <<<"$login")
  if [ -n "$r" ] && [ "$(jq -r .origin <<<"$login")" = "$patid" ] && [ "$(jq -r .client <<<"$login")" = ci-runner ] &&
    [[ "$lexp" < "$pexp" || "$lexp" = "$pexp" ]]; then
    pass "$c: token list shows the login obtained with token $patid (client ci-runner, expires $lexp ≤ $pexp)"
  else fail "$c: token list shows the PAT's login with its origin and client" "got refresh: ${r:0:8}…; list: $list"; fi
  grant() { curl -s --max-time 30 -d "grant_type=refresh_token&refresh_token=$1&service=tollgate" "$u/token" | jq -r '.access_token // empty'; }
  at=$(grant "$r")
  code=$(sa_code "$u/v2/" -H "Authorization: Bearer $at")
  expect "$c: the refresh grant works while the token lives" 200 "$code"
  sa_cli $n token revoke "$patid"
  sleep 0.7
  at=$(grant "$r")
  if [ -z "$at" ]; then pass "$c: after 'token revoke $patid' the refresh grant is refused within 0.7 s"
  else fail "$c: revoking the PAT ends its refresh token" "expected: no access_token" "got: ${at:0:12}…"; fi
  sa_cli $n token list dave --json
  expect "$c: token list after the revoke is empty" "[]" "$(cat "$WORK/cli.out")"
  # a password login is listed and revocable too
  rpw=$(curl -s --max-time 30 -u dave:dave-pw "$u/token?service=tollgate&offline_token=true" | jq -r '.refresh_token // empty')
  sa_cli $n token list dave; rid=$(grep 'login with password' "$WORK/cli.out" | cut -f1)
  sa_cli $n token revoke "$rid"
  sleep 0.7
  at=$(grant "$rpw")
  if [ -n "$rid" ] && [ -z "$at" ]; then pass "$c: a password login is listed ('login with password') and 'token revoke' ends it"
  else fail "$c: a password login is listed and revocable" "list: $(tr '\n' '|' <"$WORK/cli.out")" "got access token after revoke: ${at:0:12}…"; fi
  tg_stop $n
}

# `user del` removes the user's audience: a new user of the same name with other upstream
# credentials is not served the old one's private content, catalog or tokens.
check_security_user_recreate() {
  local c=security-user-recreate n=sa-recreate u m l jwt acc="Accept: application/vnd.docker.distribution.manifest.v2+json"
  sa_up $n 10 || return
  u=$(tg_url $n)
  sa_user $n ci old-pw
  echo alice-secret | timeout 60 "$TOLLGATE_BIN" upstream login ci docker.io --username alice --password-stdin \
    --config "$WORK/tg/$n/config.yaml" >/dev/null 2>&1
  sleep 0.6
  req -u ci:old-pw -H "$acc" "$u/v2/private/app/manifests/1.0"
  l=$(jq -r '.layers[0].digest // empty' "$RB" 2>/dev/null)
  if [ "$RS" != 200 ] || [ -z "$l" ]; then fail "$c: old ci (hub alice) pulls private/app:1.0" "request: $REQ" "got: $(got)"; tg_stop $n; return; fi
  sa_code "$u/v2/private/app/blobs/$l" -u ci:old-pw >/dev/null
  sa_cli $n token create ci --label old >/dev/null
  jwt=$(curl -s --max-time 30 -u ci:old-pw "$u/token?service=tollgate&scope=repository:private/app:pull" | jq -r '.token // empty')
  sa_cli $n user del ci
  verdict "$c: user del ci" $? "got: $(cat "$WORK/cli.out" "$WORK/cli.err" | tr '\n' ' ')"
  sa_user $n ci new-pw
  echo bob-secret | timeout 60 "$TOLLGATE_BIN" upstream login ci docker.io --username bob --password-stdin \
    --config "$WORK/tg/$n/config.yaml" >/dev/null 2>&1
  sleep 1.2  # past the server's usage flush (1 s): old counts would be back in the store by now
  sa_cli $n usage ci --json
  if grep -q '"requests":0' "$WORK/cli.out" && ! grep -q '"requests":[1-9]' "$WORK/cli.out"; then pass "$c: new ci has none of the old usage"
  else fail "$c: new ci has none of the old usage" "got: $(head -c 300 "$WORK/cli.out")"; fi
  m=$(sa_code "$u/v2/private/app/manifests/$PRIVATE_DIGEST" -u ci:new-pw -H "$acc")
  expect_match "$c: new ci (hub bob) GET private/app manifest by digest → refused (cached bytes not served)" '^40[134]$' "$m"
  m=$(sa_code "$u/v2/private/app/blobs/$l" -u ci:new-pw)
  expect_match "$c: new ci GET the private layer → refused" '^40[134]$' "$m"
  req -u ci:new-pw "$u/v2/_catalog"
  if [ "$RS" = 200 ] && ! grep -q private "$RB"; then pass "$c: new ci's catalog has no private/app"
  else fail "$c: new ci's catalog has no private/app" "got: $(got)"; fi
  sa_cli $n token list ci --json
  expect "$c: new ci has none of the old tokens" "[]" "$(cat "$WORK/cli.out")"
  if [ -n "$jwt" ]; then expect "$c: old ci's bearer token is refused for the new ci" 401 "$(sa_code "$u/v2/" -H "Authorization: Bearer $jwt")"
  else fail "$c: old ci gets a bearer token" "got: none"; fi
  tg_stop $n
}

# /token counts against the caller's requests_per_minute, validates client_id, caps the live
# refresh tokens per user and answers an oversized POST with 413.
check_security_token_endpoint() {
  local c=security-token-endpoint n=sa-token u codes ok long body logins i
  sa_up $n 1000 "$(printf 'plans: {default: {}, anonymous: {}, tiny: {requests_per_minute: 10}}\ndefault_plan: default')" || return
  u=$(tg_url $n)
  sa_user $n bob bob-pw; sa_user $n carl carl-pw
  sa_cli $n user set bob --plan tiny
  sleep 0.6
  codes=$(for i in $(seq 1 15); do sa_code "$u/token?service=tollgate" -u bob:bob-pw; echo; done | sort | uniq -c | tr '\n' ' ')
  ok=$(grep -o '[0-9]* 200' <<<"$codes" | cut -d' ' -f1)
  if [ "${ok:-0}" -le 10 ] && [[ "$codes" == *429* ]]; then pass "$c: 15 /token requests of a 10/min user → ≤ 10 × 200, then 429 ($codes)"
  else fail "$c: /token counts against requests_per_minute" "expected: ≤ 10 × 200 and 429s" "got: $codes"; fi
  req -u bob:bob-pw "$u/token?service=tollgate"
  if [ "$RS" = 429 ] && [ -n "$(hdr retry-after)" ] && [ "$(jq -r .error "$RB" 2>/dev/null)" = too_many_requests ]; then
    pass "$c: the refusal is 429 + Retry-After + an OAuth error"
  else fail "$c: the refusal is 429 + Retry-After + an OAuth error" "got: $(got)"; fi
  long=$(head -c 65 /dev/zero | tr '\0' A)
  req -u carl:carl-pw "$u/token?service=tollgate&offline_token=true&client_id=$long"
  if [ "$RS" = 400 ] && [ "$(jq -r .error "$RB" 2>/dev/null)" = invalid_request ]; then pass "$c: a 65-character client_id → 400 invalid_request"
  else fail "$c: a 65-character client_id → 400 invalid_request" "got: $(got)"; fi
  req -u carl:carl-pw "$u/token?service=tollgate&offline_token=true&client_id=a%0Ab"
  expect "$c: a client_id with a line break → 400" 400 "$RS" "got: $(got)"
  body="$WORK/tg/$n/big.form"; head -c $((2 << 20)) /dev/zero | tr '\0' a >"$body"
  req -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$body" "$u/token"
  expect "$c: a 2 MiB POST /token → 413" 413 "$RS" "got: $(got)"
  for i in $(seq 1 55); do curl -s -o /dev/null --max-time 30 -u carl:carl-pw "$u/token?service=tollgate&offline_token=true&client_id=c$i"; done
  sa_cli $n token list carl --json
  logins=$(jq '[.[] | select(.kind == "login")] | length' "$WORK/cli.out" 2>/dev/null)
  if [ "$logins" = 50 ] && jq -e '[.[] | select(.kind == "login") | .client] | index("c55") != null and index("c5") == null' "$WORK/cli.out" >/dev/null; then
    pass "$c: 55 offline logins → the newest 50 live (oldest ended)"
  else fail "$c: live refresh tokens capped at 50, oldest ended first" "got: $logins logins; $(head -c 200 "$WORK/cli.out")"; fi
  tg_stop $n
}

# Unknown users cost what known ones do: the dummy hash follows the file's bcrypt cost (here
# Apache `htpasswd -B`'s default, 5). 9 samples each, medians within 2.5×.
check_security_user_timing() {
  local c=security-user-timing n=sa-timing u k x
  command -v htpasswd >/dev/null || { fail "$c: needs htpasswd (apache2-utils)"; return; }
  sa_up $n 1000 || return
  u=$(tg_url $n)
  htpasswd -B -b "$WORK/tg/$n/htpasswd" realuser 'S3cret!' 2>/dev/null
  sleep 0.6
  med() { for i in $(seq 1 9); do curl -s -o /dev/null --max-time 10 -w '%{time_total}\n' -u "$1:wrong$i" "$u/v2/"; done | sort -n | sed -n 5p; }
  sa_code "$u/v2/" -u realuser:warmup >/dev/null
  k=$(med realuser); x=$(med nosuchuser)
  info "median wrong-password answer: existing user ${k}s, unknown user ${x}s"
  if python3 -c "import sys; k,x=$k,$x; sys.exit(0 if max(k,x)/max(min(k,x),1e-4) <= 2.5 else 1)"; then
    pass "$c: known ${k}s vs unknown ${x}s (within 2.5×)"
  else fail "$c: known and unknown users answer in the same time" "expected: medians within 2.5×" "got: known ${k}s, unknown ${x}s"; fi
  tg_stop $n
}
