# checks.sh — the end-to-end checks; sourced by run.sh. One function check_NAME per check.
# Each runs in a subshell against the "main" instance unless it starts its own (burst,
# singleflight, mismatch, stale). Expectations follow Tollgate's interface (README.md here lists
# them per check); a failure prints the request, what was expected and what came back.

# resp_is NAME STATUS [KEY=VALUE | KEY~=REGEX]... — judge the last `req` response.
# KEY: len (Content-Length), digest (Docker-Content-Digest), ctype, range (Content-Range),
#      xcache (X-Cache), sha (sha256 of body), bodylen, code (errors[0].code), apiver.
resp_is() {
  local name="$1" want="$2" kv k v g re problems=()
  shift 2
  [[ "$RS" =~ ^($want)$ ]] || problems+=("status: expected $want, got $RS")
  [[ "$RS" =~ ^2 ]] && [ "$RC" != 0 ] && problems+=("curl exit $RC on a $RS response ($(tr '\n' ' ' <"$WORK/req.err"))")
  for kv in "$@"; do
    if [[ "$kv" == *"~="* ]]; then k=${kv%%~=*} v=${kv#*~=} re=1; else k=${kv%%=*} v=${kv#*=} re=0; fi
    case "$k" in
      len) g=$(hdr content-length) ;;
      digest) g=$(hdr docker-content-digest) ;;
      ctype) g=$(hdr content-type) ;;
      range) g=$(hdr content-range) ;;
      xcache) g=$(hdr x-cache) ;;
      apiver) g=$(hdr docker-distribution-api-version) ;;
      sha) g=$(body_sha) ;;
      bodylen) g=$(body_len) ;;
      code) g=$(errcode) ;;
      *) g="<unknown key $k>" ;;
    esac
    if [ $re = 1 ]; then
      [[ "$g" =~ $v ]] || problems+=("$k: expected ~ /$v/, got ${g:-<none>}")
    else
      [ "$g" = "$v" ] || problems+=("$k: expected $v, got ${g:-<none>}")
    fi
  done
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"
  else fail "$name" "request: $REQ" "${problems[@]}" "response: $(got)"; fi
}

# run_cmd NAME SECONDS CMD... — run a client command bounded in time; pass if exit 0.
# Leaves its output in $WORK/cmd.out.
run_cmd() {
  local name="$1" t="$2" rc
  shift 2
  timeout "$t" "$@" >"$WORK/cmd.out" 2>&1
  rc=$?
  if [ $rc = 0 ]; then pass "$name"; return 0; fi
  [ $rc = 124 ] && rc="124 (timed out after ${t}s)"
  fail "$name" "command: $(printf '%q ' "$@")" "expected: exit 0" "got: exit $rc; output tail: $(tail -c 600 "$WORK/cmd.out" | tr '\n' ' ')"
  return 1
}

# access-log lines since MARK whose request carried ?ns=NS
al_ns() { al "$1" "$2" | grep -E "[?&]ns=$(re_escape "$3")([&\" ]|$)|[ ,{\"]ns\"?[=:] ?\"?$(re_escape "$3")([\" ,}]|$)"; }
status_of() { grep -oE 'status"?[=:] ?"?[0-9]{3}' | grep -oE '[0-9]{3}$'; }

