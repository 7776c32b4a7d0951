# checks_limits.sh — the per-user quota / rate limit / usage accounting checks (limits-*); sourced
# by run.sh after checks_auth.sh (it uses tgc, cli_got, until_status, from, run_fails, sk_digest
# from there and resp_is, run_cmd from checks.sh). One function check_limits_NAME per check
# `limits-NAME`.
#
# Instances (started on first use, shared by the checks, stopped by run.sh's cleanup):
#   limits      auth.anonymous: true + htpasswd + token; the plans below; metrics allowed to
#               127.0.0.1/32 and ::1 only. curl sends Basic credentials up front, so the curl-driven
#               checks are per user here, and anonymous callers are limited per address.
#   limitsauth  the same with auth.anonymous: false: real clients (skopeo, ctr) only send credentials
#               after a 401 challenge, so the client-driven checks (limits-pulls, limits-usage) run
#               here. limits-pulls also asserts that skopeo --src-creds is counted for the user on
#               the anonymous: true instance.
#   limitsoff   limits.enabled: false (limits-off); limitscfg: a config file only (limits-config).
# Users are made with `tollgate user add --cost 4` and put on a plan with `tollgate user set`, each
# check using its own users, so the checks can run alone or in any order. Password: NAME-pw.

LIM_PLANS_YAML=$(cat <<'EOF'
plans:
  free: {requests_per_minute: 60, pulls_per_6h: 3, bytes_per_day: 1GiB, bytes_per_month: 10GiB, concurrent_transfers: 2}
  rpm30: {requests_per_minute: 30}
  par: {requests_per_minute: 1000, pulls_per_6h: 30}
  bytes: {requests_per_minute: 600, bytes_per_day: 20KiB}
  bigbytes: {requests_per_minute: 600, bytes_per_day: 100MiB}
  month: {requests_per_minute: 600, bytes_per_month: 3KiB}
  conc: {requests_per_minute: 600, concurrent_transfers: 1}
  big: {requests_per_minute: 600, pulls_per_6h: 100}
  roomy: {}
  anonymous: {requests_per_minute: 5}
default_plan: free
metrics: {enabled: true, allow: ["127.0.0.1/32", "::1/128"]}
limits: {enabled: true}
EOF
)
# NAME:PLAN (free is the default plan: no `user set`)
LIM_USERS=(warm:roomy hdr:free nolim:roomy skopuser:free rpm:rpm30 par:par bytes1:bytes bytes2:bigbytes month1:month conc1:conc
  conc2:conc iso1:free iso2:free anonu:free setter:free metric:free rst:free)
LIMAUTH_USERS=(warm:roomy puller:free acct:roomy)

# ---------------------------------------------------------------------------------------------
# instances

# lim_auth_yaml NAME ANON — the auth block (anonymous ANON, htpasswd, token key dir).
lim_auth_yaml() {
  printf 'auth:\n  anonymous: %s\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}\n' "$2" "$WORK/tg/$1" "$WORK/tg/$1"
}

# lim_window_guard — the 6-hour pull windows (and the UTC day) turn at 00/06/12/18 UTC; a check
# running across that instant would see its counts reset. Less than 100 s before it, wait it out.
lim_window_guard() {
  local left=$((21600 - $(date -u +%s) % 21600))
  if [ "$left" -lt 100 ]; then
    info "a 6-hour window ends in $left s: waiting for it so that no check straddles it"
    sleep $((left + 2))
  fi
}

