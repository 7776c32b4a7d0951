# checks_referrers.sh — the referrers-* checks (check_referrers_NAME), sourced by run.sh: the OCI 1.1
# referrers API through the mirror, and a cosign signature verified through it.
#
#   referrers-api     instance `refs`: the standard upstreams plus refs.test = fake_upstream.py (its
#                     e2e/refs fixture, answering only with Basic credentials: the mirror's refsuser),
#                     manifest_ttl 2s, alias refs.mirror.test; auth.default_policy denies
#                     refs.test/e2e/hidden; the anonymous plan has a pull limit (RateLimit headers).
#   referrers-cosign  the main instance and the open harness registry ghcr (distribution 2.8, no
#                     referrers API): a cosign-format signature (the harness's cosign-sign.py).

REFS_OCI_INDEX=application/vnd.oci.image.index.v1+json
REFS_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json

# refs_fake_start [PORT] — start fake_upstream.py for refs.test ($WORK/fakerefs; run.sh's cleanup
# stops it by its pid file if the check does not get to).
refs_fake_start() {
  local fd="$WORK/fakerefs" i
  mkdir -p "$fd"
  rm -f "$fd/port"
  python3 "$E2E_DIR/fake_upstream.py" ${1:+--port "$1"} --port-file "$fd/port" --log "$fd/requests.log" \
    >>"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && return 0; sleep 0.1; done
  return 1
}

# refs_count — referrers requests the fake upstream has answered with credentials (the 401
# challenges before them are not counted).
refs_count() { grep -c '^REFERRERS ' "$WORK/fakerefs/requests.log"; }

# refs_up PATH?QUERY FILE — the fake upstream's own answer (body into FILE; its Link and
# OCI-Filters-Applied headers into FILE.link / FILE.filters), asked directly as user e2e-direct.
refs_up() {
  local h="$2.hdr"
  curl -sS --max-time 10 -u e2e-direct:x -o "$2" -D "$h" "http://127.0.0.1:$(cat "$WORK/fakerefs/port")$1" 2>/dev/null
  tr -d '\r' <"$h" | sed -nE 's/^[Ll]ink: *//p' >"$2.link"
  tr -d '\r' <"$h" | sed -nE 's/^[Oo][Cc][Ii]-[Ff]ilters-[Aa]pplied: *//p' >"$2.filters"
}
refs_sha() { printf 'sha256:%s' "$(sha256sum <"$1" | cut -d' ' -f1)"; }
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# link_target LINK — the URL of a `<URL>; rel="next"` header value ('' if not that form).
link_target() { sed -nE 's/^<([^>]*)>;[ ]*rel="?next"?.*$/\1/p' <<<"$1"; }

# query_is WANT-QUERY GOT-QUERY — the same parameters with the same decoded values (exit status);
# the order may differ (Tollgate sorts them).
query_is() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.parse
a, b = (sorted(urllib.parse.parse_qsl(q, keep_blank_values=True)) for q in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
}