# ---------------------------------------------------------------------------------------------
check_config() {
  local d="$WORK/config" out rc name key
  mkdir -p "$d"
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$WORK/tg/main/config.yaml" 2>&1)
  rc=$?
  expect "config: the suite's own config passes 'config check'" 0 "$rc" \
    "command: tollgate config check $WORK/tg/main/config.yaml" "output: $(echo "$out" | head -c 400)"

  # name|key path that must be printed|yaml
  local cases=(
    "unknown top-level key|bogus_key|bogus_key: 1"
    "unknown upstream key|upstreams.ghcr.io.passwd|upstreams: {ghcr.io: {url: \"http://127.0.0.1:1\", passwd: x}}"
    "bad duration|upstreams.docker.io.manifest_ttl|upstreams: {docker.io: {url: \"http://127.0.0.1:1\", manifest_ttl: soon}}"
    "url that is not a URL|upstreams.ghcr.io.url|upstreams: {ghcr.io: {url: \"not a url\"}}"
    "default_upstream not configured|default_upstream|upstreams: {ghcr.io: {url: \"http://127.0.0.1:1\"}}
default_upstream: nowhere.example"
    "listen not host:port|listen|listen: \"no-port-here\""
    "wrong type (list for a string)|storage.path|storage: {path: [a, b]}"
  )
  local i=0 c yaml
  for c in "${cases[@]}"; do
    i=$((i + 1))
    name=${c%%|*}; c=${c#*|}; key=${c%%|*}; yaml=${c#*|}
    printf '%s\n' "$yaml" >"$d/bad$i.yaml"
    out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/bad$i.yaml" 2>&1)
    rc=$?
    if [ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "$key" <<<"$out"; then
      pass "config: rejects $name, names '$key'"
    else
      fail "config: rejects $name, names '$key'" "command: tollgate config check FILE with: $(echo "$yaml" | tr '\n' ';')" \
        "expected: non-zero exit and a problem naming '$key'" "got: exit $rc, output: $(echo "$out" | head -c 400 | tr '\n' ' ')"
    fi
  done

  # all problems in one file are reported
  printf 'bogus_key: 1\nupstreams: {docker.io: {url: "http://127.0.0.1:1", manifest_ttl: soon}}\n' >"$d/multi.yaml"
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/multi.yaml" 2>&1)
  rc=$?
  if [ $rc != 0 ] && grep -qF bogus_key <<<"$out" && grep -qF upstreams.docker.io.manifest_ttl <<<"$out"; then
    pass "config: reports every problem of a file"
  else
    fail "config: reports every problem of a file" "command: tollgate config check FILE with: bogus_key: 1 + manifest_ttl: soon" \
      "expected: non-zero exit naming both 'bogus_key' and 'upstreams.docker.io.manifest_ttl'" \
      "got: exit $rc, output: $(echo "$out" | head -c 400 | tr '\n' ' ')"
  fi

  # serve refuses an invalid config instead of running with it
  timeout 15 "$TOLLGATE_BIN" serve --config "$d/bad3.yaml" >"$d/serve.out" 2>&1
  rc=$?
  if [ $rc != 0 ] && [ $rc != 124 ]; then pass "config: serve exits non-zero on an invalid config"
  else fail "config: serve exits non-zero on an invalid config" "command: tollgate serve --config <bad duration>" \
    "expected: prompt non-zero exit" "got: exit $rc ($([ $rc = 124 ] && echo 'still running after 15 s')); output: $(head -c 300 "$d/serve.out")"; fi
}

# ---------------------------------------------------------------------------------------------
check_head() {
  local U; U=$(tg_url main)
  req "$U/v2/"
  resp_is "head: GET /v2/ → 200 {} with API version header" 200 apiver=registry/2.0
  [ "$(jq -c . "$RB" 2>/dev/null)" = '{}' ]
  verdict "head: GET /v2/ body is {}" $? "request: $REQ" "expected: {}" "got: $(body_snip)"
  req -I "$U/v2/"
  resp_is "head: HEAD /v2/ → 200" 200

  local m="$U/v2/library/busybox/manifests/latest"
  req -I "${ACCEPT_ALL[@]}" "$m"
  resp_is "head: HEAD manifest by tag, cold (busybox:latest)" 200 len="$BUSYBOX_MANIFEST_SIZE" digest="$BUSYBOX_DIGEST" ctype="$V2S2"
  req "${ACCEPT_ALL[@]}" "$m"
  resp_is "head: GET manifest by tag (busybox:latest)" 200 len="$BUSYBOX_MANIFEST_SIZE" bodylen="$BUSYBOX_MANIFEST_SIZE" \
    sha="$BUSYBOX_DIGEST" digest="$BUSYBOX_DIGEST" ctype="$V2S2" 'xcache~=^(hit|miss|revalidated)$'
  req -I "${ACCEPT_ALL[@]}" "$m"
  resp_is "head: HEAD manifest by tag, cached" 200 len="$BUSYBOX_MANIFEST_SIZE" digest="$BUSYBOX_DIGEST" ctype="$V2S2"
  req -I "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/$BUSYBOX_DIGEST"
  resp_is "head: HEAD manifest by digest" 200 len="$BUSYBOX_MANIFEST_SIZE" digest="$BUSYBOX_DIGEST" ctype="$V2S2"

  local ml="$U/v2/library/multi/manifests/latest" mlsize
  mlsize=$(timeout 30 skopeo inspect --raw --tls-verify=false --creds "$HUB_ADMIN" "docker://$HUB_HOST/library/multi:latest" | wc -c)
  req -I "${ACCEPT_ALL[@]}" "$ml"
  resp_is "head: HEAD manifest list by tag, cold (multi:latest)" 200 len="$mlsize" digest="$MULTI_DIGEST" \
    ctype=application/vnd.docker.distribution.manifest.list.v2+json
  req "${ACCEPT_ALL[@]}" "$ml"
  resp_is "head: GET manifest list" 200 bodylen="$mlsize" sha="$MULTI_DIGEST" ctype=application/vnd.docker.distribution.manifest.list.v2+json

  local b="$U/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  req -I "$b"
  resp_is "head: HEAD blob, cold (busybox layer)" 200 len="$BUSYBOX_LAYER_SIZE" digest="$BUSYBOX_LAYER"
  req "$b"
  resp_is "head: GET blob (busybox layer)" 200 len="$BUSYBOX_LAYER_SIZE" bodylen="$BUSYBOX_LAYER_SIZE" sha="$BUSYBOX_LAYER" digest="$BUSYBOX_LAYER"
  req -I "$b"
  resp_is "head: HEAD blob, cached" 200 len="$BUSYBOX_LAYER_SIZE" digest="$BUSYBOX_LAYER"
  req "$b"
  resp_is "head: GET blob again is a cache hit" 200 bodylen="$BUSYBOX_LAYER_SIZE" sha="$BUSYBOX_LAYER" xcache=hit

  # one keep-alive connection: HEAD blob, 404 with a body, HEAD manifest, GET manifest (as containerd does)
  local ka
  ka=$(curl -sS --max-time 30 -o /dev/null -I -w '%{http_code}:%{num_connects} ' "$b" \
    --next -sS --max-time 30 -o /dev/null "${ACCEPT_ALL[@]}" -w '%{http_code}:%{num_connects} ' "$U/v2/library/busybox/manifests/nope" \
    --next -sS --max-time 30 -o /dev/null -I "${ACCEPT_ALL[@]}" -w '%{http_code}:%{num_connects} ' "$m" \
    --next -sS --max-time 30 -o "$WORK/ka.body" "${ACCEPT_ALL[@]}" -w '%{http_code}:%{num_connects}' "$m" 2>&1)
  expect "head: HEAD/404/HEAD/GET on one keep-alive connection" "200:1 404:0 200:0 200:0 $BUSYBOX_DIGEST" \
    "$ka sha256:$(sha256sum <"$WORK/ka.body" | cut -d' ' -f1)" "request: curl -I blob --next manifests/nope --next -I manifest --next manifest (status:new-connections)"
}

# ---------------------------------------------------------------------------------------------
check_notfound() {
  local U; U=$(tg_url main)
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/nope"
  resp_is "notfound: unknown tag → 404 MANIFEST_UNKNOWN" 404 code=MANIFEST_UNKNOWN
  req -I "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/nope"
  resp_is "notfound: HEAD unknown tag → 404" 404
  req "$U/v2/library/alpine/blobs/sha256:$(printf '0%.0s' {1..64})"
  resp_is "notfound: unknown blob → 404 BLOB_UNKNOWN" 404 code=BLOB_UNKNOWN
  req "${ACCEPT_ALL[@]}" "$U/v2/library/nosuchrepo/manifests/latest"
  resp_is "notfound: unknown repository manifest → 404" 404 'code~=^(NAME_UNKNOWN|MANIFEST_UNKNOWN)$'
  req "$U/v2/library/nosuchrepo/tags/list"
  resp_is "notfound: unknown repository tags/list → 404 NAME_UNKNOWN" 404 code=NAME_UNKNOWN
  # hub refuses the mirror's anonymous token for private/*: a client error, not an outage
  req "${ACCEPT_ALL[@]}" "$U/v2/private/app/manifests/1.0"
  resp_is "notfound: upstream-denied repository (hub private/app) → 401/403/404 JSON" '401|403|404' \
    'code~=^(UNAUTHORIZED|DENIED|NAME_UNKNOWN|MANIFEST_UNKNOWN)$'
}

# ---------------------------------------------------------------------------------------------
check_range() {
  local U; U=$(tg_url main)
  local b="$U/v2/library/alpine/blobs/$SMALL_BLOB" n=2298 full="$WORK/range.full"

  req -H 'Range: bytes=0-99' "$b"
  resp_is "range: bytes=0-99 on a cold blob → 206" 206 bodylen=100 range="bytes 0-99/$n" len=100
  cp "$RB" "$WORK/range.cold"
  req "$b"
  resp_is "range: full GET is the blob" 200 bodylen=$n sha="$SMALL_BLOB"
  cp "$RB" "$full"
  cmp -s "$WORK/range.cold" <(head -c 100 "$full")
  verdict "range: cold 0-99 bytes equal the blob's first 100" $? \
    "request: GET $b Range: bytes=0-99" "expected: first 100 bytes of the blob" "got: different bytes"

  req -H 'Range: bytes=0-99' "$b"
  resp_is "range: bytes=0-99 cached → 206" 206 bodylen=100 range="bytes 0-99/$n" len=100
  cmp -s "$RB" <(head -c 100 "$full")
  verdict "range: cached 0-99 bytes equal the blob's first 100" $? \
    "request: $REQ" "expected: first 100 bytes" "got: different bytes"
  req -H 'Range: bytes=-10' "$b"
  resp_is "range: bytes=-10 → last 10 bytes" 206 bodylen=10 range="bytes $((n - 10))-$((n - 1))/$n"
  cmp -s "$RB" <(tail -c 10 "$full")
  verdict "range: bytes=-10 content" $? "request: $REQ" "expected: last 10 bytes" "got: different bytes"
  req -H 'Range: bytes=100-' "$b"
  resp_is "range: bytes=100- → rest" 206 bodylen=$((n - 100)) range="bytes 100-$((n - 1))/$n"
  req -H 'Range: bytes=2000-99999' "$b"
  resp_is "range: end past the size is clamped" 206 bodylen=$((n - 2000)) range="bytes 2000-$((n - 1))/$n"
  req -H 'Range: bytes=99999999999-' "$b"
  resp_is "range: bytes=99999999999- → 416 RANGE_INVALID" 416 code=RANGE_INVALID
  req -H 'Range: bytes=0-1,5-6' "$b"
  if { [ "$RS" = 200 ] && [ "$(body_sha)" = "$SMALL_BLOB" ]; } || [ "$RS" = 416 ] ||
     { [ "$RS" = 206 ] && [[ "$(hdr content-type)" == multipart/byteranges* ]]; }; then
    pass "range: multi-range request → full 200, 416 or multipart 206"
  else
    fail "range: multi-range request → full 200, 416 or multipart 206" "request: $REQ" \
      "expected: 200 with the whole blob, 416, or 206 multipart/byteranges" "got: $(got | head -c 200), range=$(hdr content-range), $(body_len) bytes"
  fi
  req -I "$b"
  [ "$(hdr accept-ranges)" = bytes ] && pass "range: blob advertises Accept-Ranges: bytes" ||
    fail "range: blob advertises Accept-Ranges: bytes" "request: $REQ" "expected: Accept-Ranges: bytes" "got: $(hdr accept-ranges)"

  # a range on a cold 64 MiB blob: answered once the whole blob is downloaded and verified
  local big="$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  REQ_TIMEOUT=60 req -H 'Range: bytes=0-99' "$big"
  resp_is "range: bytes=0-99 on a cold 64 MiB blob → 206" 206 bodylen=100 "range~=^bytes 0-99/$BIG_BLOB_SIZE$"
  cp "$RB" "$WORK/range.big"
  REQ_TIMEOUT=120 req -H "Range: bytes=$((BIG_BLOB_SIZE - 100))-" "$big"
  resp_is "range: last 100 bytes of the 64 MiB blob" 206 bodylen=100 \
    range="bytes $((BIG_BLOB_SIZE - 100))-$((BIG_BLOB_SIZE - 1))/$BIG_BLOB_SIZE"
}

# ---------------------------------------------------------------------------------------------
check_routing() {
  local U H; U=$(tg_url main); H=$(tg_host main)
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/org/tool/manifests/v1"
  resp_is "routing: path prefix /v2/ghcr.io/org/tool" 200 sha="$TOOL_DIGEST" digest="$TOOL_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/org/tool/manifests/v1?ns=ghcr.io"
  resp_is "routing: ?ns=ghcr.io (cached by the prefix request → hit)" 200 sha="$TOOL_DIGEST" xcache=hit
  req "${ACCEPT_ALL[@]}" -H 'Host: ghcr.mirror.test' "$U/v2/org/tool/manifests/v1"
  resp_is "routing: Host alias ghcr.mirror.test" 200 sha="$TOOL_DIGEST" digest="$TOOL_DIGEST"
  req "${ACCEPT_ALL[@]}" -H "Host: ghcr.mirror.test:${H##*:}" "$U/v2/org/tool/manifests/v1"
  resp_is "routing: Host alias with port (ghcr.mirror.test:PORT)" 200 sha="$TOOL_DIGEST"
  req "${ACCEPT_ALL[@]}" -H 'Host: GHCR.Mirror.TEST' "$U/v2/org/tool/manifests/v1"
  resp_is "routing: Host alias is case-insensitive (GHCR.Mirror.TEST)" 200 sha="$TOOL_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/alpine/manifests/3.19?ns=docker.io"
  resp_is "routing: ?ns=docker.io + one-component name gets library/" 200 sha="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/docker.io/alpine/manifests/3.19"
  resp_is "routing: prefix docker.io + one-component name gets library/" 200 sha="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/alpine/manifests/3.19"
  resp_is "routing: default upstream + library/ (alpine → docker.io/library/alpine)" 200 sha="$ALPINE_DIGEST" digest="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "routing: default upstream, library/alpine" 200 sha="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19?ns=docker.io"
  resp_is "routing: ?ns=docker.io" 200 sha="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/docker.io/library/alpine/manifests/3.19"
  resp_is "routing: prefix /v2/docker.io/library/alpine" 200 sha="$ALPINE_DIGEST"
  # clients' own Authorization headers are the mirror's business (its auth layer checks them),
  # never passed upstream: the mirror uses its own credentials there
  req "${ACCEPT_ALL[@]}" "$U/v2/quay.io/coreos/etcd/manifests/v3"
  resp_is "routing: prefix quay.io with the mirror's credentials" 200 sha="$ETCD_DIGEST"
  req "${ACCEPT_ALL[@]}" -H 'Authorization: Basic d3Jvbmc6d3Jvbmc=' "$U/v2/quay.io/coreos/etcd/manifests/v3"
  resp_is "routing: a client's wrong Basic credentials are refused by the mirror" 401
  req -H 'Authorization: Bearer not-a-token' "$U/v2/library/busybox/tags/list"
  resp_is "routing: a client's foreign Bearer token is refused by the mirror" 401
  req "${ACCEPT_ALL[@]}" "$U/v2/quay.io/coreos/etcd/manifests/v3"
  resp_is "routing: prefix quay.io with the mirror's credentials" 200 sha="$ETCD_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/coreos/etcd/manifests/v3?ns=quay.io"
  resp_is "routing: ?ns=quay.io" 200 sha="$ETCD_DIGEST"

  # precedence: ?ns > Host alias > path prefix > default
  req "${ACCEPT_ALL[@]}" -H 'Host: ghcr.mirror.test' "$U/v2/library/alpine/manifests/3.19?ns=docker.io"
  resp_is "routing: ?ns wins over the Host alias" 200 sha="$ALPINE_DIGEST"
  req "${ACCEPT_ALL[@]}" "$U/v2/docker.io/library/alpine/manifests/3.19?ns=ghcr.io"
  resp_is "routing: ?ns wins over the path prefix (ghcr has no docker.io/library/alpine → 404)" 404
  req "${ACCEPT_ALL[@]}" -H 'Host: ghcr.mirror.test' "$U/v2/docker.io/library/alpine/manifests/3.19"
  resp_is "routing: Host alias wins over the path prefix (→ ghcr → 404)" 404

  # unknown namespaces: 404 JSON and no upstream contacted
  local h0 g0 q0 M
  h0=$(up_lines hub) g0=$(up_lines ghcr) q0=$(up_lines quay) M=$(tg_mark main)
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19?ns=evil.example"
  resp_is "routing: ?ns=evil.example → 404 JSON" 404 'code~=^[A-Z_]+$'
  req "${ACCEPT_ALL[@]}" "$U/v2/org/tool/manifests/v1?ns=$GHCR_HOST"
  resp_is "routing: ?ns=<ghcr's real host:port> (not a configured key) → 404" 404 'code~=^[A-Z_]+$'
  req "$U/v2/org/tool/blobs/sha256:$(printf 'a%.0s' {1..64})?ns=evil.example"
  resp_is "routing: blob with ?ns=evil.example → 404 JSON" 404 'code~=^[A-Z_]+$'
  sleep 0.3
  if [ "$(up_lines hub)" = "$h0" ] && [ "$(up_lines ghcr)" = "$g0" ] && [ "$(up_lines quay)" = "$q0" ]; then
    pass "routing: unknown ns contacts no upstream"
  else
    fail "routing: unknown ns contacts no upstream" "requests: ?ns=evil.example and ?ns=$GHCR_HOST" \
      "expected: hub/ghcr/quay registry logs unchanged" \
      "got: new upstream log lines: $(tail -n +$((g0 + 1)) "$HARNESS_DIR/ghcr/registry.log" | grep -E '"(GET|HEAD) ' | head -3 | tr '\n' ' ') $(tail -n +$((h0 + 1)) "$HARNESS_DIR/hub/registry.log" | grep -E '"(GET|HEAD) ' | head -3 | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------------------------------------
check_badinput() {
  local U; U=$(tg_url main)
  local long; long=$(printf 'a%.0s' {1..300})
  local longtag; longtag=$(printf 't%.0s' {1..129})
  local z64; z64=$(printf '0%.0s' {1..64})
  # METHOD|PATH|STATUS|CODE
  local table=(
    "GET|/v2/../etc/passwd/manifests/x|400|NAME_INVALID"
    "GET|/v2/library/../../etc/passwd/manifests/x|400|NAME_INVALID"
    "GET|/v2/%2e%2e/x/manifests/latest|400|NAME_INVALID"
    "GET|/v2/library/%2E%2E/manifests/latest|400|NAME_INVALID"
    "GET|/v2/library/alpine%2f..%2f..%2fetc/manifests/latest|400|NAME_INVALID"
    "GET|/v2/UPPER/manifests/latest|400|NAME_INVALID"
    "GET|/v2/library/Alpine/manifests/latest|400|NAME_INVALID"
    "GET|/v2/$long/manifests/latest|400|NAME_INVALID"
    "GET|/v2/library//alpine/manifests/latest|400|NAME_INVALID"
    "GET|/v2/-lib/alpine/manifests/latest|400|NAME_INVALID"
    "GET|/v2/library/alpine/blobs/sha256:xyz|400|DIGEST_INVALID"
    "GET|/v2/library/alpine/blobs/sha256:${z64:0:63}|400|DIGEST_INVALID"
    "GET|/v2/library/alpine/blobs/sha256:$(printf 'A%.0s' {1..64})|400|DIGEST_INVALID"
    "HEAD|/v2/library/alpine/blobs/sha256:xyz|400|-"
    "GET|/v2/library/alpine/manifests/sha256:abc|404|MANIFEST_UNKNOWN"
    "GET|/v2/library/alpine/manifests/bad!tag|404|MANIFEST_UNKNOWN"
    "GET|/v2/library/alpine/manifests/.hidden|404|MANIFEST_UNKNOWN"
    "GET|/v2/library/alpine/manifests/$longtag|404|MANIFEST_UNKNOWN"
    "GET|/v2/library/alpine/tags/list?n=abc|400|PAGINATION_NUMBER_INVALID"
    "POST|/v2/library/alpine/blobs/uploads/|405|UNSUPPORTED"
    "PUT|/v2/library/alpine/manifests/3.19|405|UNSUPPORTED"
    "PUT|/v2/library/alpine/manifests/sha256:bad|405|UNSUPPORTED"
    "DELETE|/v2/UPPER/blobs/sha256:bad|405|UNSUPPORTED"
    "DELETE|/v2/library/alpine/manifests/sha256:$z64|405|UNSUPPORTED"
    "DELETE|/v2/library/alpine/blobs/$SMALL_BLOB|405|UNSUPPORTED"
    "PATCH|/v2/library/alpine/blobs/uploads/abc|405|UNSUPPORTED"
    "PUT|/v2/library/alpine/blobs/uploads/abc?digest=$SMALL_BLOB|405|UNSUPPORTED"
    "POST|/v2/|405|UNSUPPORTED"
  )
  local h0 g0 q0 row m p s c label
  h0=$(up_lines hub) g0=$(up_lines ghcr) q0=$(up_lines quay)
  for row in "${table[@]}"; do
    IFS='|' read -r m p s c <<<"$row"
    label="$m ${p:0:70}$([ ${#p} -gt 70 ] && echo '…')"
    case "$m" in
      GET) req "${ACCEPT_ALL[@]}" "$U$p" ;;
      HEAD) req -I "$U$p" ;;
      *) req -X "$m" -H 'Content-Type: application/octet-stream' --data-binary '' "$U$p" ;;
    esac
    if [ "$c" = - ]; then resp_is "badinput: $label → $s" "$s"
    else resp_is "badinput: $label → $s $c" "$s" code="$c"; fi
  done
  sleep 0.3
  if [ "$(up_lines hub)" = "$h0" ] && [ "$(up_lines ghcr)" = "$g0" ] && [ "$(up_lines quay)" = "$q0" ]; then
    pass "badinput: no invalid request reached an upstream"
  else
    fail "badinput: no invalid request reached an upstream" "requests: the bad-input table" "expected: upstream logs unchanged" \
      "got: $(tail -n +$((h0 + 1)) "$HARNESS_DIR/hub/registry.log" | grep -E '"[A-Z]+ /' | head -5 | tr '\n' ' ')"
  fi
  req "$U/v2/$(printf 'a/%.0s' {1..1000})manifests/latest"
  resp_is "badinput: 2000-character path → 400/414" '400|414'
  req -H "X-Padding: $(head -c 65536 /dev/zero | tr '\0' a)" "$U/v2/"
  info "64 KiB request header → status $RS (curl rc $RC)"
  printf '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage-not-http\r\n\r\n' |
    timeout 5 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),3); s.sendall(sys.stdin.buffer.read()); s.settimeout(3)