# lim_up NAME CHECK ANON USER:PLAN... — start instance NAME (anonymous ANON) unless it runs: config,
# users (CLI), plans (CLI), serve. Then require GET /usage to answer 200 JSON for user warm (else
# one FAIL "CHECK: …" and return 1: the binary has no limits feature).
lim_up() {
  local name="$1" check="$2" anon="$3" d="$WORK/tg/$1" up u p rc; shift 3
  if ! tg_alive "$name"; then
    lim_window_guard
    mkdir -p "$d"
    if [ ! -f "$d/users.done" ]; then
      tg_config "$name" "" "" "$(lim_auth_yaml "$name" "$anon")" "$LIM_PLANS_YAML"
      : >"$d/htpasswd"
      for up in "$@"; do
        u=${up%%:*} p=${up#*:}
        tgc "$name" user add "$u" --password-stdin --cost 4 <<<"$u-pw"; rc=$?
        if [ $rc != 0 ]; then fail "$check: (setup) user add $u" "command: $CLI" "got: $(cli_got $rc)"; return 1; fi
        if [ "$p" != free ]; then
          tgc "$name" user set "$u" --plan "$p"; rc=$?
          if [ $rc != 0 ]; then fail "$check: (setup) user set $u --plan $p" "command: $CLI" "got: $(cli_got $rc)"; return 1; fi
        fi
      done
      touch "$d/users.done"
    fi
    if ! tg_start "$name" 2>"$d/start.err"; then
      fail "$check: (setup) tollgate with plans starts" "command: $TOLLGATE_BIN serve --config $d/config.yaml" \
        "got: $(tail -c 600 "$d/start.err" | tr '\n' ' ')"
      return 1
    fi
  fi
  req -u warm:warm-pw "$(tg_url "$name")/usage"
  if [ "$RS" = 200 ] && [ "$(jq -r '.user' "$RB" 2>/dev/null)" = warm ]; then return 0; fi
  fail "$check: (setup) the binary has per-user limits (GET /usage as warm → 200 {\"user\": \"warm\", …})" \
    "request: $REQ" "got: $(got)"
  return 1
}

limits_up() { lim_up limits "$1" true "${LIM_USERS[@]}"; }
limitsauth_up() { lim_up limitsauth "$1" false "${LIMAUTH_USERS[@]}"; }

# lim_warm NAME — have the blobs and manifests the checks use in NAME's cache (as user warm, once),
# so that timings and sources do not depend on upstream fills.
lim_warm() {
  local U d="$WORK/tg/$1" p
  [ -f "$d/warm.done" ] && return 0
  U=$(tg_url "$1")
  for p in library/alpine/manifests/3.19 "library/alpine/manifests/$ALPINE_DIGEST" library/busybox/manifests/latest \
    "library/alpine/blobs/$SMALL_BLOB" "library/alpine/blobs/$ALPINE_LAYER2" "library/alpine/blobs/$ALPINE_CONFIG" \
    "library/busybox/blobs/$BUSYBOX_LAYER" "$BIG_BLOB_REPO/blobs/$BIG_BLOB"; do
    curl -s -o /dev/null --max-time 60 -u warm:warm-pw "${ACCEPT_ALL[@]}" "$U/v2/$p"
  done
  touch "$d/warm.done"
}

# alpine's blobs and sizes, from its manifest on hub (once per check: checks run in subshells)
lim_alpine_blobs() {
  [ -n "${ALPINE_CONFIG:-}" ] && return 0
  local raw
  raw=$(timeout 30 skopeo inspect --raw --tls-verify=false --creds "$HUB_ADMIN" "docker://$HUB_HOST/library/alpine:3.19")
  ALPINE_CONFIG=$(jq -r '.config.digest' <<<"$raw") ALPINE_CONFIG_SIZE=$(jq -r '.config.size' <<<"$raw")
  ALPINE_LAYER2=$(jq -r '.layers[1].digest' <<<"$raw") ALPINE_LAYER2_SIZE=$(jq -r '.layers[1].size' <<<"$raw")
  SMALL_BLOB_SIZE=$(jq -r '.layers[0].size' <<<"$raw")
}

# ---------------------------------------------------------------------------------------------
# requests and judgements

cr() { printf '%s:%s-pw' "$1" "$1"; }

# lget NAME USER PATH [CURL-ARGS...] — `req` GET of PATH on instance NAME as USER (Basic, manifest Accept).
# afrom IP URL [curl args] — an anonymous request from source address IP, the way registry clients
# make it: with anonymous access on, a request without credentials gets the Bearer challenge, so
# first fetch an anonymous token from /token (from the same address), then send it.
declare -A AFROM_TOKEN=()
afrom() {
  local ip="$1" url="${@: -1}" base tok
  base=${url%%/v2/*}; base=${base%%/usage*}; base=${base%%/metrics*}
  # One token per address and instance, reused as clients do (/token counts against the address too).
  tok=${AFROM_TOKEN["$ip $base"]:-}
  if [ -z "$tok" ]; then
    tok=$(curl -s --max-time 10 --interface "$ip" "$base/token?service=tollgate&scope=repository:library/alpine:pull" \
      | jq -r '.token // empty' 2>/dev/null)
    AFROM_TOKEN["$ip $base"]=$tok
  fi
  shift
  req --interface "$ip" -H "Authorization: Bearer $tok" "$@"
}

lget() { local n="$1" u="$2" p="$3"; shift 3; req -u "$(cr "$u")" "${ACCEPT_ALL[@]}" "$@" "$(tg_url "$n")$p"; }

# usage_of NAME USER [QUERY] — GET /usage as USER; the body is kept in $WORK/lim.usage.json.
usage_of() {
  req -u "$(cr "$2")" "$(tg_url "$1")/usage${3:-}"
  cp "$RB" "$WORK/lim.usage.json"
  USAGE_REQ=$REQ USAGE_RS=$RS
}

# uj FILTER — jq -c FILTER on the last /usage body.
uj() { jq -c "$1" "$WORK/lim.usage.json" 2>&1; }

# uexpect NAME FILTER EXPECTED — a value of the last /usage body.
uexpect() {
  expect "$1" "$3" "$(uj "$2")" "request: $USAGE_REQ (status $USAGE_RS)" "jq: $2" \
    "body: $(head -c 700 "$WORK/lim.usage.json" | tr '\n' ' ')"
}

# detail — errors[0].detail of the last body.
detail() { jq -r '.errors[0].detail // "<none>"' "$RB" 2>/dev/null || echo "<not JSON>"; }

# refused NAME DETAIL [RA-MIN RA-MAX] — the last response is 429 TOOMANYREQUESTS with
# errors[0].detail = DETAIL and Retry-After: a whole number in [RA-MIN, RA-MAX] (default 1..31 days).
refused() {
  local name="$1" want="$2" lo="${3:-1}" hi="${4:-2678400}" ra problems=()
  [ "$RS" = 429 ] || problems+=("status: expected 429, got $RS")
  [ "$(errcode)" = TOOMANYREQUESTS ] || problems+=("errors[0].code: expected TOOMANYREQUESTS, got $(errcode)")
  [ "$(detail)" = "$want" ] || problems+=("errors[0].detail: expected $want, got $(detail)")
  ra=$(hdr retry-after)
  { [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge "$lo" ] && [ "$ra" -le "$hi" ]; } ||
    problems+=("Retry-After: expected a whole number of seconds in $lo..$hi, got '${ra}'")
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"; info "Retry-After: $ra; $(jq -r '.errors[0].message' "$RB" 2>/dev/null)"
  else fail "$name" "request: $REQ" "${problems[@]}" "response: $(got)"; fi
}

# ratelimit_is NAME LIMIT REMAINING — RateLimit-Limit: LIMIT;w=21600 and RateLimit-Remaining:
# REMAINING on the last response ('-' = the header must be absent).
ratelimit_is() {
  local name="$1" l r problems=()
  l=$(hdr ratelimit-limit) r=$(hdr ratelimit-remaining)
  if [ "$2" = - ]; then
    [ -z "$l" ] || problems+=("RateLimit-Limit: expected no header, got '$l'")
    [ -z "$r" ] || problems+=("RateLimit-Remaining: expected no header, got '$r'")
  else
    [ "$l" = "$2;w=21600" ] || problems+=("RateLimit-Limit: expected '$2;w=21600', got '${l:-<none>}'")
    [ "$r" = "$3" ] || problems+=("RateLimit-Remaining: expected '$3', got '${r:-<none>}'")
  fi
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"; else fail "$name" "request: $REQ" "${problems[@]}" "response: $(got)"; fi
}

# late_in_second — sleep until about 0.9 s into a wall-clock second (the curl that follows then lands
# before the next second). A user's first request
# made then starts their windows late in a second, which makes an off-by-one in resets_at /
# Retry-After (whole wall seconds mixed with monotonic time) show on every later request, instead of
# on a random share of them.
late_in_second() {
  local ms; ms=$((10#$(date +%N) / 1000000))
  if [ "$ms" -lt 880 ]; then sleep "$(printf '0.%03d' $((900 - ms)))"
  elif [ "$ms" -gt 920 ]; then sleep "$(printf '%d.%03d' $(((1900 - ms) / 1000)) $(((1900 - ms) % 1000)))"; fi
  return 0
}

# iso_ts EPOCH — RFC 3339 UTC (2026-11-25T18:00:00Z)
iso_ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# window_end_6h — end of the current 6-hour window (epoch seconds)
window_end_6h() { local n; n=$(date -u +%s); echo $((n - n % 21600 + 21600)); }

# window_is NAME INST USER KEY START END — /usage .current.KEY as USER, sampled 5 times over ~1 s
# (the second's fraction varies): window_start = START, resets_at = END (the window's end),
# resets_in_seconds = END − now, rounded up (now − 1 .. now + 1 allowed).
window_is() {
  local name="$1" inst="$2" user="$3" key="$4" start="$5" end="$6" i ws ra rin t0 t1 problems=() seen=""
  for i in 1 2 3 4 5; do
    t0=$(date -u +%s)
    usage_of "$inst" "$user"
    t1=$(date -u +%s)
    ws=$(jq -r ".current.$key.window_start" "$WORK/lim.usage.json") ra=$(jq -r ".current.$key.resets_at" "$WORK/lim.usage.json")
    rin=$(jq -r ".current.$key.resets_in_seconds" "$WORK/lim.usage.json")
    seen+="[$ra, $rin] "
    [ "$ws" = "$(iso_ts "$start")" ] || problems+=("sample $i: window_start: expected $(iso_ts "$start"), got $ws")
    [ "$ra" = "$(iso_ts "$end")" ] || problems+=("sample $i: resets_at: expected $(iso_ts "$end") (the window's end), got $ra")
    { [[ "$rin" =~ ^[0-9]+$ ]] && [ "$rin" -ge $((end - t1)) ] && [ "$rin" -le $((end - t0)) ]; } ||
      problems+=("sample $i: resets_in_seconds: expected $((end - t1))..$((end - t0)), got $rin")
    sleep 0.21
  done
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"
  else fail "$name" "request: $USAGE_REQ (5 samples)" "${problems[@]}" "[resets_at, resets_in_seconds] seen: $seen"; fi
}

# mval FILE NAME [K=V]... — sum of the samples of metric NAME whose labels include every K="V"
# ('' when there is no such series).
mval() {
  local f="$1" n="$2"; shift 2
  awk -v n="$n" -v want="$*" '
    BEGIN { k = split(want, w, " ") }
    index($0, n "{") == 1 || ($1 == n && k == 0) {
      lab = ""; if (index($0, "{")) { lab = substr($0, index($0, "{") + 1); lab = substr(lab, 1, index(lab, "}") - 1) }
      ok = 1
      for (i = 1; i <= k; i++) { p = index(w[i], "="); kv = substr(w[i], 1, p - 1) "=\"" substr(w[i], p + 1) "\""
        if (index("," lab ",", "," kv ",") == 0) ok = 0 }
      if (ok) { s += $NF; found = 1 }
    }
    END { if (found) printf "%d", s }' "$f"
}

# metric_is NAME INST WANT METRIC K=V... — scrape INST's /metrics (from 127.0.0.1); the sum of the
# matching series must be WANT (a number, or ">=N").
metric_is() {
  local name="$1" inst="$2" want="$3" m="$4" g ok=1; shift 4
  curl -s --max-time 10 -o "$WORK/lim.metrics" "$(tg_url "$inst")/metrics"
  g=$(mval "$WORK/lim.metrics" "$m" "$@")
  if [[ "$want" == ">="* ]]; then [[ "$g" =~ ^[0-9]+$ ]] && [ "$g" -ge "${want#>=}" ] || ok=0
  else [ "$g" = "$want" ] || ok=0; fi
  if [ $ok = 1 ]; then pass "$name"
  else fail "$name" "request: GET $(tg_url "$inst")/metrics" "expected: $m{$*} $want" "got: ${g:-<no such series>}" \
    "series: $(grep -F "$m{" "$WORK/lim.metrics" | grep -F "user=\"${1#user=}\"" | head -6 | tr '\n' ' ')"; fi
}

# cli_err1 NAME CMD-ARGS... — the CLI (instance limits) exits 1 with exactly one stderr line
# starting "tollgate: " and nothing on stdout.
cli_err1() {
  local name="$1" rc n first; shift
  tgc limits "$@" </dev/null; rc=$?
  n=$(grep -c . "$WORK/cli.err") first=$(head -1 "$WORK/cli.err")
  if [ $rc = 1 ] && [ "$n" = 1 ] && [[ "$first" == "tollgate: "* ]] && [ ! -s "$WORK/cli.out" ]; then
    pass "$name"; info "$first"
  else
    fail "$name" "command: $CLI" "expected: exit 1, one stderr line 'tollgate: …', empty stdout" \
      "got: $(cli_got $rc); stderr lines: $n"
  fi
}

# wait_size FILE BYTES SECONDS — until FILE holds at least BYTES (0.05 s steps).
wait_size() {
  local i
  for i in $(seq $(($3 * 20))); do
    [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# slow_get NAME USER RATE OUT — background curl (pid SLOW_PID) of the 64 MiB blob at RATE into
# OUT; its -w summary (status size) goes to OUT.w.
slow_get() {
  local U; U=$(tg_url "$1")
  rm -f "$4" "$4.w" "$4.err"
  curl -sS --max-time 60 --limit-rate "$3" -u "$(cr "$2")" -o "$4" -w '%{http_code} %{size_download}' \
    "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" >"$4.w" 2>"$4.err" &
  SLOW_PID=$!
}

# slow_done NAME OUT — wait for the slow_get (bounded by its --max-time) and judge it: 200, the
# whole 64 MiB, right digest.
slow_done() {
  local name="$1" out="$2" w rc sha
  wait "$SLOW_PID"; rc=$?
  w=$(cat "$out.w" 2>/dev/null)
  sha="sha256:$(sha256sum <"$out" 2>/dev/null | cut -d' ' -f1)"
  if [ "$rc" = 0 ] && [ "$w" = "200 $BIG_BLOB_SIZE" ] && [ "$sha" = "$BIG_BLOB" ]; then pass "$name"
  else fail "$name" "request: curl --limit-rate … GET /v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" \
    "expected: curl exit 0, status 200, $BIG_BLOB_SIZE bytes, digest $BIG_BLOB" \
    "got: curl exit ${rc:-?}, status/size ${w:-?}, digest $sha; $(head -c 200 "$out.err" 2>/dev/null)"; fi
  rm -f "$out"
}

# ---------------------------------------------------------------------------------------------
# limits-pulls: a user with pulls_per_6h: 3 pulls three images with skopeo; the fourth is refused.
check_limits_pulls() {
  limitsauth_up limits-pulls || return
  local U H d="$WORK/limits-pulls" i img want msg end ra
  U=$(tg_url limitsauth) H=$(tg_host limitsauth)
  rm -rf "$d"; mkdir -p "$d"
  late_in_second
  req -u "$(cr puller)" "$U/v2/"
  resp_is "limits-pulls: GET /v2/ as puller (made late in a wall-clock second) → 200" 200
  local imgs=("library/alpine:3.19|$ALPINE_DIGEST" "library/busybox:latest|$BUSYBOX_DIGEST" "ghcr.io/org/tool:v1|$TOOL_DIGEST")
  for i in 1 2 3; do
    img=${imgs[$((i - 1))]%%|*} want=${imgs[$((i - 1))]#*|}
    run_cmd "limits-pulls: skopeo copy #$i --src-creds puller:… $img (pulls_per_6h: 3)" 120 \
      skopeo copy -q --src-tls-verify=false --src-creds "$(cr puller)" "docker://$H/$img" "dir:$d/$i" &&
      expect "limits-pulls: copy #$i manifest digest" "$want" "$(sk_digest "$d/$i")"
    usage_of limitsauth puller
    uexpect "limits-pulls: after copy #$i (single-arch: one manifest GET) /usage pulls_per_6h.used = $i" \
      '.current.pulls_per_6h.used' "$i"
  done
  # c/image retries a 429 itself (5 tries, sleeping Retry-After capped at 60 s): --command-timeout
  # ends it after the first refusal, which --debug logs as "Too many requests to …".
  run_fails "limits-pulls: skopeo copy #4 (library/alpine:3.19 again) fails" 30 \
    skopeo --debug --command-timeout 2s copy -q --src-tls-verify=false --src-creds "$(cr puller)" \
    "docker://$H/library/alpine:3.19" "dir:$d/4"
  grep -qiE 'too ?many ?requests|429' "$WORK/cmd.out"
  verdict "limits-pulls: … skopeo was answered 429 (debug log: 'Too many requests to …/manifests/3.19')" $? \
    "got: $(grep -vE 'level=debug msg=\"(Trying|Using|Loading|IsRunningImageAllowed|Policy|Requirement|Overall|Returning|No credentials|Looking|GET|HEAD|Ping)' "$WORK/cmd.out" | tail -c 600 | tr '\n' ' ')"
  if [ -d "$d/4" ] && [ -f "$d/4/manifest.json" ]; then fail "limits-pulls: … and wrote no manifest" "got: $d/4/manifest.json exists"; fi

  lget limitsauth puller /v2/library/busybox/manifests/latest
  end=$(window_end_6h)
  refused "limits-pulls: curl GET manifest → 429 TOOMANYREQUESTS, detail pulls_per_6h, Retry-After ≤ 6 h" \
    pulls_per_6h 1 21600
  ratelimit_is "limits-pulls: … with RateLimit-Limit: 3;w=21600, RateLimit-Remaining: 0" 3 0
  # 5 refusals over ~1 s: Retry-After and the message's "at …" are the window's end each time
  local probs=() t0 t1
  for i in 1 2 3 4 5; do
    t0=$(date -u +%s)
    lget limitsauth puller /v2/library/alpine/manifests/3.19
    t1=$(date -u +%s)
    msg=$(jq -r '.errors[0].message' "$RB" 2>/dev/null) ra=$(hdr retry-after)
    [[ "$msg" == *"3 pulls per 6 hours"* && "$msg" == *"plan free"* && "$msg" == *" at $(iso_ts "$end")"* ]] ||
      probs+=("refusal $i: message: expected '… 3 pulls per 6 hours (plan free) … at $(iso_ts "$end")', got '$msg'")
    { [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge $((end - t1)) ] && [ "$ra" -le $((end - t0)) ]; } ||
      probs+=("refusal $i: Retry-After: expected $((end - t1))..$((end - t0)) (seconds to $(iso_ts "$end"), rounded up), got '$ra'")
    sleep 0.21
  done
  local vname="limits-pulls: 5 refusals over 1 s: message names limit, plan and the window's end ($(iso_ts "$end")); Retry-After counts to it"
  [ ${#probs[@]} = 0 ]
  verdict "$vname" $? \
    "request: $REQ" "${probs[@]}"
  usage_of limitsauth puller
  uexpect "limits-pulls: refused pulls are not counted: /usage pulls_per_6h {limit, used, remaining} = {3, 3, 0}" \
    '.current.pulls_per_6h | [.limit, .used, .remaining]' '[3,3,0]'

  # the same with anonymous pulls allowed: the client's credentials must still be used
  limits_up limits-pulls || return
  H=$(tg_host limits)
  local M; M=$(tg_mark limits)
  # Taken for anonymous, the copy meets the anonymous plan (5 requests/min from 127.0.0.1) and
  # c/image sleeps out Retry-After: --command-timeout bounds that, and its result is only shown.
  local crc
  timeout 30 skopeo --command-timeout 5s copy -q --src-tls-verify=false --src-creds "$(cr skopuser)" \
    "docker://$H/library/alpine:3.19" "dir:$d/anon" >"$WORK/cmd.out" 2>&1
  crc=$?
  usage_of limits skopuser
  uexpect "limits-pulls: (anonymous: true instance) skopeo copy --src-creds skopuser:… alpine is counted for the user: /usage pulls_per_6h.used = 1" \
    '.current.pulls_per_6h.used' 1
  [ "$(uj '.current.pulls_per_6h.used')" = 1 ] || {
    info "skopeo exit $crc: $(tail -c 200 "$WORK/cmd.out" | tr '\n' ' ')"
    info "access log of that copy: $(al limits "$M" | grep -vF /usage | sed 's/.*access //' | head -6 | tr '\n' ' ')"
  }
  rm -rf "$d"
}

# ---------------------------------------------------------------------------------------------
# limits-headers: RateLimit-* headers; HEAD, blobs and failed manifest GETs do not count.
check_limits_headers() {
  limits_up limits-headers || return
  lim_alpine_blobs; lim_warm limits
  local P=/v2/library/alpine/manifests/3.19 end
  late_in_second
  lget limits hdr "$P" -I
  resp_is "limits-headers: HEAD manifest (hdr, plan free) → 200" 200
  ratelimit_is "limits-headers: … RateLimit-Limit: 3;w=21600, RateLimit-Remaining: 3" 3 3
  lget limits hdr "$P" -I
  ratelimit_is "limits-headers: a second HEAD does not count (Remaining still 3)" 3 3
  lget limits hdr /v2/
  resp_is "limits-headers: GET /v2/ → 200" 200
  ratelimit_is "limits-headers: … carries the headers too (Remaining 3)" 3 3
  lget limits hdr "$P"
  resp_is "limits-headers: GET manifest → 200" 200 sha="$ALPINE_DIGEST"
  ratelimit_is "limits-headers: … counts: Remaining 2" 3 2
  lget limits hdr "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-headers: GET blob → 200" 200 sha="$SMALL_BLOB"
  ratelimit_is "limits-headers: … does not count a pull (Remaining 2)" 3 2
  lget limits hdr /v2/library/alpine/manifests/no-such-tag
  resp_is "limits-headers: GET manifest of an unknown tag → 404 MANIFEST_UNKNOWN" 404 code=MANIFEST_UNKNOWN
  ratelimit_is "limits-headers: … is refunded: its RateLimit-Remaining is 2" 3 2
  lget limits hdr "/v2/library/alpine/manifests/sha256:$(printf '0%.0s' $(seq 64))"
  resp_is "limits-headers: GET manifest of an unknown digest → 404" 404
  lget limits hdr "$P" -I
  ratelimit_is "limits-headers: after both 404s a HEAD shows Remaining 2" 3 2
  usage_of limits hdr
  uexpect "limits-headers: /usage pulls_per_6h.used = 1 (1 GET; HEADs, blob, 404s not counted)" '.current.pulls_per_6h.used' 1
  uexpect "limits-headers: /usage usage.total.pulls = 1" '.usage.total.pulls' 1
  end=$(window_end_6h)
  window_is "limits-headers: /usage pulls_per_6h: window_start 6-hour aligned, resets_at = its end, resets_in_seconds to it (hdr's first request came late in a second)" \
    limits hdr pulls_per_6h $((end - 21600)) "$end"
  lget limits nolim "$P" -I
  resp_is "limits-headers: HEAD manifest by a user whose plan has no pull limit → 200" 200
  ratelimit_is "limits-headers: … without RateLimit-Limit / RateLimit-Remaining" -
}

# ---------------------------------------------------------------------------------------------
# limits-rpm: requests_per_minute is a token bucket (30 → 30 at once, then one per 2 s).
check_limits_rpm() {
  limits_up limits-rpm || return
  local U a=() i t0 ms sts want ra
  U=$(tg_url limits)
  for i in $(seq 32); do a+=(-o /dev/null "$U/v2/"); done
  t0=$(date +%s%N)
  sts=$(curl -s --max-time 30 -u "$(cr rpm)" -w '%{http_code} ' "${a[@]}")
  ms=$((($(date +%s%N) - t0) / 1000000))
  want="$(printf '200 %.0s' $(seq 30))429 429 "
  if [ "$sts" = "$want" ]; then pass "limits-rpm: 32 requests at once (rpm user, plan 30/min) → 30 × 200 then 2 × 429"
  elif [ $ms -ge 2000 ]; then
    fail "limits-rpm: 32 requests at once (rpm user, plan 30/min) → 30 × 200 then 2 × 429" \
      "the burst took $ms ms (≥ 2 s: the bucket may refill a token meanwhile; the check needs a faster burst)" "got: $sts"
  else fail "limits-rpm: 32 requests at once (rpm user, plan 30/min) → 30 × 200 then 2 × 429" \
    "request: one curl, keep-alive, 32 × GET /v2/ as rpm, in $ms ms" "expected: $want" "got:      $sts"; fi
  info "burst took $ms ms"
  req -u "$(cr rpm)" "$U/v2/"
  refused "limits-rpm: next request → 429, detail requests_per_minute, Retry-After 1..2 (a token every 2 s)" \
    requests_per_minute 1 2
  ra=$(hdr retry-after)
  [[ "$ra" =~ ^[12]$ ]] || ra=2
  sleep "$ra"
  req -u "$(cr rpm)" "$U/v2/"
  resp_is "limits-rpm: after waiting Retry-After ($ra s) a request succeeds (refused requests took no tokens)" 200
  req -u "$(cr rpm)" "$U/v2/"
  resp_is "limits-rpm: … and only one: the next is 429 again" 429
  req -u "$(cr nolim)" "$U/v2/"
  resp_is "limits-rpm: another user is not affected → 200" 200
  metric_is "limits-rpm: /metrics tollgate_rate_limited_total{user=\"rpm\",reason=\"requests\"} = 4 (the 4 refusals)" \
    limits 4 tollgate_rate_limited_total user=rpm reason=requests
}

# ---------------------------------------------------------------------------------------------
# limits-parallel: 64 concurrent manifest GETs by a user with exactly 30 pulls left.
check_limits_parallel() {
  limits_up limits-parallel || return
  lim_alpine_blobs; lim_warm limits
  local U URL out n200 n429 nother
  U=$(tg_url limits) URL="$(tg_url limits)/v2/library/alpine/manifests/$ALPINE_DIGEST"
  out=$(for i in $(seq 64); do echo "$URL"; done |
    timeout 90 xargs -P 64 -n 1 curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -u "$(cr par)" "${ACCEPT_ALL[@]}")
  n200=$(grep -c '^200$' <<<"$out") n429=$(grep -c '^429$' <<<"$out") nother=$(grep -cvE '^(200|429)$' <<<"$out")
  expect "limits-parallel: 64 parallel manifest GETs (par, pulls_per_6h: 30, none used) → 30 × 200, 34 × 429, nothing else" \
    "30 34 0" "$n200 $n429 $nother" "request: xargs -P 64 curl -u par:… GET $URL" \
    "statuses: $(sort <<<"$out" | uniq -c | tr '\n' ' ' | tr -s ' ')"
  usage_of limits par
  uexpect "limits-parallel: /usage pulls_per_6h {used, remaining} = {30, 0}" '.current.pulls_per_6h | [.used, .remaining]' '[30,0]'
  lget limits par "$URL" -I
  lget limits par "/v2/library/alpine/manifests/$ALPINE_DIGEST"
  refused "limits-parallel: one more GET → 429 pulls_per_6h" pulls_per_6h 1 21600
}

# ---------------------------------------------------------------------------------------------
# limits-bytes: bytes_per_day refuses the blob that would cross the limit; a transfer that has
# started is never cut, even when the limit drops under it.
check_limits_bytes() {
  limits_up limits-bytes || return
  lim_alpine_blobs; lim_warm limits
  local U today tomorrow out="$WORK/limits-bytes.big" used rc
  U=$(tg_url limits)
  late_in_second
  lget limits bytes1 "/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  resp_is "limits-bytes: bytes1 (bytes_per_day: 20KiB) GET busybox layer ($BUSYBOX_LAYER_SIZE B) → 200, whole body, right digest" \
    200 sha="$BUSYBOX_LAYER" bodylen="$BUSYBOX_LAYER_SIZE"
  lget limits bytes1 "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-bytes: GET alpine layer 1 ($SMALL_BLOB_SIZE B; $((BUSYBOX_LAYER_SIZE + SMALL_BLOB_SIZE)) ≤ 20480) → 200" \
    200 sha="$SMALL_BLOB" bodylen="$SMALL_BLOB_SIZE"
  used=$((BUSYBOX_LAYER_SIZE + SMALL_BLOB_SIZE))
  lget limits bytes1 "/v2/library/alpine/blobs/$ALPINE_LAYER2"
  refused "limits-bytes: GET alpine layer 2 ($ALPINE_LAYER2_SIZE B; $used + $ALPINE_LAYER2_SIZE > 20480) → 429, detail bytes_per_day, Retry-After ≤ 1 day" \
    bytes_per_day 1 86400
  lget limits bytes1 "/v2/library/alpine/blobs/$ALPINE_CONFIG"
  resp_is "limits-bytes: a blob that still fits (alpine config, $ALPINE_CONFIG_SIZE B) → 200" 200 sha="$ALPINE_CONFIG"
  used=$((used + ALPINE_CONFIG_SIZE))
  lget limits bytes1 /v2/library/alpine/manifests/3.19
  resp_is "limits-bytes: manifests are not blob bytes: GET manifest → 200" 200
  usage_of limits bytes1
  uexpect "limits-bytes: /usage bytes_per_day {limit, used, remaining, in_flight} = {20480, $used, $((20480 - used)), 0}" \
    '.current.bytes_per_day | [.limit, .used, .remaining, .in_flight]' "[20480,$used,$((20480 - used)),0]"
  uexpect "limits-bytes: /usage bytes_per_month.used = $used (no monthly limit: null)" \
    '.current.bytes_per_month | [.limit, .used]' "[null,$used]"
  uexpect "limits-bytes: /usage usage.total.bytes_sent = $used" '.usage.total.bytes_sent' "$used"
  today=$(date -u +%s); today=$((today - today % 86400)); tomorrow=$((today + 86400))
  window_is "limits-bytes: /usage bytes_per_day window is the UTC day, resets_at its end (bytes1's first request came late in a second)" \
    limits bytes1 bytes_per_day "$today" "$tomorrow"

  # never cut: bytes2 (100MiB/day) starts the 64 MiB blob slowly; the limit drops to 1MiB under it
  slow_get limits bytes2 24M "$out"
  if ! wait_size "$out" 1000000 20; then
    fail "limits-bytes: (setup) the slow 64 MiB GET by bytes2 is under way" "got: $(cat "$out.w" "$out.err" 2>/dev/null)"
    kill "$SLOW_PID" 2>/dev/null; return
  fi
  usage_of limits bytes2
  uexpect "limits-bytes: during bytes2's 64 MiB GET /usage bytes_per_day.used + in_flight = $BIG_BLOB_SIZE" \
    '.current.bytes_per_day | .used + .in_flight' "$BIG_BLOB_SIZE"
  tgc limits user set bytes2 --bytes-per-day 1MiB; rc=$?
  expect "limits-bytes: user set bytes2 --bytes-per-day 1MiB during the transfer" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  sleep 0.7
  lget limits bytes2 "/v2/library/alpine/blobs/$ALPINE_CONFIG"
  refused "limits-bytes: a new blob GET by bytes2 (limit now 1MiB, 64 MiB used/in flight) → 429 bytes_per_day" bytes_per_day 1 86400
  slow_done "limits-bytes: the 64 MiB transfer that had started is not cut (200, all bytes, right digest)" "$out"
  usage_of limits bytes2
  uexpect "limits-bytes: then /usage bytes_per_day {limit, used, in_flight} = {1048576, $BIG_BLOB_SIZE, 0}" \
    '.current.bytes_per_day | [.limit, .used, .in_flight]' "[1048576,$BIG_BLOB_SIZE,0]"

  # bytes_per_month: 3KiB
  lget limits month1 "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-bytes: month1 (bytes_per_month: 3KiB) GET alpine layer 1 ($SMALL_BLOB_SIZE B) → 200" 200 sha="$SMALL_BLOB"
  lget limits month1 "/v2/library/alpine/blobs/$ALPINE_LAYER2"
  refused "limits-bytes: … then alpine layer 2 ($ALPINE_LAYER2_SIZE B, would cross 3072) → 429, detail bytes_per_month, Retry-After ≤ 31 days" \
    bytes_per_month 1 2678400
  usage_of limits month1
  uexpect "limits-bytes: /usage bytes_per_month {limit, used, window_start} = {3072, $SMALL_BLOB_SIZE, first of the UTC month}" \
    '.current.bytes_per_month | [.limit, .used, .window_start]' "[3072,$SMALL_BLOB_SIZE,\"$(date -u +%Y-%m-01T00:00:00Z)\"]"
  metric_is "limits-bytes: /metrics tollgate_rate_limited_total{user=\"bytes1\",reason=\"bytes_day\"} = 1" \
    limits 1 tollgate_rate_limited_total user=bytes1 reason=bytes_day
  metric_is "limits-bytes: /metrics tollgate_rate_limited_total{user=\"month1\",reason=\"bytes_month\"} = 1" \
    limits 1 tollgate_rate_limited_total user=month1 reason=bytes_month
  metric_is "limits-bytes: /metrics tollgate_bytes_sent_total{user=\"bytes2\"} = the 64 MiB" \
    limits "$BIG_BLOB_SIZE" tollgate_bytes_sent_total user=bytes2
}

# ---------------------------------------------------------------------------------------------
# limits-concurrent: concurrent_transfers: 1.
check_limits_concurrent() {
  limits_up limits-concurrent || return
  lim_alpine_blobs; lim_warm limits
  local out="$WORK/limits-conc.big"
  slow_get limits conc1 24M "$out"
  if ! wait_size "$out" 1000000 20; then
    fail "limits-concurrent: (setup) conc1's slow 64 MiB GET is under way" "got: $(cat "$out.w" "$out.err" 2>/dev/null)"
    kill "$SLOW_PID" 2>/dev/null; return
  fi
  lget limits conc1 "/v2/library/alpine/blobs/$SMALL_BLOB"
  refused "limits-concurrent: a second blob GET by conc1 (concurrent_transfers: 1) while the first runs → 429 concurrent_transfers" \
    concurrent_transfers 1 3600
  lget limits conc1 /v2/library/alpine/manifests/3.19
  resp_is "limits-concurrent: … a manifest GET by conc1 meanwhile → 200 (not a transfer)" 200 sha="$ALPINE_DIGEST"
  lget limits conc2 "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-concurrent: … a blob GET by another user (conc2, same plan) → 200" 200 sha="$SMALL_BLOB"
  usage_of limits conc1
  uexpect "limits-concurrent: … /usage concurrent_transfers {limit, active} = {1, 1}" \
    '.current.concurrent_transfers | [.limit, .active]' '[1,1]'
  slow_done "limits-concurrent: the first transfer completes (200, all bytes, right digest)" "$out"
  lget limits conc1 "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-concurrent: right after it a new blob GET by conc1 → 200" 200 sha="$SMALL_BLOB"

  # a client that hangs up mid-transfer frees its slot
  slow_get limits conc1 4M "$out"
  if wait_size "$out" 500000 20; then
    kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null
    within "limits-concurrent: after conc1's client hangs up mid-blob, a new blob GET → 200 within 2 s" 2 200 \
      -u "$(cr conc1)" "$(tg_url limits)/v2/library/alpine/blobs/$SMALL_BLOB"
    metric_is "limits-concurrent: /metrics tollgate_rate_limited_total{user=\"conc1\",reason=\"concurrent_transfers\"} = 1" \
      limits 1 tollgate_rate_limited_total user=conc1 reason=concurrent_transfers
  else
    fail "limits-concurrent: (setup) second slow GET under way" "got: $(cat "$out.w" "$out.err" 2>/dev/null)"
  fi
  rm -f "$out" "$out.w" "$out.err"
}

# ---------------------------------------------------------------------------------------------
# limits-usage: accounting after real client pulls (skopeo), via `tollgate usage` and GET /usage.
check_limits_usage() {
  limitsauth_up limits-usage || return
  local U H d="$WORK/limits-usage" M rc exp_bytes log_bytes n_pulls n_req T today f
  U=$(tg_url limitsauth) H=$(tg_host limitsauth)
  rm -rf "$d"; mkdir -p "$d"
  M=$(tg_mark limitsauth)
  run_cmd "limits-usage: skopeo copy --src-creds acct:… library/alpine:3.19" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$H/library/alpine:3.19" "dir:$d/a"
  run_cmd "limits-usage: skopeo copy library/busybox:latest" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$H/library/busybox:latest" "dir:$d/b"
  run_cmd "limits-usage: skopeo copy library/multi:latest (index, no --all: index + one child)" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr acct)" "docker://$H/library/multi:latest" "dir:$d/m"
  # what the clients received: every blob file skopeo wrote (not manifests, not `version`) …
  exp_bytes=0
  for f in "$d"/*/*; do
    case "$(basename "$f")" in manifest*.json | version) ;; *) exp_bytes=$((exp_bytes + $(stat -c %s "$f"))) ;; esac
  done
  # … and containerd's pull of org/tool:v1 (HEAD by tag, GET by digest; config + layers per its manifest)
  local C="$HARNESS/clients/containerd.sh" env raw cpid=""
  env=$(timeout 60 "$C" start 2>"$WORK/ctr-limits.err")
  if [ -n "$env" ] && eval "$env"; then
    echo "containerd $CTR_DIR" >>"$WORK/daemons"
    run_cmd "limits-usage: ctr pull --plain-http --user acct:… $H/ghcr.io/org/tool:v1" 180 \
      "$C" pull "$CTR_DIR" --plain-http --user "$(cr acct)" "$H/ghcr.io/org/tool:v1"
    timeout 30 "$C" stop "$CTR_DIR" >/dev/null 2>&1 &
    cpid=$!
    raw=$(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$GHCR_HOST/org/tool:v1")
    exp_bytes=$((exp_bytes + $(jq '.config.size + ([.layers[].size] | add)' <<<"$raw")))
  else
    fail "limits-usage: (setup) private containerd starts" "got: $(tail -c 300 "$WORK/ctr-limits.err")"
  fi
  log_bytes=$(al limitsauth "$M" method GET status 200 user acct | grep -F '/blobs/' |
    sed -nE 's/.*[ ,{"]bytes"?[=:] ?"?([0-9]+).*/\1/p' | awk '{s += $1} END {print s + 0}')
  n_pulls=$(al limitsauth "$M" method GET status 200 user acct | grep -cF '/manifests/')
  n_req=$(al limitsauth "$M" user acct | grep -cF ' path=/v2')
  info "skopeo and ctr received $exp_bytes blob bytes; access log: $log_bytes blob bytes, $n_pulls manifest GETs, $n_req /v2 requests by acct"
  expect "limits-usage: the access log shows 5 manifest GETs by acct (1 + 1 + index and child + 1 by ctr)" 5 "$n_pulls"
  expect "limits-usage: the access log's blob bytes = the blobs the clients received" "$exp_bytes" "$log_bytes"
  sleep 1.6
  tgc limitsauth usage acct --json; rc=$?
  cp "$WORK/cli.out" "$WORK/lim.usage.json"; USAGE_REQ=$CLI USAGE_RS="exit $rc"
  uexpect "limits-usage: tollgate usage acct --json → one entry: user acct, plan roomy" '[length, .[0].user, .[0].plan]' '[1,"acct","roomy"]'
  uexpect "limits-usage: … pulls = 5, current.pulls_per_6h = 5" '.[0] | [.pulls, .current.pulls_per_6h]' '[5,5]'
  local got_b; got_b=$(uj '.[0].bytes_sent')
  [[ "$got_b" =~ ^[0-9]+$ ]] && awk -v g="$got_b" -v e="$exp_bytes" 'BEGIN {d = g - e; if (d < 0) d = -d; exit !(e > 0 && d <= e / 100)}'
  verdict "limits-usage: … bytes_sent within 1% of the $exp_bytes blob bytes skopeo and ctr received" $? "command: $CLI" "got: bytes_sent $got_b"
  expect "limits-usage: … bytes_sent is exact" "$exp_bytes" "$got_b"
  uexpect "limits-usage: … cache_bytes + upstream_bytes = bytes_sent; current.bytes_per_day = bytes_sent" \
    '.[0] | [.cache_bytes + .upstream_bytes == .bytes_sent, .current.bytes_per_day == .bytes_sent, .current.bytes_per_month == .bytes_sent]' \
    '[true,true,true]'
  uexpect "limits-usage: … requests = the $n_req authenticated /v2 requests in the access log" '.[0].requests' "$n_req"
  uexpect "limits-usage: … limits of plan roomy are all null (unlimited)" '.[0].limits | [.requests_per_minute, .pulls_per_6h, .bytes_per_day, .bytes_per_month, .concurrent_transfers]' \
    '[null,null,null,null,null]'
  uexpect "limits-usage: … since = 30 days back (today counted)" '.[0].since' "\"$(date -u -d '29 days ago' +%F)\""

  tgc limitsauth usage acct; rc=$?
  local hdrline row
  hdrline=$(head -1 "$WORK/cli.out" | tr -s ' ') row=$(grep -E '^acct[[:space:]]' "$WORK/cli.out" | tr -s ' ')
  expect "limits-usage: tollgate usage acct: table header" "USER PLAN REQUESTS PULLS SENT FROM CACHE PULLS/6H % TODAY % MONTH %" \
    "$hdrline" "command: $CLI" "$(cli_got $rc)"
  expect_match "limits-usage: … a row 'acct roomy $n_req 5 …'" "^acct roomy $n_req 5 " "$row" "command: $CLI" "$(cli_got $rc)"

  usage_of limitsauth acct
  today=$(date -u +%F)
  uexpect "limits-usage: GET /usage (Basic acct) → 200, user acct, plan roomy" "[$USAGE_RS, .user, .plan]" '[200,"acct","roomy"]'
  uexpect "limits-usage: … usage.total {pulls, bytes_sent} = {5, $got_b} (as the CLI)" '.usage.total | [.pulls, .bytes_sent]' "[5,$got_b]"
  uexpect "limits-usage: … usage.total.cache_bytes + upstream_bytes = bytes_sent" '.usage.total | .cache_bytes + .upstream_bytes == .bytes_sent' true
  uexpect "limits-usage: … usage.days: today's rows per upstream (docker.io, ghcr.io), summing to the total" \
    "[(.usage.days | map(select(.day == \"$today\")) | [length > 0, (map(.pulls) | add), (map(.bytes_sent) | add)]), (.usage.days | map(.upstream) | unique)]" \
    "[[true,5,$got_b],[\"docker.io\",\"ghcr.io\"]]"
  uexpect "limits-usage: … current.pulls_per_6h {limit, used} = {null, 5}" '.current.pulls_per_6h | [.limit, .used]' '[null,5]'
  uexpect "limits-usage: … current has requests_per_minute and concurrent_transfers" \
    '.current | [has("requests_per_minute"), has("concurrent_transfers"), (.concurrent_transfers.active)]' '[true,true,0]'
  usage_of limitsauth acct '?since=7d'
  uexpect "limits-usage: GET /usage?since=7d → usage.since = 6 days back" '.usage.since' "\"$(date -u -d '6 days ago' +%F)\""
  usage_of limitsauth acct '?since=nonsense'
  uexpect "limits-usage: GET /usage?since=nonsense → 400 PARAMETER_INVALID" "[$USAGE_RS, .errors[0].code]" '[400,"PARAMETER_INVALID"]'
  T=$(curl -s --max-time 30 -u "$(cr acct)" "$U/token?account=acct" | jq -r '.token // empty' 2>/dev/null)
  req -H "Authorization: Bearer $T" "$U/usage"
  cp "$RB" "$WORK/lim.usage.json"; USAGE_REQ="$REQ (token from GET /token as acct)" USAGE_RS=$RS
  uexpect "limits-usage: GET /usage with a Bearer token of acct → 200, user acct, total pulls 5" "[$USAGE_RS, .user, .usage.total.pulls]" '[200,"acct",5]'
  req "$U/usage"
  resp_is "limits-usage: GET /usage without credentials (anonymous: false) → 401" 401
  [ -n "$cpid" ] && wait "$cpid"
  rm -rf "$d"
}

# ---------------------------------------------------------------------------------------------
# limits-restart: limits and usage survive SIGTERM + start (flushed at shutdown).
check_limits_restart() {
  limits_up limits-restart || return
  lim_alpine_blobs; lim_warm limits
  local i rc live cli sts="" t0 ms
  tgc limits user set rst --bytes-per-day 5MiB; rc=$?
  expect "limits-restart: user set rst --bytes-per-day 5MiB" 0 "$rc" "$(cli_got $rc)"
  sleep 0.6
  # the traffic comes last, right before SIGTERM: the periodic (1 s) flush has most likely not run
  for i in 1 2 3; do lget limits rst /v2/library/alpine/manifests/3.19; sts+="$RS "; done
  lget limits rst /v2/library/alpine/manifests/3.19; sts+="$RS "
  lget limits rst "/v2/library/alpine/blobs/$SMALL_BLOB"; sts+="$RS"
  expect "limits-restart: rst (pulls_per_6h: 3): 3 pulls, a 4th, a blob → 200 200 200 429 200" "200 200 200 429 200" "$sts"
  usage_of limits rst
  live=$(uj '.usage.total | [.pulls, .bytes_sent, .requests]')
  info "live totals before the restart [pulls, bytes_sent, requests]: $live"
  # SIGTERM at once: the last second of counts is only on disk if the shutdown flushes it
  t0=$(date +%s%N)
  tg_stop limits
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ $ms -lt 4900 ]
  verdict "limits-restart: SIGTERM stops the server within 5 s (no SIGKILL needed)" $? "got: $ms ms"
  tgc limits usage rst --json; rc=$?
  cp "$WORK/cli.out" "$WORK/lim.usage.json"; USAGE_REQ="$CLI (server stopped)" USAGE_RS="exit $rc"
  cli=$(uj '.[0] | [.pulls, .bytes_sent]')
  expect "limits-restart: right after SIGTERM, tollgate usage rst --json has the live [pulls, bytes_sent]" \
    "$(jq -c '.[:2]' <<<"$live")" "$cli" "command: $CLI" "$(cli_got $rc)"
  uexpect "limits-restart: … and its requests are the live count (+1 for the /usage call at most)" \
    "(.[0].requests - $(jq '.[2]' <<<"$live")) | (. == 0 or . == 1)" true
  if ! tg_start limits 2>"$WORK/limits-restart.err"; then
    fail "limits-restart: the instance starts again" "$(tail -c 400 "$WORK/limits-restart.err")"; return
  fi
  lget limits rst /v2/library/alpine/manifests/3.19
  refused "limits-restart: after the restart rst's next pull → 429 pulls_per_6h (still at the limit)" pulls_per_6h 1 21600
  ratelimit_is "limits-restart: … RateLimit-Remaining: 0" 3 0
  usage_of limits rst
  uexpect "limits-restart: /usage pulls_per_6h.used = 3 and usage.total [pulls, bytes_sent] unchanged" \
    '[.current.pulls_per_6h.used, .usage.total.pulls, .usage.total.bytes_sent]' "[3,$(jq -c '.[0], .[1]' <<<"$live" | paste -sd,)]"
  uexpect "limits-restart: the override (bytes_per_day 5MiB) survives the restart" '.limits.bytes_per_day' 5242880
  uexpect "limits-restart: bytes_per_day.used survives ($SMALL_BLOB_SIZE)" '.current.bytes_per_day.used' "$SMALL_BLOB_SIZE"
}