# refs_walk NAME MIRROR-PATH QUERY NS-QUERY UPSTREAM-PATH WANT-DIGESTS [curl args] — follow the
# mirror's Link rel="next" from MIRROR-PATH?QUERY (NS-QUERY, e.g. "ns=refs.test", is what the
# client adds); every page must be the upstream's page for the same query byte for byte, and
# every Link the upstream's query on the mirror path: </MIRROR-PATH?<upstream query>[&NS-QUERY]>.
# The digests over all pages must be WANT-DIGESTS (space-separated, in order).
refs_walk() {
  local name="$1" mp="$2" q="$3" nsq="$4" upath="$5" want="$6" U page=0 all=() next link target tq uq ulink ok=1
  shift 6
  U=$(tg_url refs)
  local fport; fport=$(cat "$WORK/fakerefs/port")
  next="$mp?$q${nsq:+&$nsq}"
  while [ -n "$next" ] && [ $page -lt 8 ]; do
    page=$((page + 1))
    req "$@" "$U$next"
    if [ "$RS" != 200 ]; then fail "$name: page $page → 200" "request: $REQ" "got: $(got)"; return; fi
    # the same query (without ns) straight at the upstream
    uq=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlencode([(k, v) for k, v in urllib.parse.parse_qsl(sys.argv[1], keep_blank_values=True) if k != "ns"]))' "${next#*\?}")
    refs_up "$upath?$uq" "$WORK/refs.walk"
    if [ "$(body_sha)" != "$(refs_sha "$WORK/refs.walk")" ]; then
      ok=0; fail "$name: page $page is the upstream's page byte for byte" "request: $REQ" \
        "expected: the body of GET $upath?$uq at the upstream ($(refs_sha "$WORK/refs.walk"))" "got: $(body_sha): $(body_snip 200)"
    fi
    all+=($(jq -r '.manifests[]?.digest' "$RB" 2>/dev/null))
    link=$(hdr link) ulink=$(cat "$WORK/refs.walk.link")
    if [ -z "$ulink" ]; then
      [ -z "$link" ] || { ok=0; fail "$name: last page has no Link" "request: $REQ" "got: Link: $link"; }
      break
    fi
    target=$(link_target "$link")
    tq=$(link_target "$ulink"); tq=${tq#*\?}
    if [[ "$target" != "$mp?"* ]] || [[ "$target" == *"127.0.0.1:$fport"* ]] ||
      ! query_is "$tq${nsq:+&$nsq}" "${target#*\?}"; then
      ok=0; fail "$name: page $page Link is the upstream's next page on the mirror" "request: $REQ" \
        "expected: <$mp?$tq${nsq:+&$nsq}>; rel=\"next\" (relative; query = the upstream's${nsq:+ + $nsq})" \
        "got: Link: ${link:-<none>}" "upstream's: $ulink"
      return
    fi
    next=$target
  done
  expect "$name: pages ($page) add up to the list" "$want" "${all[*]}" "last request: $REQ"
  [ $ok = 1 ] && pass "$name: every page and Link is the upstream's (Link relative, on the mirror path)"
}

