# checks_tenants.sh — upstream credentials, tenant isolation and access policies (tenants-*);
# sourced by run.sh after checks_limits.sh (it uses tgc, cli_got, until_status, within, run_fails,
# sk_digest, jwt from checks_auth.sh, resp_is, run_cmd, fake_digest from checks.sh and cr from
# checks_limits.sh). One function check_tenants_NAME per check `tenants-NAME`.
#
# Instances (started on first use, shared by the checks, stopped by run.sh's cleanup):
#   tenshared  docker.io with shared (operator) credentials: username alice, password_file (0600)
#              holding alice's hub password; auth.anonymous: false. Users ann (default policy), den
#              (--deny 'docker.io/private/**'), pat and pia (tenants-policy), wendy (tenants-wrong).
#   tenhide    the same upstream credentials and tenshared's htpasswd, auth.hide_denied: true.
#   tenown     no shared hub credentials (anonymous upstream), docker.io manifest_ttl: 1s. Users
#              carol (own hub credentials alice), dave (none), erin (own: bob), xavier (a wrong
#              password), and the tenants-cli / tenants-secrets users.
#   tenredir   bad.test = fake_upstream.py (its own copy in $WORK/fake-tenants) with shared
#              credentials fakeshared; rob has own credentials for it, wes has none.
#   tenenv     shared hub credentials from password_env (tenants-config).
# Users are made with `tollgate user add --cost 4` (password NAME-pw, see cr). Every response header
# and body, CLI output and client output of these checks is appended to $WORK/tenants/seen;
# tenants-secrets looks there (and in the logs and SQLite files) for the upstream passwords.

TEN_WRONG_PW='wr0ng-Pa55-e2e'          # a wrong hub password (xavier, wendy)
TEN_ROB_PW='rob-Fake-secret-e2e'       # rob's own password for bad.test
TEN_FAKE_SHARED_PW='fake-Shared-pw-e2e'  # the shared password for bad.test
TEN_INLINE_PW='inline-Secret-e2e'      # an inline `password:` in a config that must be refused
TEN_ENV_PW=alice-secret                # password_env value (tenants-config)
# every secret the tenants checks hand to Tollgate; none may come back out
TEN_SECRETS=(alice-secret bob-secret "$TEN_WRONG_PW" "$TEN_ROB_PW" "$TEN_FAKE_SHARED_PW" "$TEN_INLINE_PW")

# ---------------------------------------------------------------------------------------------
# helpers

ten_dir() { mkdir -p "$WORK/tenants/pw"; chmod 700 "$WORK/tenants/pw"; }

# ten_keep — append the last response (headers, body) to the collected output.
ten_keep() { ten_dir; { cat "$RH" "$RB"; echo; } >>"$WORK/tenants/seen" 2>/dev/null; }
# tq CURL-ARGS... — `req`, kept.
tq() { req "$@"; ten_keep; }
# tget NAME USER PATH [CURL-ARGS...] — GET (manifest Accept) as USER on instance NAME, kept.
tget() { local n="$1" u="$2" p="$3"; shift 3; tq -u "$(cr "$u")" "${ACCEPT_ALL[@]}" "$@" "$(tg_url "$n")$p"; }
# tcli NAME ARGS... — tgc, output kept; returns its exit status.
tcli() {
  local rc
  tgc "$@"; rc=$?
  ten_dir; { cat "$WORK/cli.out" "$WORK/cli.err"; } >>"$WORK/tenants/seen"
  return $rc
}
# keep_cmd — append the last client output ($WORK/cmd.out) to the collected output.
keep_cmd() { ten_dir; cat "$WORK/cmd.out" >>"$WORK/tenants/seen" 2>/dev/null; }

# ten_auth_yaml NAME [EXTRA-LINE...] — auth block: anonymous off, htpasswd + token key dir of NAME.
ten_auth_yaml() {
  local d="$WORK/tg/$1" l; shift
  printf 'auth:\n  anonymous: false\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}\n' "$d" "$d"
  for l in "$@"; do printf '  %s\n' "$l"; done
}