# ---------------------------------------------------------------------------------------------
# limits-isolation: one user's limit does not touch another's.
check_limits_isolation() {
  limits_up limits-isolation || return
  lim_alpine_blobs; lim_warm limits
  local U i sts="" T
  U=$(tg_url limits)
  for i in 1 2 3 4; do lget limits iso1 /v2/library/alpine/manifests/3.19; sts+="$RS "; done
  expect "limits-isolation: iso1 (pulls_per_6h: 3): 4 GETs → 200 200 200 429" "200 200 200 429 " "$sts"
  lget limits iso2 /v2/library/alpine/manifests/3.19
  resp_is "limits-isolation: iso2 (same plan) still pulls → 200" 200 sha="$ALPINE_DIGEST"
  ratelimit_is "limits-isolation: … with its own count (Remaining 2)" 3 2
  from 127.0.0.6 -u "$(cr iso1)" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  refused "limits-isolation: iso1 from another address (127.0.0.6) → 429 (per user, not per address)" pulls_per_6h 1 21600
  T=$(curl -s --max-time 30 -u "$(cr iso1)" "$U/token?account=iso1&scope=repository:library/alpine:pull" | jq -r '.token // empty' 2>/dev/null)
  req -H "Authorization: Bearer $T" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  refused "limits-isolation: iso1 with a Bearer token instead of Basic → 429 (per user, not per credential)" pulls_per_6h 1 21600
  lget limits iso1 "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "limits-isolation: iso1's blob GET is not pull-limited → 200" 200 sha="$SMALL_BLOB"
  usage_of limits iso1
  uexpect "limits-isolation: /usage iso1: pulls used 3, bytes_per_day.used $SMALL_BLOB_SIZE" \
    '[.current.pulls_per_6h.used, .current.bytes_per_day.used]' "[3,$SMALL_BLOB_SIZE]"
  usage_of limits iso2
  uexpect "limits-isolation: /usage iso2: pulls used 1, bytes_per_day.used 0" \
    '[.current.pulls_per_6h.used, .current.bytes_per_day.used]' '[1,0]'
}