# ---------------------------------------------------------------------------------------------
check_referrers_api() {
  local fd="$WORK/fakerefs" fport U info SUBJ UNSIGNED i n0 d t
  refs_fake_start || { fail "referrers-api: fake upstream starts" "$(tail -c 400 "$fd/out.log")"; return; }
  fport=$(cat "$fd/port")
  tg_config refs "" \
    "  refs.test: {url: \"http://127.0.0.1:$fport\", aliases: [\"refs.mirror.test\"], username: refsuser, password_file: \"$WORK/quay.password\", manifest_ttl: 2s}" \
    "$(printf 'auth:\n  anonymous: true\n  anonymous_without_token: true\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}\n  default_policy: {allow: ["**"], deny: ["refs.test/e2e/hidden"]}' "$WORK/tg/refs" "$WORK/tg/refs")" \
    "plans: {default: {}, anonymous: {pulls_per_6h: 500}}"
  tg_start refs || { fail "referrers-api: instance with the refs.test upstream starts" "log: $(tail -c 400 "$WORK/tg/refs/tollgate.log")"; return; }
  U=$(tg_url refs)
  info="$fd/info.json"
  curl -sS --max-time 5 -o "$info" "http://127.0.0.1:$fport/_refs/info"
  SUBJ=$(jq -r .subject "$info") UNSIGNED=$(jq -r .unsigned "$info")
  [[ "$SUBJ" == sha256:* ]] || { fail "referrers-api: fake upstream describes its fixture" "got: $(head -c 300 "$info")"; return; }
  local T_SIG T_SBOM T_ATT T_BUNDLE
  T_SIG=$(jq -r .types.sig "$info") T_SBOM=$(jq -r .types.sbom "$info") T_ATT=$(jq -r .types.att "$info") T_BUNDLE=$(jq -r .types.bundle "$info")
  local R="/v2/refs.test/e2e/refs/referrers/$SUBJ" UP="/v2/e2e/refs/referrers/$SUBJ"
  local ALL_DIGESTS; ALL_DIGESTS=$(jq -r '[.referrers[].digest] | join(" ")' "$info")

  # --- the full list: the upstream's index byte for byte, fetched with the mirror's identity
  refs_up "$UP" "$fd/full"
  n0=$(refs_count)
  req "$U$R"
  resp_is "referrers-api: GET $R (prefix route) → 200, the upstream's index byte for byte, X-Cache miss/pass" 200 \
    ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/full")" 'xcache~=^(miss|pass)$'
  expect "referrers-api: … lists the 5 referrers (2 signatures, SBOM, attestation typed by config.mediaType, index bundle)" \
    "$ALL_DIGESTS" "$(jq -r '[.manifests[]?.digest] | join(" ")' "$RB" 2>/dev/null)" "request: $REQ"
  expect "referrers-api: … artifactTypes as the upstream listed them" \
    "$(jq -c '[.referrers[].artifactType]' "$info")" "$(jq -c '[.manifests[]?.artifactType]' "$RB" 2>/dev/null)" "request: $REQ"
  expect "referrers-api: … no OCI-Filters-Applied header when unfiltered" "" "$(hdr oci-filters-applied)" "request: $REQ"
  expect "referrers-api: … the upstream was asked once, with the mirror's credentials (refsuser)" \
    "$((n0 + 1)) user=refsuser query=" "$(refs_count) $(grep '^REFERRERS ' "$fd/requests.log" | tail -1 | grep -oE 'user=[^ ]* query=.*$')" \
    "fake log tail: $(tail -3 "$fd/requests.log" | tr '\n' ' ')"

  # --- within the TTL (2 s): from the cache, no upstream request
  n0=$(refs_count)
  req "$U$R"
  resp_is "referrers-api: GET again within manifest_ttl → X-Cache hit, same bytes" 200 \
    ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/full")" xcache=hit
  req -I "$U$R"
  resp_is "referrers-api: HEAD within manifest_ttl → 200, index type, Content-Length of the index" 200 \
    ctype="$REFS_OCI_INDEX" len="$(stat -c %s "$fd/full")"
  sleep 0.2
  expect "referrers-api: … and the upstream was not asked" "$n0" "$(refs_count)" "fake log tail: $(tail -3 "$fd/requests.log" | tr '\n' ' ')"

  # --- other routes to the same upstream list
  req "$U/v2/e2e/refs/referrers/$SUBJ?ns=refs.test"
  resp_is "referrers-api: ?ns=refs.test route → the same index" 200 ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/full")"
  req -H "Host: refs.mirror.test:${U##*:}" "$U/v2/e2e/refs/referrers/$SUBJ"
  resp_is "referrers-api: Host alias refs.mirror.test route → the same index" 200 ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/full")"
  req "$U/v2/refs.test/e2e/refs/referrers/$UNSIGNED"
  resp_is "referrers-api: an image without referrers → 200, empty index" 200 ctype="$REFS_OCI_INDEX"
  expect "referrers-api: … manifests: []" 0 "$(jq '.manifests | if type == "array" then length else "no manifests array" end' "$RB" 2>/dev/null)" \
    "request: $REQ" "body: $(body_snip)"

  # --- ?artifactType= is passed on; the upstream's filtered answer and OCI-Filters-Applied come back
  for t in "$T_SIG" "$T_ATT" "application/vnd.example.none+json"; do
    refs_up "$UP?artifactType=$(urlenc "$t")" "$fd/filtered"
    req "$U$R?artifactType=$(urlenc "$t")"
    resp_is "referrers-api: ?artifactType=$t → 200, the upstream's filtered index, OCI-Filters-Applied: artifactType" 200 \
      ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/filtered")"
    expect "referrers-api: … OCI-Filters-Applied: artifactType" artifactType "$(hdr oci-filters-applied)" "request: $REQ"
    expect "referrers-api: … the upstream got artifactType=$t (decoded)" "$t" \
      "$(grep '^REFERRERS .* user=refsuser ' "$fd/requests.log" | tail -1 | sed -nE 's/.* query=//p' |
        python3 -c 'import sys, urllib.parse; print(dict(urllib.parse.parse_qsl(sys.stdin.read().strip())).get("artifactType", "<none>"))')"
  done
  req "$U$R?artifactType=$(urlenc "$T_SIG")"
  expect "referrers-api: the signature filter lists exactly the 2 signatures" \
    "$(jq -r --arg t "$T_SIG" '[.referrers[] | select(.artifactType == $t) | .digest] | join(" ")' "$info")" \
    "$(jq -r '[.manifests[]?.digest] | join(" ")' "$RB" 2>/dev/null)" "request: $REQ"
  req "$U$R?artifactType=$(urlenc "$T_ATT")"
  expect "referrers-api: the attestation (artifactType only in config.mediaType) is found by its type" \
    "$(jq -r --arg t "$T_ATT" '[.referrers[] | select(.artifactType == $t) | .digest] | join(" ")' "$info")" \
    "$(jq -r '[.manifests[]?.digest] | join(" ")' "$RB" 2>/dev/null)" "request: $REQ"

  # --- pagination: n=2 → 3 pages; the upstream's opaque next_token links, rewritten onto the mirror
  refs_walk "referrers-api: n=2 via prefix" "$R" "n=2" "" "$UP" "$ALL_DIGESTS"
  refs_walk "referrers-api: n=2 via ?ns=refs.test" "/v2/e2e/refs/referrers/$SUBJ" "n=2" "ns=refs.test" "$UP" "$ALL_DIGESTS"
  refs_walk "referrers-api: n=2 via Host alias" "/v2/e2e/refs/referrers/$SUBJ" "n=2" "" "$UP" "$ALL_DIGESTS" \
    -H "Host: refs.mirror.test"
  refs_walk "referrers-api: artifactType=signature&n=1" "$R" "artifactType=$(urlenc "$T_SIG")&n=1" "" "$UP" \
    "$(jq -r --arg t "$T_SIG" '[.referrers[] | select(.artifactType == $t) | .digest] | join(" ")' "$info")"
  if grep -qE '^REFERRERS GET .*next_token=' "$fd/requests.log"; then pass "referrers-api: following the mirror's Link reached the upstream with its next_token"
  else fail "referrers-api: following the mirror's Link reached the upstream with its next_token" "got: no upstream referrers request with next_token; log tail: $(tail -4 "$fd/requests.log" | tr '\n' ' ')"; fi

  # --- a request, not a pull: referrers requests leave the pull allowance alone (HEAD shows it)
  local r0 r1
  req -I "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/latest"
  r0=$(hdr ratelimit-remaining)
  if [[ "$r0" =~ ^[0-9]+$ ]]; then
    req "$U$R?n=3"; req "$U$R"; req -I "$U$R"; req "$U$R?artifactType=$(urlenc "$T_SBOM")"
    req -I "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/latest"
    expect "referrers-api: 4 referrers requests charge no pull (RateLimit-Remaining on a manifest HEAD unchanged)" "$r0" "$(hdr ratelimit-remaining)" "request: $REQ"
    req "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/latest"
    req -I "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/latest"
    expect "referrers-api: … control: a manifest GET does charge one" "$((r0 - 1))" "$(hdr ratelimit-remaining)" "request: $REQ"
  else
    fail "referrers-api: manifest HEAD shows RateLimit-Remaining (anonymous plan pulls_per_6h: 500; test setup)" "request: $REQ" "got: $(got) ratelimit-remaining=$r0"
  fi

  # --- the listed manifests pull through by digest, unchanged; the attachment tags by tag
  local dg mt at n=0
  while read -r dg mt at; do
    n=$((n + 1))
    req "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/$dg"
    resp_is "referrers-api: referrer $n ($at) by digest → 200, Docker-Content-Digest = listed digest, bytes hash to it, $mt" 200 \
      digest="$dg" sha="$dg" ctype="$mt"
    expect "referrers-api: … its artifactType (or config.mediaType) and subject intact" "$at $SUBJ" \
      "$(jq -r '(.artifactType // .config.mediaType) + " " + .subject.digest' "$RB" 2>/dev/null)" "request: $REQ"
    req -I "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/$dg"
    resp_is "referrers-api: … HEAD → 200, same digest" 200 digest="$dg" ctype="$mt"
  done < <(jq -r '.referrers[] | "\(.digest) \(.mediaType) \(.artifactType)"' "$info")
  local tag hex=${SUBJ#sha256:}
  for tag in sig sbom att; do
    dg=$(jq -r --arg t "sha256-$hex.$tag" '.tags[$t]' "$info")
    req "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/sha256-$hex.$tag"
    resp_is "referrers-api: tag sha256-<subject>.$tag pulls through" 200 digest="$dg" sha="$dg" ctype="$REFS_OCI_MANIFEST"
  done
  req "${ACCEPT_ALL[@]}" "$U/v2/refs.test/e2e/refs/manifests/latest"
  resp_is "referrers-api: the subject by tag → its digest" 200 digest="$SUBJ" sha="$SUBJ"

  # --- refused requests: bad digests (400, upstream not asked), writes (405), a denied repository
  n0=$(refs_count)
  req "$U/v2/refs.test/e2e/refs/referrers/sha256:1234"
  resp_is "referrers-api: referrers/sha256:1234 → 400 DIGEST_INVALID" 400 code=DIGEST_INVALID
  req "$U/v2/refs.test/e2e/refs/referrers/sha256:$(tr a-f A-F <<<"$hex")"
  resp_is "referrers-api: referrers/sha256:<UPPERCASE hex> → 400 DIGEST_INVALID" 400 code=DIGEST_INVALID
  req "$U$R?artifactType=$(urlenc $'application/x\r\nX-Injected: 1')"
  resp_is "referrers-api: artifactType with CR LF → 400 PARAMETER_INVALID" 400 code=PARAMETER_INVALID
  req "$U$R?artifactType=not%20a%20media%20type"
  resp_is "referrers-api: artifactType that is not a media type → 400 PARAMETER_INVALID" 400 code=PARAMETER_INVALID
  req "$U$R?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9"
  resp_is "referrers-api: 9 query parameters → 400 PARAMETER_INVALID" 400 code=PARAMETER_INVALID
  local m
  for m in PUT POST DELETE PATCH; do
    req -X "$m" -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary '{}' "$U$R"
    resp_is "referrers-api: $m referrers → 405 UNSUPPORTED" 405 code=UNSUPPORTED
  done
  req "$U/v2/refs.test/e2e/hidden/tags/list"
  local tsts=$RS tcode; tcode=$(errcode)
  req "$U/v2/refs.test/e2e/hidden/referrers/$SUBJ"
  expect "referrers-api: a repository the policy denies → as its tags/list ($tsts $tcode)" "$tsts $tcode" "$RS $(errcode)" "request: $REQ"
  expect_match "referrers-api: … which is 403 DENIED" '^403 DENIED$' "$RS $(errcode)" "request: $REQ"
  sleep 0.2
  expect "referrers-api: … none of these reached the upstream" "$n0" "$(refs_count)" "fake log tail: $(tail -3 "$fd/requests.log" | tr '\n' ' ')"

  # --- after the TTL: asked again (pass); upstream failing (503, 429) or gone: the cached list, stale
  sleep 2.2
  n0=$(refs_count)
  req "$U$R"
  resp_is "referrers-api: after manifest_ttl (2 s) → fetched again, X-Cache miss/pass" 200 sha="$(refs_sha "$fd/full")" 'xcache~=^(miss|pass)$'
  expect "referrers-api: … the upstream was asked" "$((n0 + 1))" "$(refs_count)"
  curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$fport/_refs/fail?status=503"
  sleep 2.2
  n0=$(refs_count)
  req "$U$R"
  resp_is "referrers-api: upstream answers 503 → the cached list, X-Cache stale" 200 ctype="$REFS_OCI_INDEX" sha="$(refs_sha "$fd/full")" xcache=stale
  expect "referrers-api: … after asking the upstream" "$((n0 + 1))" "$(refs_count)"
  req "$U$R?artifactType=$(urlenc "$T_SIG")"
  resp_is "referrers-api: … a cached filtered list is served stale with OCI-Filters-Applied" 200 xcache=stale
  expect "referrers-api: … OCI-Filters-Applied kept when stale" artifactType "$(hdr oci-filters-applied)" "request: $REQ"
  req "$U$R?n=4"
  resp_is "referrers-api: … a never-fetched query while the upstream answers 503 → 502/503/504 JSON" '502|503|504' \
    'code~=^(UNAVAILABLE|BAD_GATEWAY|GATEWAY_TIMEOUT)$'
  curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$fport/_refs/fail?status=429"
  req "$U$R"
  resp_is "referrers-api: upstream answers 429 → the cached list, X-Cache stale" 200 sha="$(refs_sha "$fd/full")" xcache=stale
  stop_pidfile "$fd/pid" fake_upstream.py
  REQ_TIMEOUT=40 req "$U$R"
  resp_is "referrers-api: upstream unreachable → the cached list, X-Cache stale" 200 sha="$(refs_sha "$fd/full")" xcache=stale
  refs_fake_start "$fport" || { fail "referrers-api: fake upstream restarts on port $fport (test setup)" "$(tail -c 400 "$fd/out.log")"; tg_stop refs; return; }
  sleep 0.3
  req "$U$R"
  resp_is "referrers-api: upstream back → fresh again (X-Cache miss/pass)" 200 sha="$(refs_sha "$fd/full")" 'xcache~=^(miss|pass)$'

  # --- upstream answers that are no referrers list (and a chunked one that is)
  local t0 el
  req "$U/v2/refs.test/e2e/chunkrefs/referrers/$SUBJ"
  resp_is "referrers-api: an index the upstream sends chunked (no Content-Length) → 200, its bytes" 200 \
    ctype="$REFS_OCI_INDEX" sha="sha256:$(printf '%s' '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}' | sha256sum | cut -d' ' -f1)"
  t0=$(date +%s)
  REQ_TIMEOUT=30 req "$U/v2/refs.test/e2e/bigrefs/referrers/$SUBJ"
  el=$(($(date +%s) - t0))
  if [[ "$RS" =~ ^(4..|502|503|504)$ ]] && [ "$el" -lt 15 ] && jq -e '.errors[0].message | test("larger than")' "$RB" >/dev/null 2>&1; then
    pass "referrers-api: a chunked 12.5 MiB \"index\" → $RS $(errcode) \"larger than …\" (${el}s)"
  else
    fail "referrers-api: a chunked 12.5 MiB \"index\" → a registry error saying it is too large (as for manifests)" "request: $REQ" \
      "expected: 4xx or 502/503/504 registry error whose message mentions 'larger than', within 15 s" "got: $(got) after ${el}s"
  fi
  req "$U/v2/refs.test/e2e/htmlrefs/referrers/$SUBJ"
  resp_is "referrers-api: a text/html page from the upstream is never served (502 BAD_GATEWAY)" 502 code=BAD_GATEWAY
  req "$U/v2/refs.test/e2e/badrefs/referrers/$SUBJ"
  resp_is "referrers-api: an upstream \"index\" that is not JSON → 502 BAD_GATEWAY" 502 code=BAD_GATEWAY

  # --- registries without the API (the harness's distribution 2.8) → 404, so clients use the tag schema
  req "$GHCR_URL/v2/org/tool/referrers/$TOOL_DIGEST"
  expect "referrers-api: (premise) the reference registry itself answers 404 to referrers" 404 "$RS" "request: $REQ"
  req "$U/v2/ghcr.io/org/tool/referrers/$TOOL_DIGEST"
  resp_is "referrers-api: ghcr.io (distribution 2.8, open) referrers → 404 registry JSON error" 404 code=MANIFEST_UNKNOWN
  req "$U/v2/library/alpine/referrers/$ALPINE_DIGEST"
  resp_is "referrers-api: docker.io (distribution 2.8, token auth; default route) referrers → 404 registry JSON error" 404 code=MANIFEST_UNKNOWN
  req "$U/v2/ghcr.io/org/tool/referrers/$TOOL_DIGEST?artifactType=$(urlenc "$T_SIG")"
  resp_is "referrers-api: … with ?artifactType= → 404 too" 404 code=MANIFEST_UNKNOWN

  tg_stop refs
  stop_pidfile "$fd/pid" fake_upstream.py
}