# ten_hub NAME FIELDS — add FIELDS (YAML flow-map entries) to NAME's docker.io upstream line.
ten_hub() {
  local f="$WORK/tg/$1/config.yaml"
  awk -v add="$2" '/^  docker\.io: \{url: / { sub(/\}$/, ", " add "}") } { print }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

# ten_need CHECK — the binary has `tollgate upstream` (else one FAIL, return 1).
ten_need() {
  timeout 20 "$TOLLGATE_BIN" upstream --help 2>&1 | grep -q 'USAGE: tollgate upstream' && return 0
  fail "$1: the binary has 'tollgate upstream login/logout/list'" "command: $TOLLGATE_BIN upstream --help" \
    "got: $(timeout 20 "$TOLLGATE_BIN" upstream --help 2>&1 | head -3 | tr '\n' ' ')"
  return 1
}

# ten_users NAME CHECK USER... — add the users (password USER-pw) unless they are in NAME's htpasswd.
ten_users() {
  local name="$1" check="$2" u rc; shift 2
  touch "$WORK/tg/$name/htpasswd"
  for u in "$@"; do
    grep -q "^$u:" "$WORK/tg/$name/htpasswd" && continue
    tgc "$name" user add "$u" --password-stdin --cost 4 <<<"$u-pw"; rc=$?
    [ $rc = 0 ] || { fail "$check: (setup) user add $u" "command: $CLI" "got: $(cli_got $rc)"; return 1; }
  done
}

# ten_set NAME CHECK USER ARGS... — `user set USER ARGS` (setup step; a failure is one FAIL).
ten_set() {
  local name="$1" check="$2" rc; shift 2
  tcli "$name" user set "$@"; rc=$?
  [ $rc = 0 ] || { fail "$check: (setup) user set $*" "command: $CLI" "got: $(cli_got $rc)"; return 1; }
}

# ten_start NAME CHECK — tollgate serve for NAME's config unless it runs.
ten_start() {
  local d="$WORK/tg/$1"
  tg_alive "$1" && return 0
  if ! tg_start "$1" 2>"$d/start.err"; then
    fail "$2: (setup) tollgate instance $1 starts" "command: $TOLLGATE_BIN serve --config $d/config.yaml" \
      "got: $(tail -c 600 "$d/start.err" | tr '\n' ' ')"
    return 1
  fi
}

# tenshared_up CHECK — hub shared credentials alice; users ann, den (deny docker.io/private/**), pat, pia, wendy.
tenshared_up() {
  local n=tenshared d="$WORK/tg/tenshared"
  ten_need "$1" || return 1
  tg_alive $n && return 0
  ten_dir; mkdir -p "$d"
  printf 'alice-secret\n' >"$WORK/tenants/pw/hub-shared"; chmod 600 "$WORK/tenants/pw/hub-shared"
  tg_config $n "" "" "$(ten_auth_yaml $n)"
  ten_hub $n "username: alice, password_file: \"$WORK/tenants/pw/hub-shared\""
  if [ ! -f "$d/users.done" ]; then
    ten_users $n "$1" ann den pat pia wendy || return 1
    ten_set $n "$1" den --deny 'docker.io/private/**' || return 1
    touch "$d/users.done"
  fi
  ten_start $n "$1"
}

# tenown_up CHECK — no shared hub credentials, manifest_ttl 1s; users carol, dave, erin, xavier.
tenown_up() {
  local n=tenown d="$WORK/tg/tenown"
  ten_need "$1" || return 1
  tg_alive $n && return 0
  ten_dir; mkdir -p "$d"
  tg_config $n 1s "" "$(ten_auth_yaml $n)"
  ten_users $n "$1" carol dave erin xavier || return 1
  ten_start $n "$1"
}

# hub_stat USER — how many tokens hub's token server issued to USER so far ('<anonymous>' = none).
hub_stat() { curl -s --max-time 10 "${HUB_TOKEN_URL%/token}/_stats" | jq -r --arg u "$1" '.by_user[$u] // 0' 2>/dev/null; }

# token_access NAME CREDS SCOPE... — a token from NAME's /token (Basic CREDS) for the scopes. Sets
# TEN_TOKEN (the token, '' if none) and ACC: its `access` claim as compact JSON ('<no token: …>' if
# none). Not in a subshell, so that both stay set.
token_access() {
  local name="$1" creds="$2" s a=() body; shift 2
  for s in "$@"; do a+=(--data-urlencode "scope=$s"); done
  body=$(curl -sS --max-time 30 -G -u "$creds" --data-urlencode service=tollgate "${a[@]}" "$(tg_url "$name")/token" 2>&1)
  ten_dir; printf '%s\n' "$body" >>"$WORK/tenants/seen"
  TEN_TOKEN=$(jq -r '.token // empty' <<<"$body" 2>/dev/null)
  if [ -z "$TEN_TOKEN" ]; then ACC="<no token: $(head -c 200 <<<"$body")>"; return; fi
  ACC=$(jwt decode "$TEN_TOKEN" | jq -c '.claims.access' 2>&1)
}

# catalog_of NAME USER — GET NAME's /v2/_catalog as USER; CAT = its repositories, space-separated
# (not in a subshell: RS and REQ stay for the verdict).
catalog_of() { tq -u "$(cr "$2")" "$(tg_url "$1")/v2/_catalog?n=1000"; CAT=$(jq -r '.repositories[]?' "$RB" 2>/dev/null | tr '\n' ' '); }

# refused_is NAME STATUS CODE MSG-REGEX [DIGEST] — the last response is STATUS with errors[0].code CODE,
# a message matching MSG-REGEX, and (GET) a JSON error body, not content (sha256 ≠ DIGEST).
refused_is() {
  local name="$1" st="$2" code="$3" re="$4" dg="${5:-}" msg problems=()
  [ "$RS" = "$st" ] || problems+=("status: expected $st, got $RS")
  if [[ "$REQ" == *" -I "* ]]; then :  # HEAD: no body to judge
  elif [ -s "$RB" ]; then
    [ "$(errcode)" = "$code" ] || problems+=("errors[0].code: expected $code, got $(errcode)")
    msg=$(jq -r '.errors[0].message // ""' "$RB" 2>/dev/null)
    [[ "$msg" =~ $re ]] || problems+=("errors[0].message: expected ~ /$re/, got '$msg'")
    [ -n "$dg" ] && [ "$(body_sha)" = "$dg" ] && problems+=("the body IS the content ($dg)")
  else
    problems+=("expected a JSON error body, got an empty body")
  fi
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"; else fail "$name" "request: $REQ" "${problems[@]}" "response: $(got)"; fi
}

# hub_saw MARK PATH — hub's registry.log has a request for PATH (exact) after line MARK.
hub_saw() { tail -n +$(($1 + 1)) "$HARNESS_DIR/hub/registry.log" 2>/dev/null | grep -qF " $2 HTTP/"; }

# ten_cli_err NAME CHECK-LABEL ARGS... (stdin from the caller) — exit 1, exactly one stderr line
# starting 'tollgate: ', empty stdout, stored upstream credentials and user settings unchanged.
ten_cli_err() {
  local name="$1" label="$2" rc before after n; shift 2
  before=$(ten_state_dump "$name")
  tcli "$name" "$@"; rc=$?
  after=$(ten_state_dump "$name")
  n=$(grep -c . "$WORK/cli.err")
  if [ $rc = 1 ] && [ "$n" = 1 ] && grep -q '^tollgate: ' "$WORK/cli.err" && [ ! -s "$WORK/cli.out" ] && [ "$before" = "$after" ]; then
    pass "$label"; info "$(cat "$WORK/cli.err")"
  else
    fail "$label" "command: $CLI" "expected: exit 1, one stderr line 'tollgate: …', empty stdout, credentials and settings unchanged" \
      "got: $(cli_got $rc); stderr lines: $n; stored state $([ "$before" = "$after" ] && echo unchanged || echo "CHANGED: $before → $after")"
  fi
}

# ten_state_dump NAME — NAME's upstream_credentials (user, upstream, username) and user_settings rows
# (SQLite, read-only).
ten_state_dump() {
  local db="$WORK/tg/$1/data/tollgate.sqlite"
  [ -f "$db" ] || return 0
  timeout 10 sqlite3 -readonly "$db" 'select user, upstream, username from upstream_credentials order by 1, 2;
    select user, plan, overrides, allow, deny from user_settings order by 1' 2>&1 | tr '\n' ' '
}

# ---------------------------------------------------------------------------------------------
# tenants-shared: operator credentials; policy deny; catalog; tokens; hide_denied.
check_tenants_shared() {
  tenshared_up tenants-shared || return
  local n=tenshared U H d="$WORK/tenants/shared" a0 a1 acc raw cfg l1
  U=$(tg_url $n) H=$(tg_host $n)
  mkdir -p "$d"; rm -rf "$d"/*
  a0=$(hub_stat alice)
  if run_cmd "tenants-shared: ann (default policy) skopeo-copies private/app:1.0 (hub's shared credentials: alice)" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr ann)" "docker://$H/private/app:1.0" "dir:$d/ann"; then
    expect "tenants-shared: … digest = \$PRIVATE_DIGEST" "$PRIVATE_DIGEST" "$(sk_digest "$d/ann")"
  fi
  keep_cmd
  a1=$(hub_stat alice)
  [ "${a1:-0}" -gt "${a0:-0}" ]
  verdict "tenants-shared: … hub's token server issued tokens to alice (the shared credentials were used)" $? \
    "GET ${HUB_TOKEN_URL%/token}/_stats .by_user.alice before $a0, after $a1"
  raw=$(cat "$d/ann/manifest.json" 2>/dev/null)
  cfg=$(jq -r '.config.digest' <<<"$raw" 2>/dev/null) l1=$(jq -r '.layers[0].digest' <<<"$raw" 2>/dev/null)

  run_fails "tenants-shared: den (--deny 'docker.io/private/**') cannot skopeo-copy private/app:1.0" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr den)" "docker://$H/private/app:1.0" "dir:$d/den"
  keep_cmd
  tget $n den /v2/private/app/manifests/1.0
  refused_is "tenants-shared: den GET private/app manifest 1.0 → 403 DENIED 'requested access to the resource is denied'" \
    403 DENIED '^requested access to the resource is denied$' "$PRIVATE_DIGEST"
  tget $n den /v2/private/app/manifests/1.0 -I
  refused_is "tenants-shared: den HEAD private/app manifest 1.0 → 403" 403 DENIED .
  tget $n den "/v2/docker.io/private/app/manifests/$PRIVATE_DIGEST"
  refused_is "tenants-shared: den GET docker.io/private/app by digest (prefix route, on disk) → 403 DENIED" \
    403 DENIED 'requested access to the resource is denied' "$PRIVATE_DIGEST"
  if [ -n "$l1" ] && [ "$l1" != null ]; then
    tget $n den "/v2/private/app/blobs/$l1"
    refused_is "tenants-shared: den GET a private/app layer (on disk) → 403 DENIED, not the bytes" 403 DENIED . "$l1"
    tget $n ann "/v2/private/app/blobs/$l1"
    resp_is "tenants-shared: ann GET the same layer → 200, right bytes" 200 sha="$l1"
  fi
  if run_cmd "tenants-shared: den still skopeo-copies library/alpine:3.19" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr den)" "docker://$H/library/alpine:3.19" "dir:$d/den-alpine"; then
    expect "tenants-shared: … digest" "$ALPINE_DIGEST" "$(sk_digest "$d/den-alpine")"
  fi
  keep_cmd

  local cden cann
  catalog_of $n den; cden=$CAT
  [[ " $cden " == *" docker.io/library/alpine "* ]] && [[ " $cden " != *"private/app"* ]]
  verdict "tenants-shared: den's /v2/_catalog lists docker.io/library/alpine, not docker.io/private/app" $? \
    "request: $REQ" "got: $cden"
  catalog_of $n ann; cann=$CAT
  [[ " $cann " == *" docker.io/private/app "* ]]
  verdict "tenants-shared: ann's /v2/_catalog lists docker.io/private/app" $? "request: $REQ" "got: $cann"

  # tokens never grant more than the policy
  token_access $n "$(cr den)" repository:private/app:pull; acc=$ACC
  expect "tenants-shared: /token for den, scope repository:private/app:pull → a token whose access is []" '[]' "$acc" \
    "request: GET $U/token?service=tollgate&scope=repository:private/app:pull (Basic den)"
  tq "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $TEN_TOKEN" "$U/v2/private/app/manifests/1.0"
  resp_is "tenants-shared: … using it for private/app → 401" 401
  expect_match "tenants-shared: … challenge says error=\"insufficient_scope\"" 'error="insufficient_scope"' "$(chal)" "request: $REQ"
  token_access $n "$(cr den)" repository:library/alpine:pull; acc=$ACC
  expect "tenants-shared: (control) den's token for library/alpine grants pull" pull "$(jq -r '.[0].actions | join(",")' <<<"$acc" 2>&1)" \
    "access: $acc"
  tq "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $TEN_TOKEN" "$U/v2/library/alpine/manifests/3.19"
  resp_is "tenants-shared: (control) … and works → 200" 200 digest="$ALPINE_DIGEST"
  token_access $n "$(cr ann)" repository:private/app:pull; acc=$ACC
  expect "tenants-shared: ann's token for private/app grants pull" pull "$(jq -r '.[0].actions | join(",")' <<<"$acc" 2>&1)" "access: $acc"

  # auth.hide_denied: true — a denied repository looks like one that does not exist
  local h=tenhide hd="$WORK/tg/tenhide"
  if ! tg_alive $h; then
    mkdir -p "$hd"
    tg_config $h "" "" "$(printf 'auth:\n  anonymous: false\n  hide_denied: true\n  htpasswd: "%s"\n  token: {key_dir: "%s/tokens"}\n' \
      "$WORK/tg/tenshared/htpasswd" "$hd")"
    ten_hub $h "username: alice, password_file: \"$WORK/tenants/pw/hub-shared\""
    ten_set $h tenants-shared den --deny 'docker.io/private/**' || return
    ten_start $h tenants-shared || return
  fi
  tget $h den /v2/private/app/manifests/1.0
  refused_is "tenants-shared: (hide_denied: true) den GET private/app manifest 1.0 → 404 NAME_UNKNOWN" 404 NAME_UNKNOWN . "$PRIVATE_DIGEST"
  tget $h den /v2/private/app/manifests/1.0 -I
  resp_is "tenants-shared: (hide_denied) den HEAD → 404" 404
  tget $h den "/v2/private/app/manifests/$PRIVATE_DIGEST"
  refused_is "tenants-shared: (hide_denied) den GET by digest → 404 NAME_UNKNOWN" 404 NAME_UNKNOWN . "$PRIVATE_DIGEST"
  tget $h ann /v2/private/app/manifests/1.0
  resp_is "tenants-shared: (hide_denied) ann GET private/app → 200" 200 sha="$PRIVATE_DIGEST"
  token_access $h "$(cr den)" repository:private/app:pull; acc=$ACC
  expect "tenants-shared: (hide_denied) den's token for private/app has access []" '[]' "$acc"
  tget $h den /v2/library/alpine/manifests/3.19
  resp_is "tenants-shared: (hide_denied) den GET library/alpine → 200" 200 digest="$ALPINE_DIGEST"
  tg_stop $h
}

# ---------------------------------------------------------------------------------------------
# tenants-own: a user's own upstream credentials; what others may see of it.
check_tenants_own() {
  tenown_up tenants-own || return
  local n=tenown U H d="$WORK/tenants/own" rc a0 a1 b0 b1 raw who p m ref sref refs=() c
  U=$(tg_url $n) H=$(tg_host $n)
  mkdir -p "$d"; rm -rf "$d"/*

  tcli $n upstream login carol docker.io --username alice --password-stdin <<<alice-secret; rc=$?
  expect "tenants-own: upstream login carol docker.io --username alice --password-stdin" \
    "0 stored carol's credentials for docker.io (as alice)" "$rc $(head -1 "$WORK/cli.out")" "command: $CLI" "$(cli_got $rc)"
  tcli $n upstream list carol; rc=$?
  expect_match "tenants-own: upstream list carol → 'docker.io<TAB>alice<TAB><created>' (one line)" \
    $'^0 docker\\.io\talice\t[0-9]{4}-[0-9]{2}-[0-9]{2}T[^\t]+$' "$rc $(cat "$WORK/cli.out")" "command: $CLI"
  tcli $n upstream list carol --json; rc=$?
  expect "tenants-own: upstream list carol --json → [{upstream, username, created}], no password" \
    '[{"upstream":"docker.io","username":"alice"}] created=string keys=created,upstream,username' \
    "$(jq -c 'map({upstream, username})' "$WORK/cli.out" 2>&1) created=$(jq -r '.[0].created | type' "$WORK/cli.out" 2>&1) keys=$(jq -r '[.[] | keys[]] | unique | join(",")' "$WORK/cli.out" 2>&1)" \
    "command: $CLI" "$(cli_got $rc)"
  grep -q 'alice-secret' "$WORK/cli.out"
  [ $? != 0 ]; verdict "tenants-own: … the list shows no password" $? "got: $(cat "$WORK/cli.out")"

  a0=$(hub_stat alice)
  within "tenants-own: the running server uses carol's new credentials within 2 s (GET private/app:1.0 → 200)" 2 200 \
    -u "$(cr carol)" "${ACCEPT_ALL[@]}" "$U/v2/private/app/manifests/1.0"
  ten_keep
  if run_cmd "tenants-own: carol skopeo-copies private/app:1.0 with her own credentials" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr carol)" "docker://$H/private/app:1.0" "dir:$d/carol"; then
    expect "tenants-own: … digest = \$PRIVATE_DIGEST" "$PRIVATE_DIGEST" "$(sk_digest "$d/carol")"
  fi
  keep_cmd
  a1=$(hub_stat alice)
  [ "${a1:-0}" -gt "${a0:-0}" ]
  verdict "tenants-own: … hub's token server issued tokens to alice (carol's own credentials)" $? "by_user.alice before $a0, after $a1"

  raw=$(cat "$d/carol/manifest.json" 2>/dev/null)
  refs=("manifests/1.0" "manifests/$PRIVATE_DIGEST")
  for c in $(jq -r '.config.digest, .layers[].digest' <<<"$raw" 2>/dev/null); do refs+=("blobs/$c"); done
  if [ ${#refs[@]} -lt 5 ]; then
    fail "tenants-own: (setup) carol's copy has a config and 2 layers" "got: $(head -c 300 <<<"$raw")"
    return
  fi

  # dave (no credentials: anonymous upstream) and erin (own credentials bob, whom hub denies)
  tcli $n upstream login erin docker.io --username bob --password-stdin <<<bob-secret; rc=$?
  [ $rc = 0 ] || fail "tenants-own: (setup) upstream login erin docker.io --username bob" "command: $CLI" "$(cli_got $rc)"
  sleep 0.6
  b0=$(hub_stat bob)
  for who in dave erin; do
    for ref in "${refs[@]}"; do
      sref=$(sed -E 's/(sha256:[0-9a-f]{12})[0-9a-f]+/\1…/' <<<"$ref")
      m=$(up_lines hub)
      tget $n $who "/v2/private/app/$ref"
      p=${ref#*/}
      refused_is "tenants-own: $who GET private/app/$sref (on disk, fetched with carol's credentials) → 403 DENIED, JSON not content" \
        403 DENIED 'upstream docker\.io denied access' "$([[ $p == sha256:* ]] && echo "$p")"
      sleep 0.2
      if hub_saw "$m" "/v2/private/app/$ref"; then pass "tenants-own: … went to hub first (its registry.log has the path)"
      else fail "tenants-own: $who's request for private/app/$sref went to hub first" "request: $REQ" \
        "expected: a new line for /v2/private/app/$ref in $HARNESS_DIR/hub/registry.log" \
        "got: $(tail -n +$((m + 1)) "$HARNESS_DIR/hub/registry.log" | grep -v 'level=' | tail -3 | tr '\n' ' ')"; fi
    done
    tget $n $who "/v2/private/app/${refs[2]}" -I
    resp_is "tenants-own: $who HEAD private/app/$(sed -E 's/(sha256:[0-9a-f]{12})[0-9a-f]+/\1…/' <<<"${refs[2]}") (the config) → 403" 403
  done
  b1=$(hub_stat bob)
  [ "${b1:-0}" -gt "${b0:-0}" ]
  verdict "tenants-own: erin's requests went to hub with her own credentials (token server: tokens for bob)" $? \
    "by_user.bob before $b0, after $b1"

  for who in dave erin carol; do
    catalog_of $n $who; c=$CAT
    if [ $who = carol ]; then
      [[ " $c " == *" docker.io/private/app "* ]]
      verdict "tenants-own: carol's /v2/_catalog lists docker.io/private/app" $? "request: $REQ" "got: $c"
    else
      [[ " $c " != *"private/app"* ]] && [ "$RS" = 200 ]
      verdict "tenants-own: $who's /v2/_catalog (200) does not list docker.io/private/app" $? "request: $REQ" "got: $RS $c"
    fi
  done
  tget $n carol "/v2/private/app/${refs[2]}"
  resp_is "tenants-own: carol still GETs the config blob → 200, right bytes" 200 sha="${refs[2]#blobs/}"

  # logout: the list is empty; the tag (manifest_ttl: 1s) is refused once it is revalidated
  tcli $n upstream logout carol docker.io; rc=$?
  expect "tenants-own: upstream logout carol docker.io" "0 removed carol's credentials for docker.io" "$rc $(head -1 "$WORK/cli.out")" \
    "command: $CLI" "$(cli_got $rc)"
  tcli $n upstream list carol; rc=$?
  expect "tenants-own: upstream list carol → empty, exit 0" "0 " "$rc $(cat "$WORK/cli.out")" "$(cli_got $rc)"
  tcli $n upstream list carol --json; rc=$?
  expect "tenants-own: upstream list carol --json → []" "0 []" "$rc $(jq -c . "$WORK/cli.out" 2>&1)" "$(cli_got $rc)"
  sleep 1.1
  within "tenants-own: after logout carol's GET private/app:1.0 (tag TTL 1s expired) → 403 within 2 s" 2 403 \
    -u "$(cr carol)" "${ACCEPT_ALL[@]}" "$U/v2/private/app/manifests/1.0"
  ten_keep
  tget $n carol "/v2/private/app/manifests/$PRIVATE_DIGEST"
  info "after logout, carol's GET by digest: $RS (not asserted: cached content may be served until revalidation)"
}