# ---------------------------------------------------------------------------------------------
# limits-anon: anonymous callers are limited per address (plan anonymous: 5 requests/min).
check_limits_anon() {
  limits_up limits-anon || return
  local U i sts="" rc
  U=$(tg_url limits)
  # /token counts too: the anonymous token + 4 GETs use the 5 requests of the minute.
  for i in 1 2 3 4; do afrom 127.0.0.2 "$U/v2/"; sts+="$RS "; done
  expect "limits-anon: a token and 4 anonymous GET /v2/ from 127.0.0.2 → 200 each" "200 200 200 200 " "$sts"
  afrom 127.0.0.2 "$U/v2/"
  refused "limits-anon: the 5th GET (6th request) from 127.0.0.2 → 429 requests_per_minute" requests_per_minute 1 60
  afrom 127.0.0.2 "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "limits-anon: … an anonymous manifest GET from 127.0.0.2 → 429 too" 429
  afrom 127.0.0.3 "$U/v2/"
  resp_is "limits-anon: anonymous from 127.0.0.3 → 200 (its own bucket)" 200
  ratelimit_is "limits-anon: … no RateLimit headers (anonymous plan has no pull limit)" -
  from 127.0.0.2 -u "$(cr anonu)" "$U/v2/"
  resp_is "limits-anon: a user from 127.0.0.2 → 200 (users are not in the address's bucket)" 200
  afrom 127.0.0.4 "$U/usage"
  cp "$RB" "$WORK/lim.usage.json"; USAGE_REQ=$REQ USAGE_RS=$RS
  uexpect "limits-anon: GET /usage anonymously from 127.0.0.4 → 200, user null, plan anonymous, no usage history" \
    "[$RS, .user, .plan, (.usage // null)]" '[200,null,"anonymous",null]'
  uexpect "limits-anon: … address_group names 127.0.0.4" '.address_group | tostring | contains("127.0.0.4")' true
  uexpect "limits-anon: … current.requests_per_minute.limit = 5" '.current.requests_per_minute.limit' 5
  metric_is "limits-anon: /metrics tollgate_rate_limited_total{user=\"(anonymous)\",reason=\"requests\"} ≥ 2" \
    limits '>=2' tollgate_rate_limited_total 'user=(anonymous)' reason=requests
  sleep 1.6
  tgc limits usage --json; rc=$?
  cp "$WORK/cli.out" "$WORK/lim.usage.json"; USAGE_REQ=$CLI USAGE_RS="exit $rc"
  uexpect "limits-anon: tollgate usage --json has an anonymous entry (user null, plan anonymous, requests ≥ 6)" \
    '[.[] | select(.user == null) | (.plan == "anonymous" and .requests >= 6)] | any' true
}