# ---------------------------------------------------------------------------------------------
# cosign_verify KEY.pub SIGMANIFEST PAYLOAD WANT-DIGEST — what `cosign verify --key` checks of a
# tag-schema signature: the payload layer's digest is sha256(PAYLOAD), the ECDSA P-256/SHA-256
# signature in the layer annotation dev.cosignproject.cosign/signature verifies over PAYLOAD
# with KEY.pub, and the payload's critical.image.docker-manifest-digest is WANT-DIGEST.
# Prints one word per part (layer-ok|layer-bad sig-ok|sig-bad digest-ok|digest-bad); exit 0 only if all hold.
cosign_verify() {
  python3 - "$@" <<'PY'
import base64, hashlib, json, sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
pub, man, pay, want = sys.argv[1:5]
key = serialization.load_pem_public_key(open(pub, "rb").read())
m = json.load(open(man))
payload = open(pay, "rb").read()
layer = m["layers"][0]
out = ["layer-ok" if layer["digest"] == "sha256:" + hashlib.sha256(payload).hexdigest() else "layer-bad"]
try:
    key.verify(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]), payload, ec.ECDSA(hashes.SHA256()))
    out.append("sig-ok")
except (InvalidSignature, KeyError, ValueError):
    out.append("sig-bad")
try:
    got = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