try: s.recv(100)
except Exception: pass' "${U##*:}"
  req "$U/v2/"
  resp_is "badinput: server still answers /v2/ afterwards" 200
}

# ---------------------------------------------------------------------------------------------
# paginate NAME START-URL-PATH WANT-TAGS — follow Link rel="next" (≤ 10 pages), compare tags.
paginate() {
  local name="$1" next="$2" want="$3" U page=0 all=() link target first=1
  U=$(tg_url main)
  while [ -n "$next" ] && [ $page -lt 10 ]; do
    page=$((page + 1))
    req "$U$next"
    if [ "$RS" != 200 ]; then fail "$name: page $page" "request: $REQ" "expected: 200" "got: $(got)"; return; fi
    local tags; tags=$(jq -r '.tags[]?' "$RB" 2>/dev/null | tr '\n' ' ')
    if [ $first = 1 ]; then
      first=0
      expect "$name: n=1 returns exactly 1 tag" 1 "$(jq '.tags | length' "$RB" 2>/dev/null)" "request: $REQ" "body: $(body_snip)"
    fi
    all+=($tags)
    link=$(hdr link)
    [ -n "$link" ] || break
    target=$(sed -nE 's/^<([^>]*)>;[ ]*rel="?next"?.*$/\1/p' <<<"$link")
    if [ -z "$target" ]; then fail "$name: Link header form" "request: $REQ" 'expected: <URL>; rel="next"' "got: $link"; return; fi
    case "$target" in
      "$U"/v2/*) target=${target#"$U"} ;;
      /v2/*) ;;
      *) fail "$name: Link points at the mirror" "request: $REQ" "expected: </v2/...> or <$U/v2/...>" "got: $link"; return ;;
    esac
    if [ $page = 1 ]; then
      local last1; last1=$(jq -r '.tags[0]' "$RB")
      if [[ "$target" == *"/tags/list?"* && "$target" =~ [?\&]n=1(&|$) && "$target" =~ [?\&]last=$(re_escape "$last1")(&|$) ]]; then
        pass "$name: Link is </v2/…/tags/list?n=1&last=$last1>; rel=\"next\""
      else
        fail "$name: Link is </v2/…/tags/list?n=1&last=$last1>; rel=\"next\"" "request: $REQ" \
          "expected: </v2/<name>/tags/list?n=1&last=$last1>; rel=\"next\"" "got: $link"
      fi
    fi
    next=$target
  done
  # upstreams (registry 2.8) may list tags unsorted; compare as sets, but a tag must not repeat
  expect "$name: following Link pages yields every tag exactly once" "$want" "$(printf '%s\n' "${all[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" \
    "start: GET $2, then each Link rel=next ($page requests)" "pages gave, in order: ${all[*]}"
}

check_tags() {
  local U; U=$(tg_url main)
  local cp=(timeout 60 skopeo copy -q --src-tls-verify=false --dest-tls-verify=false)
  # more tags upstream, so that n=1 paginates
  "${cp[@]}" --src-creds "$HUB_ADMIN" --dest-creds "$HUB_ADMIN" "docker://$HUB_HOST/library/alpine:3.19" "docker://$HUB_HOST/library/alpine:3.18" &&
    "${cp[@]}" --src-creds "$HUB_ADMIN" --dest-creds "$HUB_ADMIN" "docker://$HUB_HOST/library/alpine:3.19" "docker://$HUB_HOST/library/alpine:3.20" &&
    "${cp[@]}" "docker://$GHCR_HOST/org/tool:v1" "docker://$GHCR_HOST/org/tool:v2" &&
    "${cp[@]}" "docker://$GHCR_HOST/org/tool:v1" "docker://$GHCR_HOST/org/tool:v3" >"$WORK/tags.push" 2>&1 ||
    { fail "tags: push extra upstream tags (test setup)" "output: $(head -c 300 "$WORK/tags.push")"; return; }

  req "$U/v2/library/alpine/tags/list"
  resp_is "tags: full list for library/alpine" 200
  expect "tags: full list content" "3.18 3.19 3.20" "$(jq -r '.tags[]?' "$RB" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')" "request: $REQ"
  paginate "tags: docker.io library/alpine n=1" "/v2/library/alpine/tags/list?n=1" "3.18 3.19 3.20"
  paginate "tags: prefix ghcr.io/org/tool n=1" "/v2/ghcr.io/org/tool/tags/list?n=1" "v1 v2 v3"
  paginate "tags: ?ns=ghcr.io org/tool n=1" "/v2/org/tool/tags/list?n=1&ns=ghcr.io" "v1 v2 v3"
  req "$U/v2/library/alpine/tags/list?n=2"
  expect "tags: n=2 gives the first 2 tags in lexical order (OCI)" "3.18 3.19" \
    "$(jq -r '.tags[]?' "$RB" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" "request: $REQ" "upstream tags: 3.18 3.19 3.20 (registry 2.8 lists them unsorted and ignores n/last)"
  req "$U/v2/library/alpine/tags/list?n=10&last=3.18"
  expect "tags: last=3.18 starts after 3.18 (exclusive)" "3.19 3.20" \
    "$(jq -r '.tags[]?' "$RB" 2>/dev/null | tr '\n' ' ' | sed 's/ $//')" "request: $REQ"
  req "$U/v2/library/alpine/tags/list?n=0"
  resp_is "tags: n=0 → 200" 200
  expect "tags: n=0 → no tags and no Link" "0|" "$(jq '.tags | length' "$RB" 2>/dev/null)|$(hdr link)" "request: $REQ"

  # catalog: repos cached so far (make sure two are)
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/org/tool/manifests/v1"
  req "$U/v2/_catalog"
  resp_is "tags: GET /v2/_catalog → 200" 200
  local repos; repos=$(jq -r '.repositories[]?' "$RB" 2>/dev/null | tr '\n' ' ')
  if [[ " $repos " == *" docker.io/library/alpine "* && " $repos " == *" ghcr.io/org/tool "* ]]; then
    pass "tags: _catalog lists docker.io/library/alpine and ghcr.io/org/tool"
  else
    fail "tags: _catalog lists docker.io/library/alpine and ghcr.io/org/tool" "request: $REQ" \
      "expected: repositories ⊇ [docker.io/library/alpine, ghcr.io/org/tool]" "got: $(body_snip 400)"
  fi
  # _catalog?n=1 pages, following Link, give the same list
  local next="/v2/_catalog?n=1" pages=() link i
  for i in $(seq 20); do
    req "$U$next"
    [ "$RS" = 200 ] || break
    pages+=($(jq -r '.repositories[]?' "$RB" 2>/dev/null))
    link=$(hdr link)
    next=$(sed -nE 's/^<([^>]*)>;.*rel="?next"?.*$/\1/p' <<<"$link"); next=${next#"$U"}
    [ -n "$next" ] || break
  done
  expect "tags: _catalog?n=1 pages (following Link) add up to the full catalog" "$(echo $repos)" "${pages[*]}" "last request: $REQ"
  if [[ " $repos " == *"private/app"* ]]; then
    fail "tags: _catalog lists only cached repositories" "request: $REQ" "expected: no private/app (never pulled)" "got: $repos"
  else pass "tags: _catalog lists only cached repositories"; fi
}

# ---------------------------------------------------------------------------------------------
# sk_copy LABEL REF DIGEST [skopeo args] — copy REF through the mirror into dir:, check digests.
sk_copy() {
  local label="$1" ref="$2" want="$3" d="$WORK/skopeo/$1" f b bad=""
  shift 3
  rm -rf "$d"; mkdir -p "$(dirname "$d")"
  run_cmd "skopeo: copy $ref" 300 skopeo copy -q --src-tls-verify=false "$@" "docker://$(tg_host main)/$ref" "dir:$d" || return 1
  expect "skopeo: $ref manifest digest" "$want" "sha256:$(sha256sum <"$d/manifest.json" | cut -d' ' -f1)" "copied to dir:$d"
  for f in "$d"/*; do
    b=$(basename "$f"); b=${b%.manifest.json}
    [[ "$b" =~ ^[0-9a-f]{64}$ ]] || continue
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$b" ] || bad+=" $(basename "$f")"
  done
  [ -z "$bad" ] && pass "skopeo: $ref blobs match their digests" ||
    fail "skopeo: $ref blobs match their digests" "copied to dir:$d" "expected: every file hashes to its name" "got: mismatching:$bad"
}

check_skopeo() {
  local H; H=$(tg_host main)
  sk_copy alpine library/alpine:3.19 "$ALPINE_DIGEST"
  if sk_copy multi library/multi:latest "$MULTI_DIGEST" --all; then
    local kids; kids=$(jq -r '.manifests[].digest' "$WORK/skopeo/multi/manifest.json" 2>/dev/null)
    local n=0 k
    for k in $kids; do [ -f "$WORK/skopeo/multi/${k#sha256:}.manifest.json" ] && n=$((n + 1)); done
    expect "skopeo: --all copied both platform manifests of library/multi" 2 "$n" "children: $(echo $kids)"
  fi
  sk_copy big bigdata/blob:64m "$BIG_DIGEST"

  # an OCI index whose children have no top-level mediaType (umoci): the type must come from upstream
  local oci kid
  if oci=$(timeout 60 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/org/ociapp:1" --oci --multiarch --layer-size 3000 2>"$WORK/oci.err"); then
    sk_copy ociapp ghcr.io/org/ociapp:1 "$oci" --all
    kid=$(jq -r '.manifests[0].digest' "$WORK/skopeo/ociapp/manifest.json" 2>/dev/null)
    req -I "${ACCEPT_ALL[@]}" "$(tg_url main)/v2/ghcr.io/org/ociapp/manifests/1"
    resp_is "skopeo: OCI index HEAD has its media type" 200 digest="$oci" ctype=application/vnd.oci.image.index.v1+json
    req "${ACCEPT_ALL[@]}" "$(tg_url main)/v2/ghcr.io/org/ociapp/manifests/$kid"
    resp_is "skopeo: OCI child manifest (no mediaType field) served as OCI manifest" 200 sha="$kid" \
      ctype=application/vnd.oci.image.manifest.v1+json
  else
    fail "skopeo: push OCI test image (test setup)" "$(tail -c 300 "$WORK/oci.err")"
  fi
  sk_copy tool ghcr.io/org/tool:v1 "$TOOL_DIGEST"
  sk_copy etcd quay.io/coreos/etcd:v3 "$ETCD_DIGEST"

  local raw
  raw=$(timeout 60 skopeo inspect --raw --tls-verify=false "docker://$H/library/alpine:3.19" 2>&1)
  expect "skopeo: inspect --raw through the mirror" "$ALPINE_DIGEST" "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)" \
    "command: skopeo inspect --raw --tls-verify=false docker://$H/library/alpine:3.19" "output: $(head -c 200 <<<"$raw")"

  # a second copy is served from the cache: no new upstream blob GETs
  local M g0 g1
  M=$(tg_mark main); g0=$(up_count hub GET '/v2/library/alpine/blobs/[^ ]+')
  sk_copy alpine2 library/alpine:3.19 "$ALPINE_DIGEST" >/dev/null
  sleep 0.3
  g1=$(up_count hub GET '/v2/library/alpine/blobs/[^ ]+')
  expect "skopeo: second copy fetches no blob from upstream" "$g0" "$g1" "hub registry.log GET /v2/library/alpine/blobs/* count"
  local hits; hits=$(alc main "$M" path '/v2/library/alpine/blobs/[^ "]+' cache hit)
  [ "${hits:-0}" -ge 1 ] && pass "skopeo: access log shows cache=hit for the second copy's blobs" ||
    fail "skopeo: access log shows cache=hit for the second copy's blobs" "expected: ≥1 access line path=/v2/library/alpine/blobs/… cache=hit" \
      "got: $(al main "$M" | grep blobs | head -3 | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
check_podman() {
  local H D P="$HARNESS/clients/podman.sh" M dg n
  H=$(tg_host main)
  D=$(PODMAN_MIRROR="docker.io=$H" "$P" new) || { fail "podman: private podman" "podman.sh new failed"; return; }
  # no fallback to the real docker.io: its location becomes a closed loopback port
  sed -i 's|^location = "docker.io"|location = "127.0.0.1:9"|' "$D/registries.conf"
  echo "podman $D" >>"$WORK/daemons"
  M=$(tg_mark main)
  if run_cmd "podman: pull docker.io/library/alpine:3.19 via registries.conf mirror" 180 "$P" do "$D" pull -q docker.io/library/alpine:3.19; then
    dg=$(timeout 30 "$P" do "$D" image inspect --format '{{.Digest}}' docker.io/library/alpine:3.19 2>&1)
    expect "podman: image digest" "$ALPINE_DIGEST" "$dg"
  fi
  n=$(alc main "$M" path '/v2/library/alpine/manifests/(3\.19|sha256:[0-9a-f]+)' status 200)
  [ "${n:-0}" -ge 1 ] && pass "podman: mirror access log shows the pull" ||
    fail "podman: mirror access log shows the pull" "expected: access line path=/v2/library/alpine/manifests/3.19 status=200" \
      "got: $(al main "$M" | head -5 | tr '\n' ' ')"
  "$P" rm "$D"
}

# ---------------------------------------------------------------------------------------------
ctr_digest() { "$HARNESS/clients/containerd.sh" ctr "$CTR_DIR" images ls 2>/dev/null | awk -v r="$1" '$1 == r { print $3 }'; }

# ctr_ns_ok LABEL MARK NS — the pull's requests carried ?ns=NS and were answered 200.
ctr_ns_ok() {
  local lines bad
  lines=$(al_ns main "$2" "$3")
  bad=$(printf '%s\n' "$lines" | grep . | while read -r l; do s=$(status_of <<<"$l"); [[ "$s" =~ ^2 ]] || echo "$l"; done)
  if [ -n "$lines" ] && [ -z "$bad" ]; then
    pass "containerd: $1 requests carried ?ns=$3 and got 200 ($(grep -c . <<<"$lines") lines)"
  else
    fail "containerd: $1 requests carried ?ns=$3 and got 200" "expected: access lines with ?ns=$3, all status 2xx" \
      "got: $([ -z "$lines" ] && echo "no access line with ns=$3; lines: $(al main "$2" | head -4 | tr '\n' ' ')" || echo "non-2xx: $(head -3 <<<"$bad" | tr '\n' ' ')")"
  fi
}

# ctr_mirror HOST — hosts.toml mirror for HOST → Tollgate; the fallback `server` is pointed at a
# closed loopback port so that a mirror failure can never be masked by (or leak to) the real registry.
ctr_mirror() {
  "$HARNESS/clients/containerd.sh" mirror "$CTR_DIR" "$1" "http://$(tg_host main)"
  sed -i 's|^server = .*|server = "http://127.0.0.1:9"|' "$CTR_DIR/certs.d/$1/hosts.toml"
}

check_containerd() {
  local C="$HARNESS/clients/containerd.sh" H env M
  H=$(tg_host main)
  env=$(timeout 60 "$C" start 2>"$WORK/ctr.err") || { fail "containerd: private containerd starts" "$(tail -c 300 "$WORK/ctr.err")"; return; }
  eval "$env"
  echo "containerd $CTR_DIR" >>"$WORK/daemons"

  run_cmd "containerd: ctr pull --plain-http $H/library/busybox:latest" 180 "$C" pull "$CTR_DIR" --plain-http "$H/library/busybox:latest" &&
    expect "containerd: direct pull digest" "$BUSYBOX_DIGEST" "$(ctr_digest "$H/library/busybox:latest")"

  ctr_mirror docker.io
  M=$(tg_mark main)
  run_cmd "containerd: pull docker.io/library/multi:latest via hosts.toml mirror" 180 "$C" pull "$CTR_DIR" docker.io/library/multi:latest &&
    expect "containerd: docker.io mirror pull digest" "$MULTI_DIGEST" "$(ctr_digest docker.io/library/multi:latest)"
  ctr_ns_ok docker.io "$M" docker.io

  ctr_mirror ghcr.io
  M=$(tg_mark main)
  run_cmd "containerd: pull ghcr.io/org/tool:v1 via hosts.toml mirror" 180 "$C" pull "$CTR_DIR" ghcr.io/org/tool:v1 &&
    expect "containerd: ghcr.io mirror pull digest" "$TOOL_DIGEST" "$(ctr_digest ghcr.io/org/tool:v1)"
  ctr_ns_ok ghcr.io "$M" ghcr.io

  ctr_mirror quay.io
  M=$(tg_mark main)
  run_cmd "containerd: pull quay.io/coreos/etcd:v3 via hosts.toml mirror" 180 "$C" pull "$CTR_DIR" quay.io/coreos/etcd:v3 &&
    expect "containerd: quay.io mirror pull digest" "$ETCD_DIGEST" "$(ctr_digest quay.io/coreos/etcd:v3)"
  ctr_ns_ok quay.io "$M" quay.io

  timeout 30 "$C" stop "$CTR_DIR"
}

# ---------------------------------------------------------------------------------------------
check_docker() {
  local S="$HARNESS/clients/docker.sh" H env M n
  H=$(tg_host main)
  env=$(DOCKERD_MIRROR="http://$H" DOCKERD_INSECURE="$H" timeout 90 "$S" start 2>"$WORK/dockerd.err") ||
    { fail "docker: private dockerd starts" "$(tail -c 300 "$WORK/dockerd.err")"; return; }
  eval "$env"
  echo "docker $DOCKERD_DIR" >>"$WORK/daemons"

  M=$(tg_mark main)
  if run_cmd "docker: pull alpine:3.19 via registry-mirrors" 180 docker pull -q alpine:3.19; then
    expect_match "docker: mirror-pulled alpine:3.19 digest" "(^| )(docker.io/library/)?alpine@$ALPINE_DIGEST( |$)" \
      "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' alpine:3.19 2>&1)" "command: docker inspect alpine:3.19"
  fi
  n=$(alc main "$M" path '/v2/library/alpine/manifests/(3\.19|sha256:[0-9a-f]+)' status 200)
  [ "${n:-0}" -ge 1 ] && pass "docker: mirror access log shows the registry-mirrors pull" ||
    fail "docker: mirror access log shows the registry-mirrors pull" "expected: access line path=/v2/library/alpine/manifests/… status=200" \
      "got: $(al main "$M" | head -5 | tr '\n' ' ')"

  if run_cmd "docker: pull $H/library/alpine:3.19" 180 docker pull -q "$H/library/alpine:3.19"; then
    expect_match "docker: direct pull digest" "(^| )$(re_escape "$H")/library/alpine@$ALPINE_DIGEST( |$)" \
      "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/library/alpine:3.19" 2>&1)"
  fi
  if run_cmd "docker: pull $H/ghcr.io/org/tool:v1 (prefix route)" 180 docker pull -q "$H/ghcr.io/org/tool:v1"; then
    expect_match "docker: prefix pull digest" "@$TOOL_DIGEST( |$)" \
      "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/ghcr.io/org/tool:v1" 2>&1)"
  fi
  timeout 60 "$S" stop "$DOCKERD_DIR"
}

# ---------------------------------------------------------------------------------------------
check_singleflight() {
  local d="$WORK/sf" U i ok=0 bad=() re g0 a0 g1 a1 hex
  mkdir -p "$d"
  tg_config sf
  tg_start sf || { fail "singleflight: fresh instance starts" "log: $(tail -c 400 "$WORK/tg/sf/tollgate.log")"; return; }
  U=$(tg_url sf)
  re=$(re_escape "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB")
  g0=$(up_count hub GET "$re" '2[0-9][0-9]') a0=$(up_count hub GET "$re")
  local pids=()
  for i in $(seq 16); do
    ( curl -sS --max-time 180 -D "$d/h$i" -o - "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 2>"$d/e$i" |
        sha256sum | cut -d' ' -f1 >"$d/s$i"
      echo "${PIPESTATUS[0]}" >"$d/rc$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"   # not a bare `wait`: the tollgate instance is a child of this shell too
  for i in $(seq 16); do
    local st; st=$(head -1 "$d/h$i" 2>/dev/null | awk '{print $2}')
    if [ "$(cat "$d/rc$i")" = 0 ] && [ "$st" = 200 ] && [ "sha256:$(cat "$d/s$i")" = "$BIG_BLOB" ]; then ok=$((ok + 1))
    else bad+=("#$i status=$st curl_rc=$(cat "$d/rc$i") sha256=$(cat "$d/s$i") $(head -c 120 "$d/e$i")"); fi
  done
  expect "singleflight: 16 concurrent cold GETs all get the full, correct 64 MiB blob" 16 "$ok" \
    "request: 16 × curl $U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" "${bad[@]:0:4}"
  sleep 0.5
  g1=$(up_count hub GET "$re" '2[0-9][0-9]') a1=$(up_count hub GET "$re")
  expect "singleflight: hub saw exactly 1 blob GET (2xx)" 1 "$((g1 - g0))" \
    "hub registry.log: GET /v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB lines, any status: $((a1 - a0))"
  local hwm; hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$(cat "$WORK/tg/sf/pid")/status" 2>/dev/null)
  info "tollgate peak RSS after 16 × 64 MiB concurrent transfers: ${hwm:-?} MiB"
  [ "${hwm:-0}" -lt 512 ] && pass "singleflight: peak RSS < 512 MiB while serving 16 × 64 MiB (streams, does not buffer)" ||
    fail "singleflight: peak RSS < 512 MiB while serving 16 × 64 MiB (streams, does not buffer)" \
      "expected: VmHWM < 512 MiB" "got: ${hwm} MiB"
  hex=${BIG_BLOB#sha256:}
  local f="$WORK/tg/sf/data/blobs/sha256/${hex:0:2}/$hex"
  if [ -f "$f" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$hex" ]; then pass "singleflight: blob stored once, intact"
  else fail "singleflight: blob stored once, intact" "expected: $f with sha256 $hex" "got: $(ls -la "$f" 2>&1)"; fi
  local left; left=$(find "$WORK/tg/sf/data/tmp" -mindepth 1 2>/dev/null | head -3)
  [ -z "$left" ] && pass "singleflight: storage tmp/ empty afterwards" ||
    fail "singleflight: storage tmp/ empty afterwards" "expected: no files in tmp/" "got: $left"
  tg_stop sf

  # a lone client hangs up after 1 MiB of a cold blob: the fill goes on for the abandon grace
  # (5 s) and then stops unless near its end; either way nothing partial stays
  hangup_case lone 0
  # the first client hangs up while two others share its fill: they still get everything
  hangup_case leader 2
}

# hangup_case NAME FOLLOWERS — fresh instance; client 0 reads 1 MiB and closes; FOLLOWERS read all.
hangup_case() {
  local name="hang-$1" n="$2" d="$WORK/$1" U re g0 g1 i ok=0 pids=() hex f
  mkdir -p "$d"
  tg_config "$name"
  tg_start "$name" || { fail "singleflight: $1 instance starts" ""; return; }
  U=$(tg_url "$name")
  re=$(re_escape "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB")
  g0=$(up_count hub GET "$re" 200)
  ( curl -sS --max-time 60 "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 2>/dev/null | head -c 1048576 >/dev/null ) &
  pids+=($!)
  sleep 0.2
  for i in $(seq "$n"); do
    ( curl -sS --max-time 120 -o - "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 2>"$d/e$i" | sha256sum | cut -d' ' -f1 >"$d/s$i"
      echo "${PIPESTATUS[0]}" >"$d/rc$i" ) &
    pids+=($!)
  done
  if [ "$n" -gt 0 ]; then  # and a ranged read of the tail while the fill runs
    ( curl -sS --max-time 120 -H "Range: bytes=$((BIG_BLOB_SIZE - 1000))-" -D "$d/rh" -o "$d/tail" \
        "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 2>"$d/re"; echo $? >"$d/rrc" ) &
    pids+=($!)
  fi
  wait "${pids[@]}"
  if [ "$n" -gt 0 ]; then
    for i in $(seq "$n"); do [ "$(cat "$d/rc$i")" = 0 ] && [ "sha256:$(cat "$d/s$i")" = "$BIG_BLOB" ] && ok=$((ok + 1)); done
    expect "singleflight: $n clients sharing a fill whose first client hung up get the whole blob" "$n" "$ok" \
      "request: curl $U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB (first client closes after 1 MiB)" \
      "client 1: rc=$(cat "$d/rc1" 2>/dev/null) sha256=$(cat "$d/s1" 2>/dev/null) $(head -c 150 "$d/e1" 2>/dev/null)"
  fi
  hex=${BIG_BLOB#sha256:}
  f="$WORK/tg/$name/data/blobs/sha256/${hex:0:2}/$hex"
  for i in $(seq 300); do
    [ -f "$f" ] && break
    [ "$n" = 0 ] && grep -q "no client is waiting" "$WORK/tg/$name/tollgate.log" && break
    sleep 0.1
  done
  if [ "$n" = 0 ] && [ ! -f "$f" ]; then
    local left; left=$(find "$WORK/tg/$name/data/tmp" -type f 2>/dev/null | head -3)
    if grep -q "no client is waiting" "$WORK/tg/$name/tollgate.log" && [ -z "$left" ]; then
      pass "singleflight: lone — the abandoned fill stopped after the grace: nothing stored, tmp/ empty"
    else
      fail "singleflight: lone — the fill completes within the grace, or stops leaving nothing" \
        "expected: $f with sha256 $hex, or 'no client is waiting' in the log and an empty tmp/" \
        "got: tmp: $left; log: $(grep -i download "$WORK/tg/$name/tollgate.log" | tail -1)"
    fi
    req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
    resp_is "singleflight: lone — the next GET downloads it again, whole" 200 sha="$BIG_BLOB"
    tg_stop "$name"
    return
  fi
  if [ -f "$f" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$hex" ]; then
    pass "singleflight: $1 — the fill completes and is stored although the first client hung up"
  else
    fail "singleflight: $1 — the fill completes and is stored although the first client hung up" \
      "request: curl $U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB | head -c 1MiB (client closes)" \
      "expected: $f appears within 30 s with sha256 $hex" "got: $(ls -la "$f" 2>&1); tmp: $(ls -la "$WORK/tg/$name/data/tmp" 2>&1 | tail -n +2 | head -3 | tr '\n' ' ')"
  fi
  if [ "$n" -gt 0 ] && [ -f "$f" ]; then
    if [ "$(cat "$d/rrc")" = 0 ] && [ "$(head -1 "$d/rh" | awk '{print $2}')" = 206 ] && cmp -s "$d/tail" <(tail -c 1000 "$f"); then
      pass "singleflight: Range read of the tail during a fill → 206 with the right bytes"
    else
      fail "singleflight: Range read of the tail during a fill → 206 with the right bytes" \
        "request: curl -H 'Range: bytes=$((BIG_BLOB_SIZE - 1000))-' $U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB (while the blob is being filled)" \
        "expected: 206, the blob's last 1000 bytes" \
        "got: $(head -1 "$d/rh" | tr -d '\r'), curl rc $(cat "$d/rrc"), $(stat -c %s "$d/tail" 2>/dev/null) bytes, same as tail: $(cmp -s "$d/tail" <(tail -c 1000 "$f") && echo yes || echo no)"
    fi
  fi
  sleep 0.3
  g1=$(up_count hub GET "$re" 200)
  expect "singleflight: $1 — hub saw exactly 1 full blob GET (200)" 1 "$((g1 - g0))"
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  resp_is "singleflight: $1 — next GET is a complete cache hit" 200 sha="$BIG_BLOB" xcache=hit
  tg_stop "$name"
}

# ---------------------------------------------------------------------------------------------
fake_digest() { python3 "$E2E_DIR/fake_upstream.py" --digest "$1"; }

check_mismatch() {
  local fd="$WORK/fake" U S i kind dg fport n0 flog
  mkdir -p "$fd"
  python3 "$E2E_DIR/fake_upstream.py" --port-file "$fd/port" --log "$fd/requests.log" >"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && break; sleep 0.1; done
  fport=$(cat "$fd/port" 2>/dev/null) || { fail "mismatch: fake upstream starts" "$(cat "$fd/out.log")"; return; }
  flog="$fd/requests.log"
  tg_config bad "" "  bad.test: {url: \"http://127.0.0.1:$fport\", username: fakeuser, password_file: \"$WORK/quay.password\", manifest_ttl: 1s}"
  tg_start bad || { fail "mismatch: instance with bad.test upstream starts" "log: $(tail -c 400 "$WORK/tg/bad/tollgate.log")"; return; }
  U=$(tg_url bad) S="$WORK/tg/bad/data"
  n0=$(find "$S/blobs" -type f 2>/dev/null | wc -l)

  # incomplete = anything but (curl exit 0 and a 2xx status)
  judge() {  # judge LABEL WANT-DIGEST
    local seen; seen=$(grep -c "$2" "$flog")
    if [ "$seen" = 0 ]; then
      fail "mismatch: $1" "request: $REQ" "expected: the mirror asks bad.test and refuses the bytes" \
        "got: bad.test never received a request for $2 (routing?); response: $(got)"
    elif [ "$RC" = 0 ] && [[ "$RS" =~ ^2 ]]; then
      fail "mismatch: $1" "request: $REQ" "expected: non-2xx status or an incomplete transfer (curl exit ≠ 0)" \
        "got: complete $RS response, $(body_len) bytes, body $(body_sha) (requested $2), X-Cache=$(hdr x-cache)"
    else
      pass "mismatch: $1 (status=$RS curl_rc=$RC after $(body_len) bytes)"
    fi
  }
  for kind in small big trunc; do
    dg=$(fake_digest $kind)
    REQ_TIMEOUT=60 req "$U/v2/bad.test/e2e/$kind/blobs/$dg"
    case $kind in
      small) judge "1000-byte blob whose bytes don't hash to the digest → not delivered" "$dg" ;;
      big) judge "8 MiB blob whose bytes don't hash to the digest → not delivered complete" "$dg" ;;
      trunc) judge "upstream closes mid-blob → client does not get a complete response" "$dg" ;;
    esac
  done
  dg=$(fake_digest manifest)
  req "${ACCEPT_ALL[@]}" "$U/v2/bad.test/e2e/any/manifests/$dg"
  judge "manifest by digest whose bytes don't hash to it → not delivered" "$dg"
  dg=$(fake_digest small)
  REQ_TIMEOUT=60 req "$U/v2/bad.test/e2e/small/blobs/$dg"
  judge "repeating the bad blob request is refused again" "$dg"

  # nothing kept: no new blob files, tmp/ empty (allow 5 s for cleanup)
  local left n1
  for i in $(seq 50); do
    left=$(find "$S/tmp" -mindepth 1 2>/dev/null | head -3); n1=$(find "$S/blobs" -type f 2>/dev/null | wc -l)
    [ -z "$left" ] && [ "$n1" = "$n0" ] && break
    sleep 0.1
  done
  expect "mismatch: no blob file kept on disk" "$n0" "$n1" "files under $S/blobs: $(find "$S/blobs" -type f 2>/dev/null | head -3 | tr '\n' ' ')"
  local kept=""
  for kind in small big trunc manifest; do
    dg=$(fake_digest $kind); dg=${dg#sha256:}
    [ -e "$S/blobs/sha256/${dg:0:2}/$dg" ] && kept+=" $kind:blobs/sha256/${dg:0:2}/$dg"
  done
  [ -z "$kept" ]
  verdict "mismatch: nothing stored under the requested digests" $? "expected: no blobs/sha256/xx/<hex> for them" "got:$kept"
  [ -z "$left" ]
  verdict "mismatch: storage tmp/ empty" $? "expected: empty $S/tmp" "got: $left"

  # a tag whose upstream Docker-Content-Digest lies: never pass the lie on
  req "${ACCEPT_ALL[@]}" "$U/v2/bad.test/e2e/liar/manifests/latest"
  if [[ "$RS" =~ ^2 ]] && [ "$RC" = 0 ]; then
    expect "mismatch: tag with a lying upstream digest header → Docker-Content-Digest = sha256(body)" "$(body_sha)" "$(hdr docker-content-digest)" "request: $REQ"
  else pass "mismatch: tag with a lying upstream digest header refused (status=$RS)"; fi

  # upstream failures map to gateway errors; an upstream 429 may be passed on
  dg=$(fake_digest e500)
  req "$U/v2/bad.test/e2e/e500/blobs/$dg"
  resp_is "badupstream: upstream 500 → 502/503 JSON" '502|503' 'code~=^(BAD_GATEWAY|UNAVAILABLE)$'
  dg=$(fake_digest e429)
  req "$U/v2/bad.test/e2e/e429/blobs/$dg"
  resp_is "badupstream: upstream 429 → 429 TOOMANYREQUESTS or 503 JSON" '429|503' 'code~=^(TOOMANYREQUESTS|UNAVAILABLE)$'
  if [ "$RS" = 429 ]; then
    expect "badupstream: a passed-on 429 carries Retry-After" 7 "$(hdr retry-after)" "request: $REQ" "upstream sent Retry-After: 7"
  fi
  # 307 to another host (a CDN): followed, without the upstream credentials
  dg=$(fake_digest redirect)
  req "$U/v2/bad.test/e2e/redirect/blobs/$dg"
  resp_is "badupstream: blob 307 to another host is followed server-side" 200 sha="$dg"
  if grep -q 'CDN with-authorization' "$flog"; then
    fail "badupstream: credentials are not sent to the redirect target" "request: $REQ" \
      "expected: GET http://localhost:$fport/cdn/... without Authorization" "got: Authorization header forwarded to the other host"
  elif grep -q 'CDN no-authorization' "$flog"; then pass "badupstream: credentials are not sent to the redirect target"
  else fail "badupstream: credentials are not sent to the redirect target" "request: $REQ" "expected: the mirror fetches the 307 target" \
    "got: target never requested; fake log: $(tail -5 "$flog" | tr '\n' ' ')"; fi

  # tee streaming: the first body bytes of a slow cold blob (4 MiB over ~3 s) arrive long before the end
  dg=$(fake_digest slow)
  local timing
  timing=$(timeout 60 python3 - "$U/v2/bad.test/e2e/slow/blobs/$dg" <<'PY' 2>&1
import hashlib, sys, time, urllib.request
t0 = time.monotonic()
r = urllib.request.urlopen(sys.argv[1], timeout=30)
h = hashlib.sha256(); first = None; n = 0
while True:
    b = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
    if not b: break
    if first is None: first = time.monotonic() - t0
    h.update(b); n += len(b)
print(r.status, f"{first:.2f}", f"{time.monotonic() - t0:.2f}", n, "sha256:" + h.hexdigest())
PY
)
  local st ttfb ttot nb sha
  read -r st ttfb ttot nb sha <<<"$timing"
  if [ "$st" = 200 ] && [ "$sha" = "$dg" ] && python3 -c "import sys; sys.exit(0 if float('$ttfb') < 1.5 and float('$ttot') >= 2.0 else 1)" 2>/dev/null; then
    pass "badupstream: cold blob is streamed (first body byte ${ttfb}s, last ${ttot}s)"
  else
    fail "badupstream: cold blob is streamed while it downloads" "request: GET $U/v2/bad.test/e2e/slow/blobs/$dg (upstream sends 4 MiB over ~3.2 s)" \
      "expected: 200, right sha256, first body byte < 1.5 s, total ≥ 2 s" "got: $timing"
  fi

  # stale-if-error also covers an upstream that answers 5xx (not only one that is down)
  local fm="$U/v2/bad.test/e2e/flip/manifests/latest" hd; hd=$(fake_digest manifest-honest)
  req "${ACCEPT_ALL[@]}" "$fm"
  resp_is "badupstream: honest manifest from bad.test (1s TTL)" 200 sha="$hd"
  curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$fport/_fail"
  sleep 1.5
  req "${ACCEPT_ALL[@]}" "$fm"
  resp_is "badupstream: upstream now answers 503 → cached tag served stale" 200 sha="$hd" xcache=stale

  # control: honest bytes from the same upstream do work and are stored
  dg=$(fake_digest good)
  req "$U/v2/bad.test/e2e/good/blobs/$dg"
  resp_is "mismatch: control — honest blob from bad.test is served" 200 sha="$dg"
  local hex=${dg#sha256:}
  for i in $(seq 50); do [ -f "$S/blobs/sha256/${hex:0:2}/$hex" ] && break; sleep 0.1; done
  [ -f "$S/blobs/sha256/${hex:0:2}/$hex" ] && pass "mismatch: control — honest blob stored" ||
    fail "mismatch: control — honest blob stored" "expected: $S/blobs/sha256/${hex:0:2}/$hex" "got: missing"
  tg_stop bad
  stop_pidfile "$fd/pid" fake_upstream.py
}

# ---------------------------------------------------------------------------------------------
check_stale() {
  local U H M h0 g0 d="$WORK/stale" re
  mkdir -p "$d"
  tg_config stale 1s
  tg_start stale || { fail "stale: instance with manifest_ttl 1s starts" "log: $(tail -c 400 "$WORK/tg/stale/tollgate.log")"; return; }
  U=$(tg_url stale) H=$(tg_host stale)
  local m="$U/v2/library/alpine/manifests/3.19"
  re='/v2/library/alpine/manifests/3\.19'

  req "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: first GET of alpine:3.19 → miss" 200 sha="$ALPINE_DIGEST" xcache=miss
  h0=$(up_count hub HEAD "$re") g0=$(up_count hub GET "$re")
  req "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: GET within the TTL → hit" 200 sha="$ALPINE_DIGEST" xcache=hit
  sleep 0.2
  expect "stale: within the TTL upstream is not asked" "$h0 $g0" "$(up_count hub HEAD "$re") $(up_count hub GET "$re")" "hub HEAD/GET manifests/3.19 counts"
  run_cmd "stale: skopeo copy alpine:3.19 through the 1s-TTL mirror" 120 \
    skopeo copy -q --src-tls-verify=false "docker://$H/library/alpine:3.19" "dir:$d/one"

  sleep 1.5
  h0=$(up_count hub HEAD "$re" '2[0-9][0-9]') g0=$(up_count hub GET "$re")
  req "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: GET after the TTL → revalidated" 200 sha="$ALPINE_DIGEST" xcache=revalidated
  sleep 0.2
  expect "stale: revalidation is one upstream HEAD (2xx), no manifest GET" "$((h0 + 1)) $g0" \
    "$(up_count hub HEAD "$re" '2[0-9][0-9]') $(up_count hub GET "$re")" "hub: HEAD(2xx) GET counts for manifests/3.19"

  # a tag that moves upstream is seen after the TTL
  local cp=(timeout 60 skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --src-creds "$HUB_ADMIN" --dest-creds "$HUB_ADMIN")
  local mv="$U/v2/library/alpine/manifests/moving"
  if "${cp[@]}" "docker://$HUB_HOST/library/alpine:3.19" "docker://$HUB_HOST/library/alpine:moving" >"$d/push.log" 2>&1; then
    req "${ACCEPT_ALL[@]}" "$mv"
    resp_is "stale: tag 'moving' first seen at the alpine digest" 200 sha="$ALPINE_DIGEST"
    if "${cp[@]}" "docker://$HUB_HOST/library/busybox:latest" "docker://$HUB_HOST/library/alpine:moving" >>"$d/push.log" 2>&1; then
      sleep 1.5
      req "${ACCEPT_ALL[@]}" "$mv"
      resp_is "stale: after the TTL a moved tag is served at its new digest" 200 sha="$BUSYBOX_DIGEST" digest="$BUSYBOX_DIGEST" \
        'xcache~=^(revalidated|miss)$'
    else fail "stale: re-point tag upstream (test setup)" "$(tail -c 300 "$d/push.log")"; fi
  else fail "stale: push tag 'moving' upstream (test setup)" "$(tail -c 300 "$d/push.log")"; fi

  # upstream down
  "$HARNESS/upstream.sh" stop hub >/dev/null 2>&1
  sleep 2
  M=$(tg_mark stale)
  REQ_TIMEOUT=40 req "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: hub down → cached tag served stale" 200 sha="$ALPINE_DIGEST" digest="$ALPINE_DIGEST" xcache=stale
  REQ_TIMEOUT=40 req -I "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: hub down → HEAD of the cached tag (containerd's resolve) still 200" 200 digest="$ALPINE_DIGEST" \
    'len~=^[1-9][0-9]*$' ctype="$V2S2"
  run_cmd "stale: skopeo copy alpine:3.19 while hub is down" 120 \
    skopeo copy -q --src-tls-verify=false "docker://$H/library/alpine:3.19" "dir:$d/two" &&
    expect "stale: digest of the stale copy" "$ALPINE_DIGEST" "sha256:$(sha256sum <"$d/two/manifest.json" | cut -d' ' -f1)"
  local n; n=$(alc stale "$M" path "$re" cache stale)
  [ "${n:-0}" -ge 1 ] && pass "stale: access log says cache=stale" ||
    fail "stale: access log says cache=stale" "expected: access line path=/v2/library/alpine/manifests/3.19 cache=stale" \
      "got: $(al stale "$M" | head -3 | tr '\n' ' ')"
  local t0 t1
  t0=$(date +%s)
  REQ_TIMEOUT=40 req "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
  t1=$(date +%s)
  resp_is "stale: never-pulled tag while hub is down → 502/503/504 JSON" '502|503|504' 'code~=^(UNAVAILABLE|BAD_GATEWAY|GATEWAY_TIMEOUT)$'
  [ $((t1 - t0)) -le 30 ]
  verdict "stale: upstream-down error comes within 30 s" $? "request: $REQ" "expected: ≤ 30 s" "got: $((t1 - t0)) s"
  REQ_TIMEOUT=40 req "$U/v2/library/busybox/blobs/$BUSYBOX_LAYER"
  resp_is "stale: never-fetched blob while hub is down → 502/503/504 JSON" '502|503|504' 'code~=^(UNAVAILABLE|BAD_GATEWAY|GATEWAY_TIMEOUT)$'

  "$HARNESS/upstream.sh" restart hub >/dev/null 2>"$d/restart.err" ||
    fail "stale: upstream.sh restart hub (test setup)" "$(cat "$d/restart.err")"
  sleep 1.2
  req "${ACCEPT_ALL[@]}" "$m"
  resp_is "stale: after hub is back the tag is fresh again" 200 sha="$ALPINE_DIGEST" 'xcache~=^(revalidated|miss|hit)$'
  req "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
  resp_is "stale: the previously failing tag works after hub is back" 200 sha="$BUSYBOX_DIGEST"
  tg_stop stale
}

# ---------------------------------------------------------------------------------------------
check_restart() {
  local U S hb hm n
  U=$(tg_url main) S="$WORK/tg/main/data"
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "restart: blob cached before the restart" 200 sha="$SMALL_BLOB"
  mkdir -p "$S/tmp" && echo junk >"$S/tmp/leftover-from-a-crash"
  tg_stop main
  tg_start main 2>"$WORK/restart.err" || { fail "restart: serve starts again on the same storage" "$(tail -c 400 "$WORK/restart.err")"; return; }
  pass "restart: serve starts again on the same storage"
  hb=$(up_count hub GET '/v2/library/alpine/blobs/[^ ]+') hm=$(up_count hub GET '/v2/library/alpine/manifests/[^ ]+')
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "restart: cached blob is a hit after restart" 200 sha="$SMALL_BLOB" xcache=hit
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/$ALPINE_DIGEST"
  resp_is "restart: cached manifest by digest is a hit after restart" 200 sha="$ALPINE_DIGEST" xcache=hit
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "restart: tag still resolves after restart" 200 sha="$ALPINE_DIGEST"
  sleep 0.3
  expect "restart: no upstream GET for cached content" "$hb $hm" \
    "$(up_count hub GET '/v2/library/alpine/blobs/[^ ]+') $(up_count hub GET '/v2/library/alpine/manifests/[^ ]+')" \
    "hub GET counts (blobs, manifests) for library/alpine"
  [ ! -e "$S/tmp/leftover-from-a-crash" ]
  verdict "restart: tmp/ is cleared at start" $? \
    "expected: $S/tmp/leftover-from-a-crash removed at start (design: tmp/ cleared at start)" "got: still there"
}

# ---------------------------------------------------------------------------------------------
check_burst() {
  local d="$WORK/burst" U H i pids=() ok=0 bad=() re m0 m1
  mkdir -p "$d"
  tg_config burst
  tg_start burst || { fail "burst: fresh instance starts" ""; return; }
  U=$(tg_url burst) H=$(tg_host burst)
  re='/v2/library/busybox/manifests/latest'
  m0=$(up_count hub GET "$re" 200)
  for i in $(seq 20); do
    ( curl -sS --max-time 60 "${ACCEPT_ALL[@]}" -o "$d/m$i" -w '%{http_code}' "$U/v2/library/busybox/manifests/latest" >"$d/st$i" 2>"$d/err$i" ) &
    pids+=($!)
  done
  local refs=(library/alpine:3.19 ghcr.io/org/tool:v1 quay.io/coreos/etcd:v3 library/busybox:latest)
  for i in "${!refs[@]}"; do
    ( timeout 120 skopeo copy -q --src-tls-verify=false "docker://$H/${refs[$i]}" "dir:$d/img$i" >"$d/sk$i.log" 2>&1; echo $? >"$d/sk$i.rc" ) &
    pids+=($!)
  done
  ( timeout 120 skopeo copy -q --all --src-tls-verify=false "docker://$H/library/multi:latest" "dir:$d/multi" >"$d/skm.log" 2>&1; echo $? >"$d/skm.rc" ) &
  pids+=($!)
  wait "${pids[@]}"
  for i in $(seq 20); do
    if [ "$(cat "$d/st$i")" = 200 ] && [ "sha256:$(sha256sum <"$d/m$i" | cut -d' ' -f1)" = "$BUSYBOX_DIGEST" ]; then ok=$((ok + 1))
    else bad+=("#$i status=$(cat "$d/st$i") $(head -c 150 "$d/m$i" | tr '\n' ' ') $(head -c 100 "$d/err$i")"); fi
  done
  expect "burst: 20 concurrent cold GETs of one tag all get the manifest" 20 "$ok" \
    "request: 20 × curl $U/v2/library/busybox/manifests/latest (while 5 skopeo copies run)" "${bad[@]:0:3}"
  sleep 0.3
  m1=$(up_count hub GET "$re" 200)
  info "hub manifest GETs for busybox:latest during the burst: $((m1 - m0))"
  local want=("$ALPINE_DIGEST" "$TOOL_DIGEST" "$ETCD_DIGEST" "$BUSYBOX_DIGEST")
  for i in "${!refs[@]}"; do
    if [ "$(cat "$d/sk$i.rc")" = 0 ] && [ "sha256:$(sha256sum <"$d/img$i/manifest.json" | cut -d' ' -f1)" = "${want[$i]}" ]; then
      pass "burst: concurrent skopeo copy ${refs[$i]}"
    else
      fail "burst: concurrent skopeo copy ${refs[$i]}" "command: skopeo copy docker://$H/${refs[$i]} dir:..." \
        "expected: exit 0, digest ${want[$i]}" "got: exit $(cat "$d/sk$i.rc"); $(tail -c 300 "$d/sk$i.log" | tr '\n' ' ')"
    fi
  done
  if [ "$(cat "$d/skm.rc")" = 0 ] && [ "sha256:$(sha256sum <"$d/multi/manifest.json" | cut -d' ' -f1)" = "$MULTI_DIGEST" ]; then
    pass "burst: concurrent skopeo copy --all library/multi:latest"
  else
    fail "burst: concurrent skopeo copy --all library/multi:latest" "expected: exit 0, digest $MULTI_DIGEST" \
      "got: exit $(cat "$d/skm.rc"); $(tail -c 300 "$d/skm.log" | tr '\n' ' ')"
  fi
  local errs; errs=$(grep -iE 'level=error|\berror\b|fatal|panic' "$WORK/tg/burst/tollgate.log" | grep -v 'access ' | head -3)
  [ -z "$errs" ] && pass "burst: no errors in the server log" ||
    fail "burst: no errors in the server log" "expected: no error lines" "got: $errs"
  tg_stop burst
}

# ---------------------------------------------------------------------------------------------
# Accept negotiation. Upstream registry 2.8 answers an Accept without the tag's type with a
# converted schema1 manifest; the mirror must not turn that into a gateway error. Acceptable:
# 404 MANIFEST_UNKNOWN (type not acceptable, as distribution v3) or the stored manifest.
accept_ok() {  # accept_ok NAME WANT-DIGEST-IF-200 ACCEPT
  local name="$1" want="$2"
  req -H "Accept: $3" "$(tg_url main)$4"
  if [ "$RS" = 404 ] && [ "$(errcode)" = MANIFEST_UNKNOWN ]; then pass "$name (404 MANIFEST_UNKNOWN)"
  elif [ "$RS" = 200 ] && [ "$RC" = 0 ] && [ "$(body_sha)" = "$(hdr docker-content-digest)" ] && [ "$(body_sha)" = "$want" ]; then
    pass "$name (200, $(hdr content-type))"
  else
    fail "$name" "request: $REQ" "expected: 404 MANIFEST_UNKNOWN, or 200 with the manifest ($want) and a matching Docker-Content-Digest" \
      "got: $(got)"
  fi
}

check_accept() {
  local U; U=$(tg_url main)
  local oci=application/vnd.oci.image.manifest.v1+json list=application/vnd.docker.distribution.manifest.list.v2+json
  accept_ok "accept: v2s2 tag asked with Accept: OCI manifest only, cold" "$BUSYBOX_DIGEST" "$oci" /v2/library/busybox/manifests/latest
  accept_ok "accept: v2s2 tag asked with Accept: manifest list only" "$ALPINE_DIGEST" "$list" /v2/library/alpine/manifests/3.19
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "accept: same tag with all four types" 200 sha="$ALPINE_DIGEST"
  accept_ok "accept: v2s2 tag asked with Accept: OCI manifest only, cached" "$ALPINE_DIGEST" "$oci" /v2/library/alpine/manifests/3.19
  req -I -H "Accept: $oci" "$U/v2/library/alpine/manifests/3.19"
  [[ "$RS" =~ ^(200|404)$ ]]
  verdict "accept: HEAD with Accept: OCI manifest only → 404 or 200, not 5xx" $? "request: $REQ" "expected: 404 or 200" "got: $(got)"
  req "$U/v2/library/alpine/manifests/3.19"
  resp_is "accept: no Accept header (curl's */*) → the stored v2s2 manifest" 200 sha="$ALPINE_DIGEST" ctype="$V2S2"
  # a list tag asked for by an old client that only knows v2s2: distribution serves the amd64 child;
  # that answer must not replace the tag's list in the cache
  req -H "Accept: $V2S2" "$U/v2/library/multi/manifests/latest"
  if [[ "$RS" =~ ^(200|404)$ ]] && { [ "$RS" = 404 ] || [ "$(body_sha)" = "$(hdr docker-content-digest)" ]; }; then
    pass "accept: list tag asked with Accept: v2s2 only → $RS $(hdr content-type)"
  else fail "accept: list tag asked with Accept: v2s2 only → 200 (platform child) or 404" "request: $REQ" "expected: 200 with matching digest, or 404" "got: $(got)"; fi
  req "${ACCEPT_ALL[@]}" "$U/v2/library/multi/manifests/latest"
  resp_is "accept: afterwards the list tag still gives the list to a full Accept" 200 sha="$MULTI_DIGEST" \
    ctype=application/vnd.docker.distribution.manifest.list.v2+json
}