# ---------------------------------------------------------------------------------------------
# limits-set: `tollgate user set` on a running server; CLI errors.
check_limits_set() {
  limits_up limits-set || return
  lim_alpine_blobs; lim_warm limits
  local U P=/v2/library/alpine/manifests/3.19 i sts="" rc
  U=$(tg_url limits)
  for i in 1 2 3 4; do lget limits setter "$P"; sts+="$RS "; done
  expect "limits-set: setter (plan free, 3 pulls): 4 GETs → 200 200 200 429" "200 200 200 429 " "$sts"
  tgc limits user set setter --pulls-per-6h 5; rc=$?
  expect_match "limits-set: user set setter --pulls-per-6h 5 → exit 0, 'setter: plan free; … pulls_per_6h=5 …'" \
    "^0 setter: plan free; .*pulls_per_6h=5" "$rc $(head -1 "$WORK/cli.out")" "command: $CLI" "$(cli_got $rc)"
  if until_status 1 200 -u "$(cr setter)" "${ACCEPT_ALL[@]}" "$U$P" && [ "$WAITED" -le 1000 ]; then
    pass "limits-set: the running server lets the next pull through within 1 s"; info "after $WAITED ms"
  else fail "limits-set: the running server lets the next pull through within 1 s" "request: $REQ" "got: $(got) after $WAITED ms"; fi
  ratelimit_is "limits-set: … RateLimit-Limit: 5;w=21600, Remaining 1" 5 1
  tgc limits user set setter --plan big; rc=$?
  expect_match "limits-set: user set setter --plan big → 'setter: plan big; … pulls_per_6h=5' (the override stays)" \
    '^setter: plan big; .*pulls_per_6h=5' "$(head -1 "$WORK/cli.out")" "$(cli_got $rc)"
  tgc limits user set setter --clear-overrides --plan big; rc=$?
  expect_match "limits-set: user set setter --clear-overrides --plan big → 'plan big; … pulls_per_6h=100'" \
    '^setter: plan big; .*pulls_per_6h=100' "$(head -1 "$WORK/cli.out")" "$(cli_got $rc)"
  sleep 0.6
  lget limits setter "$P" -I
  ratelimit_is "limits-set: … HEAD shows RateLimit-Limit: 100;w=21600, Remaining 96" 100 96
  tgc limits user set setter --clear-overrides; rc=$?
  expect_match "limits-set: user set setter --clear-overrides → 'setter: plan free; … pulls_per_6h=3 …'" \
    '^setter: plan free; requests_per_minute=60, pulls_per_6h=3, ' "$(head -1 "$WORK/cli.out")" "$(cli_got $rc)"
  if until_status 1 429 -u "$(cr setter)" "${ACCEPT_ALL[@]}" "$U$P" && [ "$WAITED" -le 1000 ]; then
    pass "limits-set: back on the default plan the next pull is refused within 1 s"; info "after $WAITED ms"
  else fail "limits-set: back on the default plan the next pull is refused within 1 s" "request: $REQ" "got: $(got) after $WAITED ms"; fi
  ratelimit_is "limits-set: … RateLimit-Limit: 3;w=21600, Remaining 0" 3 0
  [[ "$(jq -r '.errors[0].message' "$RB" 2>/dev/null)" == *"plan free"* ]]
  verdict "limits-set: … its message names plan free" $? "got: $(body_snip 300)"
  tgc limits user set setter --requests-per-minute unlimited --bytes-per-day 500MB --concurrent-transfers unlimited; rc=$?
  expect_match "limits-set: user set … --requests-per-minute unlimited --bytes-per-day 500MB → shown" \
    'requests_per_minute=unlimited, .*bytes_per_day=(500 MB|500000000|476\.[0-9]+ MiB)' "$(head -1 "$WORK/cli.out")" "$(cli_got $rc)"
  tgc limits user set setter --clear-overrides >/dev/null

  cli_err1 "limits-set: user set nobody --pulls-per-6h 5 → exit 1, one 'tollgate: ' line" user set nobody --pulls-per-6h 5
  cli_err1 "limits-set: user set setter --plan nope → exit 1" user set setter --plan nope
  cli_err1 "limits-set: user set setter --pulls-per-6h abc → exit 1" user set setter --pulls-per-6h abc
  cli_err1 "limits-set: user set setter --pulls-per-6h=-1 → exit 1" user set setter --pulls-per-6h=-1
  cli_err1 "limits-set: user set setter --bytes-per-day 5XB → exit 1" user set setter --bytes-per-day 5XB
  cli_err1 "limits-set: user set setter --concurrent-transfers many → exit 1" user set setter --concurrent-transfers many
  cli_err1 "limits-set: usage --since nonsense → exit 1" usage --since nonsense
  cli_err1 "limits-set: usage --since 2026-13-45 → exit 1" usage --since 2026-13-45
  lget limits setter "$P" -I
  ratelimit_is "limits-set: the failed commands changed nothing (setter: 3;w=21600, Remaining 0)" 3 0
}