# ---------------------------------------------------------------------------------------------
# tenants-wrong: an upstream refusing a user's credentials affects that user only.
check_tenants_wrong() {
  tenown_up tenants-wrong || return
  local n=tenown U H d="$WORK/tenants/wrong" rc i bad=0 line msgs pid
  U=$(tg_url $n) H=$(tg_host $n)
  mkdir -p "$d"; rm -rf "$d"/*
  tcli $n upstream login xavier docker.io --username alice --password-stdin <<<"$TEN_WRONG_PW"; rc=$?
  expect "tenants-wrong: upstream login xavier docker.io --username alice (wrong password) is stored" 0 "$rc" "$(cli_got $rc)"
  sleep 0.6
  tget $n xavier /v2/private/app/manifests/1.0
  refused_is "tenants-wrong: xavier GET private/app:1.0 → 403 DENIED 'upstream docker.io refused the credentials: … xavier's own credentials'" \
    403 DENIED "^upstream docker\\.io refused the credentials: .*xavier's own credentials" "$PRIVATE_DIGEST"
  info "$(jq -r '.errors[0].message' "$RB" 2>/dev/null)"
  tget $n xavier /v2/library/busybox/manifests/latest
  refused_is "tenants-wrong: xavier GET a public image → 403 too (his own credentials are used for every request)" \
    403 DENIED 'refused the credentials'

  # at the same time: xavier keeps failing (20 GETs) while dave pulls busybox with skopeo
  : >"$d/statuses"
  (
    for i in $(seq 20); do
      curl -s --max-time 10 -o "$d/x.body" -w '%{http_code} ' -u "$(cr xavier)" "${ACCEPT_ALL[@]}" \
        "$U/v2/library/alpine/manifests/3.19" >>"$d/statuses"
      jq -r '.errors[0].message // "-"' "$d/x.body" >>"$d/messages" 2>/dev/null
      cat "$d/x.body" >>"$WORK/tenants/seen"
    done
  ) &
  pid=$!
  if run_cmd "tenants-wrong: meanwhile dave skopeo-copies library/busybox:latest" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$(cr dave)" "docker://$H/library/busybox:latest" "dir:$d/dave"; then
    expect "tenants-wrong: … digest" "$BUSYBOX_DIGEST" "$(sk_digest "$d/dave")"
  fi
  keep_cmd
  tget $n dave /v2/library/alpine/manifests/3.19
  resp_is "tenants-wrong: … and dave GETs library/alpine:3.19 → 200" 200 digest="$ALPINE_DIGEST"
  wait $pid
  expect "tenants-wrong: xavier's 20 concurrent GETs of library/alpine:3.19 → 403 each" \
    "$(printf '403 %.0s' $(seq 20))" "$(cat "$d/statuses")"
  msgs=$(sort -u "$d/messages" | tr '\n' '|')
  expect_match "tenants-wrong: … each says 'upstream docker.io refused the credentials'" '^(upstream docker\.io refused the credentials[^|]*\|)+$' "$msgs"

  # fixing the password takes effect (no refusal is remembered for the new credentials)
  tcli $n upstream login xavier docker.io --username alice --password-stdin <<<alice-secret; rc=$?
  [ $rc = 0 ] || fail "tenants-wrong: upstream login xavier with the right password" "$(cli_got $rc)"
  within "tenants-wrong: with the right password xavier GETs private/app:1.0 → 200 within 2 s" 2 200 \
    -u "$(cr xavier)" "${ACCEPT_ALL[@]}" "$U/v2/private/app/manifests/1.0"
  ten_keep
  tcli $n upstream logout xavier docker.io

  # with shared credentials configured, a user's wrong own credentials are not replaced by them
  tenshared_up tenants-wrong || return
  tcli tenshared upstream login wendy docker.io --username alice --password-stdin <<<"$TEN_WRONG_PW"; rc=$?
  [ $rc = 0 ] || fail "tenants-wrong: (setup) upstream login wendy on tenshared" "$(cli_got $rc)"
  sleep 0.6
  tget tenshared wendy /v2/library/multi/manifests/latest
  refused_is "tenants-wrong: (shared credentials configured) wendy's wrong own credentials → 403 refused (her own), no fallback to the shared ones" \
    403 DENIED "refused the credentials: .*wendy's own credentials"
  tget tenshared ann /v2/library/multi/manifests/latest
  resp_is "tenants-wrong: … ann (shared credentials) GETs library/multi:latest → 200" 200 digest="$MULTI_DIGEST"
}

# ---------------------------------------------------------------------------------------------
# tenants-policy: allow/deny globs per user, on a running server.
check_tenants_policy() {
  tenshared_up tenants-policy || return
  local n=tenshared U P rc acc p
  U=$(tg_url $n)
  tcli $n user set pat --clear-overrides >/dev/null
  tcli $n user set pia --clear-overrides >/dev/null
  sleep 0.6
  tget $n pat /v2/ghcr.io/org/tool/manifests/v1
  resp_is "tenants-policy: pat (default policy allow **) GET ghcr.io/org/tool:v1 → 200 (now cached)" 200 digest="$TOOL_DIGEST"
  tget $n pat /v2/library/busybox/manifests/latest
  resp_is "tenants-policy: pat GET library/busybox:latest → 200 (now cached)" 200 digest="$BUSYBOX_DIGEST"

  tcli $n user set pat --allow 'docker.io/library/*'; rc=$?
  expect_match "tenants-policy: user set pat --allow 'docker.io/library/*' → '…; allow docker.io/library/*; deny (none)'" \
    '^0 pat: .*; allow docker\.io/library/\*; deny \(none\)$' "$rc $(cat "$WORK/cli.out")" "command: $CLI" "$(cli_got $rc)"
  if until_status 1 403 -u "$(cr pat)" "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/org/tool/manifests/v1" && [ "$WAITED" -le 1000 ]; then
    pass "tenants-policy: the running server refuses pat ghcr.io/org/tool:v1 (cached) within 1 s"; info "after $WAITED ms"
  else fail "tenants-policy: the running server refuses pat ghcr.io/org/tool:v1 (cached) within 1 s" "request: $REQ" "got: $(got) after $WAITED ms"; fi
  ten_keep
  refused_is "tenants-policy: … 403 DENIED 'requested access to the resource is denied'" 403 DENIED \
    '^requested access to the resource is denied$' "$TOOL_DIGEST"
  for p in alpine library/alpine docker.io/library/alpine; do
    tget $n pat "/v2/$p/manifests/3.19"
    resp_is "tenants-policy: pat (allow docker.io/library/*) GET $p:3.19 → 200" 200 digest="$ALPINE_DIGEST"
  done
  tget $n pat "/v2/alpine/manifests/3.19?ns=docker.io"
  resp_is "tenants-policy: … alpine:3.19?ns=docker.io → 200" 200 digest="$ALPINE_DIGEST"
  tget $n pat /v2/library/busybox/manifests/latest
  resp_is "tenants-policy: … library/busybox:latest → 200" 200 digest="$BUSYBOX_DIGEST"
  tget $n pat "/v2/org/tool/manifests/v1?ns=ghcr.io"
  refused_is "tenants-policy: … org/tool:v1?ns=ghcr.io → 403 DENIED" 403 DENIED . "$TOOL_DIGEST"
  tget $n pat /v2/private/app/manifests/1.0
  refused_is "tenants-policy: … private/app:1.0 (docker.io, not library/) → 403 DENIED" 403 DENIED . "$PRIVATE_DIGEST"
  tget $n pat /v2/library/sub/x/manifests/1
  refused_is "tenants-policy: … library/sub/x (two components under library/: '*' is one) → 403 DENIED" 403 DENIED .

  tcli $n user set pat --deny docker.io/library/busybox; rc=$?
  expect_match "tenants-policy: user set pat --deny docker.io/library/busybox → '…; allow docker.io/library/*; deny docker.io/library/busybox'" \
    '^0 pat: .*; allow docker\.io/library/\*; deny docker\.io/library/busybox$' "$rc $(cat "$WORK/cli.out")" "$(cli_got $rc)"
  if until_status 1 403 -u "$(cr pat)" "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest" && [ "$WAITED" -le 1000 ]; then
    pass "tenants-policy: busybox refused within 1 s (deny wins over allow docker.io/library/*)"; info "after $WAITED ms"
  else fail "tenants-policy: busybox refused within 1 s (deny wins over allow docker.io/library/*)" "request: $REQ" "got: $(got) after $WAITED ms"; fi
  ten_keep
  for p in busybox docker.io/library/busybox; do
    tget $n pat "/v2/$p/manifests/latest"
    refused_is "tenants-policy: … GET $p:latest → 403 DENIED" 403 DENIED . "$BUSYBOX_DIGEST"
  done
  tget $n pat "/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  refused_is "tenants-policy: … busybox's layer (cached) → 403 DENIED, not the bytes" 403 DENIED . "$BUSYBOX_LAYER"
  tget $n pat /v2/alpine/manifests/3.19
  resp_is "tenants-policy: … alpine:3.19 still → 200" 200 digest="$ALPINE_DIGEST"
  token_access $n "$(cr pat)" repository:library/busybox:pull repository:library/alpine:pull repository:ghcr.io/org/tool:pull; acc=$ACC
  expect "tenants-policy: pat's /token for busybox + alpine + ghcr.io/org/tool grants alpine only" \
    '1 alpine' "$(jq -r 'length' <<<"$acc" 2>&1) $(jq -r '.[0].name // "-" | split("/") | last' <<<"$acc" 2>&1)" "access: $acc"

  tcli $n user set pia --allow 'ghcr.io/org/**'; rc=$?
  [ $rc = 0 ] || fail "tenants-policy: user set pia --allow 'ghcr.io/org/**'" "$(cli_got $rc)"
  within "tenants-policy: pia (allow ghcr.io/org/**) → library/alpine refused within 1 s" 1 403 \
    -u "$(cr pia)" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  ten_keep
  tget $n pia /v2/ghcr.io/org/tool/manifests/v1
  resp_is "tenants-policy: … ghcr.io/org/tool:v1 → 200" 200 digest="$TOOL_DIGEST"
  tget $n pia /v2/org/tool/manifests/v1 -H "Host: ghcr.mirror.test:$(cat "$WORK/tg/$n/port")"
  resp_is "tenants-policy: … org/tool:v1 with Host: ghcr.mirror.test (alias) → 200 (the policy sees ghcr.io)" 200 digest="$TOOL_DIGEST"
  tget $n pat /v2/org/tool/manifests/v1 -H "Host: ghcr.mirror.test:$(cat "$WORK/tg/$n/port")"
  refused_is "tenants-policy: … while pat (allow docker.io/library/*) gets 403 DENIED for it" 403 DENIED . "$TOOL_DIGEST"

  tcli $n user set pat --clear-overrides; rc=$?
  expect_match "tenants-policy: user set pat --clear-overrides → '…; allow **; deny (none)'" '^0 pat: .*; allow \*\*; deny \(none\)$' \
    "$rc $(cat "$WORK/cli.out")" "$(cli_got $rc)"
  within "tenants-policy: … busybox → 200 again within 1 s" 1 200 -u "$(cr pat)" "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
  ten_keep
  tcli $n user set pia --clear-overrides >/dev/null
}

# ---------------------------------------------------------------------------------------------
# tenants-redirect: own credentials for an upstream whose blobs 307 to another host (a CDN).
check_tenants_redirect() {
  ten_need tenants-redirect || return
  local fd="$WORK/fake-tenants" n=tenredir d="$WORK/tg/tenredir" U i fport flog dg m c
  mkdir -p "$fd" "$d"; ten_dir
  rm -f "$fd/port"
  python3 "$E2E_DIR/fake_upstream.py" --port-file "$fd/port" --log "$fd/requests.log" >"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && break; sleep 0.1; done
  fport=$(cat "$fd/port" 2>/dev/null) || { fail "tenants-redirect: fake upstream starts" "$(cat "$fd/out.log")"; return; }
  flog="$fd/requests.log"
  printf '%s\n' "$TEN_FAKE_SHARED_PW" >"$WORK/tenants/pw/fake-shared"; chmod 600 "$WORK/tenants/pw/fake-shared"
  tg_stop $n
  tg_config $n "" "  bad.test: {url: \"http://127.0.0.1:$fport\", username: fakeshared, password_file: \"$WORK/tenants/pw/fake-shared\"}" \
    "$(ten_auth_yaml $n)"
  ten_users $n tenants-redirect rob wes || return
  tcli $n upstream login rob bad.test --username robs-own --password-stdin <<<"$TEN_ROB_PW"; c=$?
  expect "tenants-redirect: upstream login rob bad.test --username robs-own" \
    "0 stored rob's credentials for bad.test (as robs-own)" "$c $(head -1 "$WORK/cli.out")" "$(cli_got $c)"
  ten_start $n tenants-redirect || { stop_pidfile "$fd/pid" fake_upstream.py; return; }
  U=$(tg_url $n) dg=$(fake_digest redirect)

  m=$(wc -l <"$flog")
  tget $n rob "/v2/bad.test/e2e/redirect/blobs/$dg"
  resp_is "tenants-redirect: rob (own credentials) GET the blob that 307s to another host → 200, right digest" 200 sha="$dg"
  local since; since=$(tail -n +$((m + 1)) "$flog")
  grep -qx 'REDIRECT user=robs-own' <<<"$since" && ! grep -q 'REDIRECT user=fakeshared' <<<"$since"
  verdict "tenants-redirect: … bad.test saw rob's own user name (robs-own), never the shared one" $? \
    "fake log since the request: $(grep -E 'REDIRECT|CDN' <<<"$since" | tr '\n' ' ')"
  if grep -q 'CDN with-authorization' <<<"$since"; then
    fail "tenants-redirect: … the CDN (other host) got no Authorization" "request: $REQ" \
      "expected: GET http://localhost:$fport/cdn/… without Authorization" "got: rob's credentials forwarded to the other host"
  elif grep -q 'CDN no-authorization' <<<"$since"; then pass "tenants-redirect: … the CDN (other host) got no Authorization"
  else fail "tenants-redirect: … the CDN (other host) got no Authorization" "request: $REQ" "expected: the mirror fetches the 307 target" \
    "got: target never requested; fake log: $(tail -5 "$flog" | tr '\n' ' ')"; fi
  c=$(grep '^CDN headers=' <<<"$since" | tail -1)
  [ -n "$c" ] && ! grep -qiE '(=|,)(authorization|proxy-authorization|cookie)(,|$)' <<<"$c"
  verdict "tenants-redirect: … nor Cookie / Proxy-Authorization" $? "got: ${c:-<no CDN headers line>}"

  catalog_of $n wes; c=$CAT
  [ "$RS" = 200 ] && [[ " $c " != *"bad.test/e2e/redirect"* ]]
  verdict "tenants-redirect: wes's /v2/_catalog does not list bad.test/e2e/redirect (rob's own fetch)" $? "request: $REQ" "got: $RS $c"
  catalog_of $n rob; c=$CAT
  [[ " $c " == *" bad.test/e2e/redirect "* ]]
  verdict "tenants-redirect: rob's /v2/_catalog lists bad.test/e2e/redirect" $? "request: $REQ" "got: $RS $c"

  m=$(wc -l <"$flog")
  tget $n wes "/v2/bad.test/e2e/redirect/blobs/$dg"
  resp_is "tenants-redirect: wes (no own credentials) GET the same blob (on disk) → 200" 200 sha="$dg"
  since=$(tail -n +$((m + 1)) "$flog")
  grep -qx 'REDIRECT user=fakeshared' <<<"$since" && ! grep -q 'REDIRECT user=robs-own' <<<"$since"
  verdict "tenants-redirect: … access proven at bad.test with the shared credentials (fakeshared), not rob's" $? \
    "fake log since the request: $(grep -E '^(GET|HEAD|REDIRECT|CDN)' <<<"$since" | tr '\n' ' ')"
  ! grep -q 'CDN with-authorization' <<<"$since"
  verdict "tenants-redirect: … no Authorization sent to the CDN for wes either" $? "got: $(grep CDN <<<"$since" | tr '\n' ' ')"
  ten_dir; cat "$flog" >>"$WORK/tenants/seen"
  tg_stop $n
  stop_pidfile "$fd/pid" fake_upstream.py
}

# ---------------------------------------------------------------------------------------------
# tenants-config: upstream credential keys in `config check` and `serve`.
check_tenants_config() {
  local d="$WORK/tenants/config" out rc i=0 c key yaml want
  ten_dir; mkdir -p "$d"
  printf 'x\n' >"$d/pw"; chmod 600 "$d/pw"
  # expected-text|yaml
  local cases=(
    "password_file|upstreams: {docker.io: {url: \"http://127.0.0.1:1\", username: u, password: $TEN_INLINE_PW}}"
    "password_file and password_env|upstreams: {docker.io: {url: \"http://127.0.0.1:1\", username: u, password_file: \"$d/pw\", password_env: TG_E2E_PW}}"
    "upstreams.docker.io|upstreams: {docker.io: {url: \"http://127.0.0.1:1\", username: u}}"
    "upstreams.docker.io|upstreams: {docker.io: {url: \"http://127.0.0.1:1\", password_file: \"$d/pw\"}}"
    "auth.hide_denied|auth: {hide_denied: maybe}"
    "auth.anonymous_without_token|auth: {anonymous_without_token: maybe}"
    "auth.default_policy.bogus|auth: {default_policy: {allow: [\"**\"], bogus: 1}}"
    "auth.default_policy.allow|auth: {default_policy: {allow: [\"BAD GLOB\"]}}"
  )
  local labels=("inline 'password:' (message points at password_file)" "password_file + password_env together"
    "username without a password source" "password_file without username" "auth.hide_denied: maybe"
    "auth.anonymous_without_token: maybe" "an unknown key in auth.default_policy" "an invalid glob in auth.default_policy.allow")
  for c in "${cases[@]}"; do
    want=${c%%|*} yaml=${c#*|}
    printf '%s\n' "$yaml" >"$d/bad$i.yaml"
    out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/bad$i.yaml" 2>&1); rc=$?
    printf '%s\n' "$out" >>"$WORK/tenants/seen"
    if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out"; then pass "tenants-config: config check rejects ${labels[$i]} (exit 1, names '$want')"
    else fail "tenants-config: config check rejects ${labels[$i]} (exit 1, names '$want')" "command: tollgate config check FILE with: $yaml" \
      "expected: exit 1 and a message containing '$want'" "got: exit $rc, output: $(head -c 300 <<<"$out" | tr '\n' ' ')"; fi
    i=$((i + 1))
  done
  ! grep -qF "$TEN_INLINE_PW" <<<"$(timeout 20 "$TOLLGATE_BIN" config check "$d/bad0.yaml" 2>&1)"
  verdict "tenants-config: … the refusal of an inline password does not print it" $? "file: $d/bad0.yaml"

  printf 'upstreams: {docker.io: {url: "http://127.0.0.1:1", username: u, password_env: TG_E2E_PW}}\n' >"$d/env.yaml"
  out=$(env -u TG_E2E_PW timeout 20 "$TOLLGATE_BIN" config check "$d/env.yaml" 2>&1); rc=$?
  expect "tenants-config: config check accepts username + password_env: TG_E2E_PW" 0 "$rc" "output: $(head -c 300 <<<"$out")"
  printf 'auth: {hide_denied: true, anonymous_without_token: false, default_policy: {allow: ["docker.io/library/*", "ghcr.io/org/**"], deny: ["docker.io/library/busybox"]}}\n' >"$d/pol.yaml"
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/pol.yaml" 2>&1); rc=$?
  expect "tenants-config: config check accepts hide_denied, anonymous_without_token and a default_policy" 0 "$rc" \
    "file: $(cat "$d/pol.yaml")" "output: $(head -c 300 <<<"$out")"

  # serve with password_env naming an unset variable: on the first upstream, and on a later one
  local where port f lines
  for where in docker.io quay.io; do
    port=$(free_port) f="$d/serve-$where.yaml"
    {
      printf 'listen: "127.0.0.1:%s"\nstorage: {path: "%s/serve-%s"}\nupstreams:\n' "$port" "$d" "$where"
      if [ $where = docker.io ]; then
        printf '  docker.io: {url: "%s", username: alice, password_env: TG_E2E_UNSET_PW}\n' "$HUB_URL"
      else
        printf '  docker.io: {url: "%s"}\n  ghcr.io: {url: "%s"}\n' "$HUB_URL" "$GHCR_URL"
        printf '  quay.io: {url: "%s", username: quay-user, password_env: TG_E2E_UNSET_PW}\n' "$QUAY_URL"
      fi
      printf 'default_upstream: docker.io\n'
    } >"$f"
    # (in a subshell: if it crashes, bash's "Illegal instruction …" notice goes nowhere)
    (env -u TG_E2E_UNSET_PW timeout 20 "$TOLLGATE_BIN" serve --config "$f" >"$d/serve-$where.out" 2>&1; exit $?) 2>/dev/null; rc=$?
    # log lines start with a timestamp; everything else is the message
    lines=$(grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$d/serve-$where.out")
    if [ $rc = 1 ] && [ "$(grep -c . <<<"$lines")" = 1 ] && grep -q "^tollgate: .*TG_E2E_UNSET_PW" <<<"$lines"; then
      pass "tenants-config: serve with $where password_env naming an unset variable → exit 1, one line naming it"; info "$lines"
    else
      fail "tenants-config: serve with $where password_env naming an unset variable → exit 1, one line naming it" \
        "command: env -u TG_E2E_UNSET_PW tollgate serve --config $f ($where: username + password_env: TG_E2E_UNSET_PW)" \
        "expected: exit 1 and one line 'tollgate: upstreams.$where.password_env: TG_E2E_UNSET_PW is not set'" \
        "got: exit $rc$([ $rc -gt 128 ] && [ $rc != 124 ] && echo " (signal $((rc - 128)))"); output: $(head -c 500 <<<"$lines" | tr '\n' ' ')"
    fi
  done

  # serve with password_env set: the shared credentials from the environment reach hub
  local n=tenenv U
  tg_stop $n
  mkdir -p "$WORK/tg/$n"
  tg_config $n "" "" "$(printf 'auth:\n  anonymous: false\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}\n' "$WORK/tg/$n" "$WORK/tg/$n")"
  ten_hub $n "username: alice, password_env: TG_E2E_PW"
  ten_users $n tenants-config eve || return
  TG_E2E_PW="$TEN_ENV_PW" ten_start $n tenants-config || return
  U=$(tg_url $n)
  tget $n eve /v2/private/app/manifests/1.0
  resp_is "tenants-config: serve with password_env set: shared credentials from the environment pull private/app → 200" \
    200 sha="$PRIVATE_DIGEST"
  tg_stop $n
}

# ---------------------------------------------------------------------------------------------
# tenants-cli: upstream login/logout/list and user set --allow errors; user del.
check_tenants_cli() {
  tenown_up tenants-cli || return
  local n=tenown rc
  ten_users $n tenants-cli cliu gone || return
  ten_cli_err $n "tenants-cli: upstream login for an unknown user → exit 1, one line" \
    upstream login nobody docker.io --username alice --password-stdin <<<pw
  ten_cli_err $n "tenants-cli: upstream login for an unknown upstream → exit 1, one line" \
    upstream login cliu nowhere.example --username alice --password-stdin <<<pw
  ten_cli_err $n "tenants-cli: upstream login without --password-stdin, stdin not a terminal → exit 1, one line" \
    upstream login cliu docker.io --username alice <<<pw
  ten_cli_err $n "tenants-cli: upstream login with an empty password (bare newline) → exit 1, one line" \
    upstream login cliu docker.io --username alice --password-stdin <<<''
  ten_cli_err $n "tenants-cli: upstream login with empty standard input → exit 1, one line" \
    upstream login cliu docker.io --username alice --password-stdin </dev/null
  ten_cli_err $n "tenants-cli: upstream login --username '' → exit 1, one line" \
    upstream login cliu docker.io --username '' --password-stdin <<<pw
  ten_cli_err $n "tenants-cli: upstream logout without stored credentials → exit 1, one line" \
    upstream logout cliu docker.io </dev/null
  ten_cli_err $n "tenants-cli: upstream logout for an unknown user → exit 1, one line" \
    upstream logout nobody docker.io </dev/null
  ten_cli_err $n "tenants-cli: user set --allow 'BAD GLOB' → exit 1, one line" user set cliu --allow 'BAD GLOB' </dev/null
  ten_cli_err $n "tenants-cli: user set --deny 'docker.io/[a' → exit 1, one line" user set cliu --deny 'docker.io/[a' </dev/null
  ten_cli_err $n "tenants-cli: user set --plan default --allow 'docker.io/library/*' --allow 'BAD GLOB' → exit 1, nothing applied" \
    user set cliu --plan default --allow 'docker.io/library/*' --allow 'BAD GLOB' </dev/null

  tcli $n upstream list cliu; rc=$?
  expect "tenants-cli: upstream list of a user without credentials → empty, exit 0" "0 " "$rc $(cat "$WORK/cli.out")" "$(cli_got $rc)"
  tcli $n upstream login cliu docker.io --username first --password-stdin <<<"$TEN_WRONG_PW"
  tcli $n upstream login cliu docker.io --username alice --password-stdin <<<alice-secret; rc=$?
  tcli $n upstream list cliu --json
  expect "tenants-cli: a second upstream login replaces the first (one entry, username alice)" '0 ["docker.io:alice"]' \
    "$rc $(jq -c 'map(.upstream + ":" + .username)' "$WORK/cli.out" 2>&1)" "$(cli_got $rc)"

  tcli $n upstream login gone docker.io --username alice --password-stdin <<<alice-secret &&
    tcli $n upstream login gone ghcr.io --username someone --password-stdin <<<bob-secret
  tcli $n upstream list gone; rc=$?
  expect "tenants-cli: gone has credentials for docker.io and ghcr.io" "0 docker.io ghcr.io" \
    "$rc $(cut -f1 "$WORK/cli.out" | tr '\n' ' ' | sed 's/ $//')" "$(cli_got $rc)"
  tcli $n user del gone; rc=$?
  expect "tenants-cli: user del gone" 0 "$rc" "$(cli_got $rc)"
  tcli $n upstream list gone --json; rc=$?
  expect "tenants-cli: … upstream list gone --json → [] afterwards" "0 []" "$rc $(jq -c . "$WORK/cli.out" 2>&1)" "$(cli_got $rc)"
  expect "tenants-cli: … no row for gone left in upstream_credentials (SQLite)" 0 \
    "$(timeout 10 sqlite3 -readonly "$WORK/tg/$n/data/tollgate.sqlite" "select count(*) from upstream_credentials where user = 'gone'" 2>&1)"
  ten_users $n tenants-cli gone || return
  tcli $n upstream list gone; rc=$?
  expect "tenants-cli: … re-added user gone has no credentials" "0 " "$rc $(cat "$WORK/cli.out")" "$(cli_got $rc)"
  tcli $n upstream logout cliu docker.io >/dev/null
}

# ---------------------------------------------------------------------------------------------
# tenants-secrets: no upstream password ever comes back out (responses, logs, CLI, SQLite).
check_tenants_secrets() {
  tenown_up tenants-secrets || return
  local n=tenown rc s f k hits=() files=() b64=() sealed
  ten_users $n tenants-secrets sam || return
  # standalone: put a secret into the store and use it (the other checks add theirs when they run)
  tcli $n upstream login sam docker.io --username bob --password-stdin <<<bob-secret
  sleep 0.6
  tget $n sam /v2/private/app/manifests/1.0
  tcli $n upstream list sam --json
  tcli $n upstream list carol --json; tcli $n upstream list xavier --json
  for f in "$WORK"/tenants/config/bad*.yaml; do
    [ -f "$f" ] && timeout 20 "$TOLLGATE_BIN" config check "$f" >>"$WORK/tenants/seen" 2>&1
  done
  timeout 20 "$TOLLGATE_BIN" config check "$WORK/tg/$n/config.yaml" >>"$WORK/tenants/seen" 2>&1

  # where to look: collected responses/CLI/client output, every tenants instance's log and start
  # errors, the serve outputs of tenants-config, the SQLite files (main db, WAL, SHM) — bytes, not only strings
  files=("$WORK/tenants/seen")
  for f in "$WORK"/tg/ten*/tollgate.log "$WORK"/tg/ten*/start.err "$WORK"/tenants/config/serve-*.out \
    "$WORK"/tg/ten*/data/tollgate.sqlite "$WORK"/tg/ten*/data/tollgate.sqlite-wal "$WORK"/tg/ten*/data/tollgate.sqlite-shm; do
    [ -f "$f" ] && files+=("$f")
  done
  for s in "${TEN_SECRETS[@]}"; do
    b64+=("$(printf 'alice:%s' "$s" | base64 -w0)" "$(printf 'bob:%s' "$s" | base64 -w0)")
  done
  for s in "${TEN_SECRETS[@]}" "${b64[@]}"; do
    for f in "${files[@]}"; do
      grep -aqF -- "$s" "$f" && hits+=("'$s' in $f")
    done
  done
  # control: the same search finds a secret planted between binary bytes
  { head -c 4096 /dev/urandom; printf 'bob-secret'; head -c 4096 /dev/urandom; } >"$WORK/tenants/pw/control"
  grep -aqF -- bob-secret "$WORK/tenants/pw/control"
  verdict "tenants-secrets: (control) the search finds a secret planted in binary bytes" $? "grep -aF bob-secret $WORK/tenants/pw/control"
  [ ${#hits[@]} = 0 ]
  verdict "tenants-secrets: no upstream password (nor a Basic header made from one) in responses, CLI/client output, logs or SQLite files (${#files[@]} files)" $? \
    "found: ${hits[*]}"
  info "searched $(stat -c %s "${files[@]}" | awk '{ t += $1 } END { print t }') bytes: $(printf '%s ' "${files[@]##"$WORK"/}")"

  sealed=$(timeout 10 sqlite3 -readonly "$WORK/tg/$n/data/tollgate.sqlite" \
    "select user || ':' || length(sealed_password) from upstream_credentials where user = 'sam'" 2>&1)
  s=bob-secret
  [[ "$sealed" =~ ^sam:([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge $((${#s} + 28)) ]
  verdict "tenants-secrets: sam's sealed password is ciphertext (≥ password + 12-byte nonce + 16-byte tag)" $? "got: $sealed"

  local modes=() bad=()
  for k in "$WORK"/tg/ten*/tokens/upstream-credentials.key; do
    [ -f "$k" ] || continue
    modes+=("${k#"$WORK"/tg/}=$(stat -c %a "$k")")
    [ "$(stat -c %a "$k")" = 600 ] || bad+=("$k: $(stat -c %a "$k")")
  done
  [ ${#modes[@]} -ge 1 ] && [ ${#bad[@]} = 0 ]
  verdict "tenants-secrets: upstream-credentials.key is mode 600 (${#modes[@]} instance(s))" $? \
    "got: ${modes[*]:-<no upstream-credentials.key under $WORK/tg/ten*/tokens>}" "${bad[@]}"
  tcli $n upstream logout sam docker.io >/dev/null
}