except (ValueError, KeyError, TypeError):
    got = None
out.append("digest-ok" if got == want else "digest-bad")
print(" ".join(out))
sys.exit(0 if all(o.endswith("-ok") for o in out) else 1)
PY
}

check_referrers_cosign() {
  local d="$WORK/cosign" U H SIGNED UNSIGNED dg hex sigdg layer
  mkdir -p "$d"
  U=$(tg_url main) H=$(tg_host main)
  # two P-256 keys (PKCS#8 PEM, as cosign-sign.py reads them): the signer's and another
  python3 - "$d" <<'PY' || { fail "referrers-cosign: generate keys (test setup)" "python3-cryptography"; return; }
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
for name in ("key", "other"):
    k = ec.generate_private_key(ec.SECP256R1())
    open(f"{sys.argv[1]}/{name}.pem", "wb").write(k.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(f"{sys.argv[1]}/{name}.pub", "wb").write(k.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo))
PY
  SIGNED=$(timeout 120 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/sign/app:1" --seed e2e-cosign-signed 2>"$d/mk.err" | tail -1)
  UNSIGNED=$(timeout 120 "$HARNESS/mkimage.sh" "docker://$GHCR_HOST/sign/unsigned:1" --seed e2e-cosign-unsigned 2>>"$d/mk.err" | tail -1)
  [[ "$SIGNED" == sha256:* && "$UNSIGNED" == sha256:* ]] ||
    { fail "referrers-cosign: push two images to ghcr (test setup)" "got: '$SIGNED' '$UNSIGNED' $(tail -c 300 "$d/mk.err")"; return; }
  timeout 60 python3 "$HARNESS/cosign-sign.py" "$GHCR_HOST" sign/app "$SIGNED" ghcr.io/sign/app "$d/key.pem" >"$d/sign.out" 2>&1 ||
    { fail "referrers-cosign: cosign-sign.py signs ghcr sign/app@$SIGNED (test setup)" "$(tail -c 400 "$d/sign.out")"; return; }
  hex=${SIGNED#sha256:}

  # the image through the mirror, by tag and by digest
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/sign/app/manifests/1"
  resp_is "referrers-cosign: image by tag through the mirror" 200 digest="$SIGNED" sha="$SIGNED"
  dg=$(body_sha)
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/sign/app/manifests/$dg"
  resp_is "referrers-cosign: image by digest through the mirror" 200 digest="$dg" sha="$dg"
  run_cmd "referrers-cosign: skopeo copy of the signed image through the mirror" 120 \
    skopeo copy -q --src-tls-verify=false "docker://$H/ghcr.io/sign/app:1" "dir:$d/image" &&
    expect "referrers-cosign: … its manifest digest" "$dg" "sha256:$(sha256sum <"$d/image/manifest.json" | cut -d' ' -f1)"

  # registries without the referrers API: cosign finds the signature by the tag schema
  req "$U/v2/ghcr.io/sign/app/referrers/$dg"
  resp_is "referrers-cosign: referrers of the image at ghcr (no API) → 404, the client falls back to the .sig tag" 404 code=MANIFEST_UNKNOWN

  # the signature: the sha256-<hex>.sig tag, then its payload layer
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/sign/app/manifests/sha256-$hex.sig"
  resp_is "referrers-cosign: sha256-<hex>.sig tag through the mirror → 200 OCI manifest" 200 ctype="$REFS_OCI_MANIFEST"
  cp "$RB" "$d/sig.json"
  sigdg=$(body_sha)
  expect "referrers-cosign: … Docker-Content-Digest = sha256 of its bytes" "$sigdg" "$(hdr docker-content-digest)" "request: $REQ"
  expect "referrers-cosign: … the same bytes as the upstream's" \
    "$(curl -sS --max-time 10 -H "Accept: $REFS_OCI_MANIFEST" "$GHCR_URL/v2/sign/app/manifests/sha256-$hex.sig" | sha256sum | cut -d' ' -f1)" \
    "${sigdg#sha256:}"
  layer=$(jq -r '.layers[0].digest // empty' "$d/sig.json" 2>/dev/null)
  expect "referrers-cosign: … one simple-signing layer with a signature annotation" \
    "application/vnd.dev.cosign.simplesigning.v1+json true" \
    "$(jq -r '.layers[0].mediaType + " " + (.layers[0].annotations["dev.cosignproject.cosign/signature"] != null | tostring)' "$d/sig.json" 2>/dev/null)"
  req "$U/v2/ghcr.io/sign/app/blobs/${layer:-none}"
  resp_is "referrers-cosign: the payload layer blob through the mirror" 200 sha="$layer"
  cp "$RB" "$d/payload.json"

  local v
  v=$(cosign_verify "$d/key.pub" "$d/sig.json" "$d/payload.json" "$dg" 2>&1)
  expect "referrers-cosign: payload digest, ECDSA signature (signer's key) and docker-manifest-digest = the mirror's image digest verify" \
    "layer-ok sig-ok digest-ok" "$v" "payload: $(head -c 300 "$d/payload.json")"
  expect "referrers-cosign: … the payload names ghcr.io/sign/app, type cosign container image signature" \
    "ghcr.io/sign/app|cosign container image signature" \
    "$(jq -r '.critical.identity["docker-reference"] + "|" + .critical.type' "$d/payload.json" 2>&1)"
  # the verifier can fail: another key, a flipped bit, another image's digest
  v=$(cosign_verify "$d/other.pub" "$d/sig.json" "$d/payload.json" "$dg" 2>&1)
  expect "referrers-cosign: (negative) another key → signature rejected" "layer-ok sig-bad digest-ok" "$v"
  python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x01; open(sys.argv[2], "wb").write(b)' \
    "$d/payload.json" "$d/flipped.json"
  v=$(cosign_verify "$d/key.pub" "$d/sig.json" "$d/flipped.json" "$dg" 2>&1)
  expect_match "referrers-cosign: (negative) payload with one bit flipped → layer digest and signature rejected" '^layer-bad sig-bad ' "$v"
  v=$(cosign_verify "$d/key.pub" "$d/sig.json" "$d/payload.json" "$UNSIGNED" 2>&1)
  expect "referrers-cosign: (negative) the signature does not vouch for another image" "layer-ok sig-ok digest-bad" "$v"

  # an unsigned image has no .sig tag
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/sign/unsigned/manifests/1"
  resp_is "referrers-cosign: unsigned image through the mirror" 200 digest="$UNSIGNED"
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/sign/unsigned/manifests/sha256-${UNSIGNED#sha256:}.sig"
  resp_is "referrers-cosign: unsigned image's sha256-<hex>.sig → 404 MANIFEST_UNKNOWN" 404 code=MANIFEST_UNKNOWN

  # skopeo fetches the signature through the mirror
  if run_cmd "referrers-cosign: skopeo inspect --raw …:sha256-<hex>.sig through the mirror" 60 \
    skopeo inspect --raw --tls-verify=false "docker://$H/ghcr.io/sign/app:sha256-$hex.sig"; then
    expect "referrers-cosign: … skopeo got the signature manifest (same JSON)" \
      "$(jq -cS . "$d/sig.json")" "$(jq -cS . "$WORK/cmd.out" 2>&1 | head -c 2000)"
  fi
}