# ---------------------------------------------------------------------------------------------
# limits-metrics: Prometheus counters per user; /metrics only for metrics.allow.
check_limits_metrics() {
  limits_up limits-metrics || return
  lim_alpine_blobs; lim_warm limits
  local U F="$WORK/limits.metrics" i v problems=()
  U=$(tg_url limits)
  for i in 1 2 3 4; do lget limits metric /v2/library/alpine/manifests/3.19; done
  lget limits metric "/v2/library/alpine/blobs/$SMALL_BLOB"
  afrom 127.0.0.9 "$U/v2/"
  req "$U/metrics"
  cp "$RB" "$F"
  resp_is "limits-metrics: GET /metrics from 127.0.0.1 → 200 text/plain" 200 'ctype~=^text/plain'
  for v in tollgate_requests_total tollgate_pulls_total tollgate_bytes_sent_total tollgate_rate_limited_total; do
    grep -qE "^# TYPE $v counter" "$F" || problems+=("no '# TYPE $v counter'")
  done
  [ ${#problems[@]} = 0 ]; verdict "limits-metrics: # TYPE … counter for the 4 counters" $? "${problems[@]}"
  expect "limits-metrics: tollgate_pulls_total{user=\"metric\"} = 3 (4 GETs, 1 refused)" 3 "$(mval "$F" tollgate_pulls_total user=metric)"
  expect "limits-metrics: tollgate_rate_limited_total{user=\"metric\",reason=\"pulls\"} = 1" 1 \
    "$(mval "$F" tollgate_rate_limited_total user=metric reason=pulls)"
  expect "limits-metrics: tollgate_rate_limited_total{user=\"metric\"} over all reasons = 1" 1 \
    "$(mval "$F" tollgate_rate_limited_total user=metric)"
  v=$(mval "$F" tollgate_requests_total user=metric)
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 4 ] && [ "$v" -le 5 ]
  verdict "limits-metrics: tollgate_requests_total{user=\"metric\"} = 4..5 (5 requests, 1 of them refused)" $? "got: '${v}'"
  expect "limits-metrics: tollgate_bytes_sent_total{user=\"metric\"} (cache + upstream) = $SMALL_BLOB_SIZE" "$SMALL_BLOB_SIZE" \
    "$(mval "$F" tollgate_bytes_sent_total user=metric)"
  expect "limits-metrics: … all of it source=\"cache\" (the blob was cached)" "$SMALL_BLOB_SIZE" \
    "$(mval "$F" tollgate_bytes_sent_total user=metric source=cache)"
  v=$(mval "$F" tollgate_requests_total 'user=(anonymous)')
  [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ]
  verdict "limits-metrics: tollgate_requests_total{user=\"(anonymous)\"} ≥ 1" $? "got: '${v}'"
  from 127.0.0.5 "$U/metrics"
  resp_is "limits-metrics: GET /metrics from 127.0.0.5 (not in metrics.allow) → 403 DENIED" 403 code=DENIED
  from 127.0.0.5 -u "$(cr metric)" "$U/metrics"
  resp_is "limits-metrics: … with a user's credentials too → 403" 403
  from 127.0.0.5 -u "$(cr metric)" "$U/v2/"
  resp_is "limits-metrics: … while /v2/ from 127.0.0.5 works → 200" 200
}

# ---------------------------------------------------------------------------------------------
# limits-config: plans / default_plan / metrics / limits in `tollgate config check` and serve.
check_limits_config() {
  local d="$WORK/limits-config" out rc i=0 c key yaml
  mkdir -p "$d"
  tg_config limitscfg "" "" "$(lim_auth_yaml limitscfg true)" "$LIM_PLANS_YAML"
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$WORK/tg/limitscfg/config.yaml" 2>&1); rc=$?
  expect "limits-config: a config with the suite's plans passes 'config check'" 0 "$rc" "output: $(head -c 300 <<<"$out")"
  cat >"$d/good.yaml" <<'EOF'
plans:
  team: {requests_per_minute: 6000, pulls_per_6h: 500, bytes_per_day: 500MB, bytes_per_month: 2TiB, concurrent_transfers: 4}
  default: {pulls_per_6h: 10}
default_plan: team
metrics: {enabled: false}
limits: {enabled: true}
EOF
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/good.yaml" 2>&1); rc=$?
  expect "limits-config: accepts a plan with 500MB / 2TiB, a replaced built-in plan, default_plan: team, metrics off" 0 "$rc" \
    "file: $(tr '\n' ' ' <"$d/good.yaml")" "output: $(head -c 300 <<<"$out")"
  local cases=(
    "plans.free.pulls_per_6h|plans: {free: {pulls_per_6h: -1}}"
    "plans.free.bytes_per_day|plans: {free: {bytes_per_day: lots}}"
    "plans.free.bogus|plans: {free: {bogus: 1}}"
    "plans.free.requests_per_minute|plans: {free: {requests_per_minute: 1.5}}"
    "plans.free.concurrent_transfers|plans: {free: {concurrent_transfers: many}}"
    "plans.free.bytes_per_month|plans: {free: {bytes_per_month: 5XB}}"
    "plans|plans: [free]"
    "default_plan|default_plan: nope"
    "metrics.allow|metrics: {enabled: true, allow: [\"not-an-address\"]}"
    "metrics.bogus|metrics: {bogus: 1}"
    "limits.enabled|limits: {enabled: maybe}"
  )
  for c in "${cases[@]}"; do
    i=$((i + 1)) key=${c%%|*} yaml=${c#*|}
    printf '%s\n' "$yaml" >"$d/bad$i.yaml"
    out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/bad$i.yaml" 2>&1); rc=$?
    if [ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "$key" <<<"$out"; then pass "limits-config: rejects '$yaml', names '$key'"
    else fail "limits-config: rejects '$yaml', names '$key'" "command: tollgate config check FILE with: $yaml" \
      "expected: non-zero exit and a problem naming '$key'" "got: exit $rc, output: $(head -c 300 <<<"$out" | tr '\n' ' ')"; fi
  done
  timeout 15 "$TOLLGATE_BIN" serve --config "$d/bad1.yaml" >"$d/serve.out" 2>&1; rc=$?
  [ $rc != 0 ] && [ $rc != 124 ]
  verdict "limits-config: serve exits non-zero on a bad plan" $? "command: tollgate serve --config <pulls_per_6h: -1>" \
    "got: exit $rc; $(head -c 300 "$d/serve.out")"
}

# ---------------------------------------------------------------------------------------------
# limits-off: limits.enabled: false turns off limits, accounting and /usage.
check_limits_off() {
  local name=limitsoff d="$WORK/tg/limitsoff" U i sts="" rc
  tg_stop "$name"
  mkdir -p "$d"
  tg_config "$name" "" "" "$(lim_auth_yaml "$name" true)" \
    "$(printf 'plans:\n  default: {pulls_per_6h: 1, requests_per_minute: 2}\n  anonymous: {requests_per_minute: 1}\nlimits: {enabled: false}\nmetrics: {enabled: true}')"
  : >"$d/htpasswd"
  tgc "$name" user add offu --password-stdin --cost 4 <<<offu-pw; rc=$?
  [ $rc = 0 ] || { fail "limits-off: (setup) user add offu" "$(cli_got $rc)"; return; }
  if ! tg_start "$name" 2>"$d/start.err"; then
    fail "limits-off: (setup) an instance with limits.enabled: false starts" "got: $(tail -c 400 "$d/start.err" | tr '\n' ' ')"; return
  fi
  U=$(tg_url "$name")
  for i in 1 2 3 4; do lget "$name" offu /v2/library/alpine/manifests/3.19; sts+="$RS "; done
  expect "limits-off: a plan of 1 pull and 2 requests/min is not applied: 4 GETs → 200 × 4" "200 200 200 200 " "$sts"
  ratelimit_is "limits-off: … no RateLimit headers" -
  sts=""; for i in 1 2 3; do afrom 127.0.0.2 "$U/v2/"; sts+="$RS "; done
  expect "limits-off: anonymous (plan: 1 request/min) → 200 × 3" "200 200 200 " "$sts"
  req -u "$(cr offu)" "$U/usage"
  resp_is "limits-off: GET /usage → 404" 404
  tg_stop "$name"
}
