# checks_security_upstream.sh — what an upstream (or its redirect targets) may get and prove
# (security-*); sourced by run.sh after checks_tenants.sh (it uses ten_need, ten_users,
# ten_auth_yaml, ten_start from there, cr from checks_limits.sh, tgc/cli_got from checks_auth.sh,
# resp_is and fake_digest from checks.sh). One function check_security_NAME per check.
#
# Instances (each check starts its own and stops it at the end):
#   secredir  bad.test = fake_upstream.py (Basic, $WORK/fake-secbasic) and tok.test =
#             fake_upstream.py --bearer ($WORK/fake-secbearer), both with shared credentials
#             opshared; rob has his own credentials for both, wes has none.
#   secproof  docker.io = hub (anonymous upstream), bad.test = fake_upstream.py ($WORK/fake-secproof,
#             no credentials); alice has her own hub credentials (alice), bob has none.

SECUP_SHARED_PW='secup-Shared-pw-e2e'  # the shared password for bad.test / tok.test
SECUP_OWN_PW='secup-Rob-own-pw-e2e'    # rob's own password for both

# secup_fake NAME [ARGS...] — start fake_upstream.py in $WORK/fake-NAME (run.sh's cleanup stops
# it); prints its port, or fails (one FAIL) when it does not come up.
secup_fake() {
  local fd="$WORK/fake-$1" i; shift
  mkdir -p "$fd"; rm -f "$fd/port"
  python3 "$E2E_DIR/fake_upstream.py" --port-file "$fd/port" --log "$fd/requests.log" "$@" >"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && break; sleep 0.1; done
  [ -s "$fd/port" ] && cat "$fd/port"
}

# secup_since LOG MARK — the fake's log lines after line MARK.
secup_since() { tail -n +$(($2 + 1)) "$1"; }

# secup_login NAME CHECK USER UPSTREAM USERNAME PASSWORD — `upstream login` (setup; a failure is one FAIL).
secup_login() {
  local rc
  tgc "$1" upstream login "$3" "$4" --username "$5" --password-stdin <<<"$6"; rc=$?
  [ $rc = 0 ] || { fail "$2: (setup) upstream login $3 $4" "command: $CLI" "got: $(cli_got $rc)"; return 1; }
}

# ---------------------------------------------------------------------------------------------
# security-redirect-credentials: a redirect target (another host) that asks for credentials gets
# none and fails the request; its Bearer realm is never learned; a token realm that redirects is
# not followed; later requests of every identity still go to the upstream's own realm.
check_security_redirect_credentials() {
  local c=security-redirect-credentials n=secredir d="$WORK/tg/secredir" bport tport blog tlog U dg who p m since
  ten_need $c || return
  bport=$(secup_fake secbasic) || { fail "$c: fake upstream (Basic) starts" "$(cat "$WORK/fake-secbasic/out.log")"; return; }
  tport=$(secup_fake secbearer --bearer) || { fail "$c: fake upstream (--bearer) starts" "$(cat "$WORK/fake-secbearer/out.log")"; return; }
  blog="$WORK/fake-secbasic/requests.log" tlog="$WORK/fake-secbearer/requests.log"
  mkdir -p "$d/pw"; chmod 700 "$d/pw"
  printf '%s\n' "$SECUP_SHARED_PW" >"$d/pw/shared"; chmod 600 "$d/pw/shared"
  tg_stop $n
  tg_config $n "" "$(printf '  bad.test: {url: "http://127.0.0.1:%s", username: opshared, password_file: "%s"}\n  tok.test: {url: "http://127.0.0.1:%s", username: opshared, password_file: "%s"}' \
    "$bport" "$d/pw/shared" "$tport" "$d/pw/shared")" "$(ten_auth_yaml $n)"
  ten_users $n $c rob wes || return
  secup_login $n $c rob bad.test robs-own "$SECUP_OWN_PW" || return
  secup_login $n $c rob tok.test robs-own "$SECUP_OWN_PW" || return
  ten_start $n $c || return
  U=$(tg_url $n) dg=$(fake_digest good)

  # Basic upstream: blob, manifest and tag list 307 to http://localhost:<port>/cdn401/…, which
  # answers 401 Basic. Neither the shared credentials (wes) nor rob's own may reach it.
  for who in wes rob; do
    for p in "blobs/$dg" manifests/latest tags/list; do
      m=$(wc -l <"$blog")
      req -u "$(cr $who)" "${ACCEPT_ALL[@]}" "$U/v2/bad.test/e2e/cdn401/$p"
      resp_is "$c: $who GET bad.test/e2e/cdn401/${p%%/sha256*} (307 to another host that answers 401) → 502 BAD_GATEWAY" \
        502 code=BAD_GATEWAY
      since=$(secup_since "$blog" "$m")
      if grep -q '^CDN401 with-authorization' <<<"$since"; then
        fail "$c: … the redirect target got no Authorization" "request: $REQ" "got: $(grep '^CDN401' <<<"$since" | tr '\n' ' ')"
      elif grep -q '^CDN401 no-authorization' <<<"$since"; then
        pass "$c: … the redirect target got no Authorization ($(grep -c '^CDN401' <<<"$since") request)"
      else
        fail "$c: … the redirect target got no Authorization" "request: $REQ" "expected: the mirror follows the 307 once" \
          "got: target never requested; fake log: $(tail -5 "$blog" | tr '\n' ' ')"
      fi
    done
  done

  # Bearer upstream: the redirect target answers 401 Bearer realm=http://localhost:<port>/steal.
  for p in "blobs/$dg" manifests/latest; do
    m=$(wc -l <"$tlog")
    req -u "$(cr wes)" "${ACCEPT_ALL[@]}" "$U/v2/tok.test/e2e/cdnbearer/$p"
    resp_is "$c: wes GET tok.test/e2e/cdnbearer/${p%%/sha256*} (redirect target names another token realm) → 502" 502 code=BAD_GATEWAY
    since=$(secup_since "$tlog" "$m")
    grep -q '^CDNBEARER no-authorization' <<<"$since" && ! grep -qE '^(CDNBEARER with-authorization|STEAL)' <<<"$since"
    verdict "$c: … the target got no Authorization and its realm no token request" $? \
      "fake log since the request: $(grep -E '^(CDNBEARER|STEAL|TOKEN)' <<<"$since" | tr '\n' ' ')"
  done
  # A token realm that answers with a redirect (to another host) is not followed.
  m=$(wc -l <"$tlog")
  req -u "$(cr rob)" "$U/v2/tok.test/e2e/tokenredir/blobs/$dg"
  resp_is "$c: rob GET tok.test/e2e/tokenredir/… (the token realm 307s to another host) → 502" 502 code=BAD_GATEWAY
  since=$(secup_since "$tlog" "$m")
  grep -q '^TOKEN user=robs-own scope=repository:e2e/tokenredir:pull' <<<"$since" && ! grep -q '^STEAL' <<<"$since"
  verdict "$c: … rob's credentials went to the realm only, not where it redirected" $? \
    "fake log since the request: $(grep -E '^(STEAL|TOKEN)' <<<"$since" | tr '\n' ' ')"
  # Later requests, each identity: tokens from the upstream's own realm, content served.
  for who in rob wes; do
    m=$(wc -l <"$tlog")
    req -u "$(cr $who)" "$U/v2/tok.test/e2e/good-$who/blobs/$dg"
    resp_is "$c: later, $who GET tok.test/e2e/good-$who/… → 200, right bytes" 200 sha="$dg"
    since=$(secup_since "$tlog" "$m")
    p=$([ $who = rob ] && echo robs-own || echo opshared)
    grep -q "^TOKEN user=$p scope=repository:e2e/good-$who:pull" <<<"$since" && ! grep -q '^STEAL' <<<"$since"
    verdict "$c: … its token came from tok.test's own realm (as $p), not the one a redirect target named" $? \
      "fake log since the request: $(grep -E '^(STEAL|TOKEN)' <<<"$since" | tr '\n' ' ')"
  done
  ! grep -q '^STEAL' "$tlog" "$blog"
  verdict "$c: no request ever reached a realm a redirect target named (/steal)" $? "got: $(grep -h '^STEAL' "$tlog" "$blog" | tr '\n' ' ')"
  ! grep -qF -e "$SECUP_SHARED_PW" -e "$SECUP_OWN_PW" "$WORK/tg/$n/tollgate.log"
  verdict "$c: the log holds no upstream password" $? "got: $(grep -cF -e "$SECUP_SHARED_PW" -e "$SECUP_OWN_PW" "$WORK/tg/$n/tollgate.log") lines"
  tg_stop $n
  stop_pidfile "$WORK/fake-secbasic/pid" fake_upstream.py
  stop_pidfile "$WORK/fake-secbearer/pid" fake_upstream.py
}

# ---------------------------------------------------------------------------------------------
# security-proof-of-access: bytes on disk are served for another repository only after the
# upstream they came from confirmed them with their exact length; another upstream must deliver
# them itself.
check_security_proof_of_access() {
  local c=security-proof-of-access n=secproof fport flog U raw L G kind dg m since
  ten_need $c || return
  fport=$(secup_fake secproof) || { fail "$c: fake upstream starts" "$(cat "$WORK/fake-secproof/out.log")"; return; }
  flog="$WORK/fake-secproof/requests.log"
  tg_stop $n
  tg_config $n "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}" "$(ten_auth_yaml $n)"
  ten_users $n $c alice bob || return
  secup_login $n $c alice docker.io alice alice-secret || return
  ten_start $n $c || return
  U=$(tg_url $n)

  req -u "$(cr alice)" "${ACCEPT_ALL[@]}" "$U/v2/private/app/manifests/1.0"
  resp_is "$c: alice (own hub credentials) GET private/app:1.0 → 200" 200 sha="$PRIVATE_DIGEST"
  raw=$(cat "$RB"); L=$(jq -r '.layers[0].digest' <<<"$raw" 2>/dev/null)
  if [[ "$L" != sha256:* ]]; then fail "$c: (setup) private/app:1.0 names a layer" "got: $(head -c 300 <<<"$raw")"; return; fi
  req -u "$(cr alice)" "$U/v2/private/app/blobs/$L"
  resp_is "$c: alice GET its first layer → 200 (now on disk, linked for alice only)" 200 sha="$L"
  req -u "$(cr bob)" "$U/v2/private/app/blobs/$L"
  resp_is "$c: (control) bob GET docker.io/private/app's layer → 403 (hub refuses him)" 403

  # bad.test says yes to every blob HEAD (no length, or length 1) and has no bytes at all.
  for kind in yesman wronglen; do
    for dg in "$L" "$PRIVATE_DIGEST"; do
      m=$(wc -l <"$flog")
      req -u "$(cr bob)" "$U/v2/bad.test/e2e/$kind/blobs/$dg"
      resp_is "$c: bob GET bad.test/e2e/$kind/blobs/<alice's private $([ "$dg" = "$L" ] && echo layer || echo manifest)> → 404 BLOB_UNKNOWN" \
        404 code=BLOB_UNKNOWN
      [ "$(body_sha)" != "$dg" ]; verdict "$c: … the body is not the private content" $? "got: $(body_len) bytes, $(body_sha)"
      since=$(secup_since "$flog" "$m")
      if [ "$dg" = "$L" ]; then
        grep -q "^GET /v2/e2e/$kind/blobs/$dg" <<<"$since"
        verdict "$c: … bad.test was asked for the bytes (a GET), not merely whether it has them" $? \
          "fake log since the request: $(tr '\n' ' ' <<<"$since")"
      else
        # a manifest's digest is never a blob: refused before any upstream is asked
        ! grep -q "/v2/e2e/$kind/blobs/$dg" <<<"$since"
        verdict "$c: … the manifest's digest is refused without asking bad.test" $? \
          "fake log since the request: $(tr '\n' ' ' <<<"$since")"
      fi
    done
  done
  req -u "$(cr bob)" -I "$U/v2/bad.test/e2e/yesman/blobs/$L"
  info "bob HEAD bad.test/e2e/yesman/blobs/<layer>: $RS, Content-Length $(hdr content-length) (bad.test's own answer; no bytes)"
  req -u "$(cr bob)" "$U/v2/bad.test/e2e/yesman/blobs/$L"
  resp_is "$c: … and a GET after that HEAD → still 404 (the HEAD linked nothing)" 404 code=BLOB_UNKNOWN
  req -u "$(cr bob)" "${ACCEPT_ALL[@]}" "$U/v2/bad.test/e2e/yesman/manifests/$PRIVATE_DIGEST"
  [ "$RS" != 200 ] && [ "$(body_sha)" != "$PRIVATE_DIGEST" ]
  verdict "$c: bob GET bad.test/e2e/yesman/manifests/<alice's private manifest> → not served" $? "request: $REQ" "got: $(got)"
  req -u "$(cr bob)" "$U/v2/private/app/blobs/$L"
  resp_is "$c: bob still cannot GET the layer through docker.io → 403" 403

  # Bytes from bad.test itself: a HEAD without a length, or with the wrong one, is no proof either.
  G=$(fake_digest good)
  req -u "$(cr bob)" "$U/v2/bad.test/e2e/good/blobs/$G"
  resp_is "$c: bob GET bad.test/e2e/good/blobs/<good> → 200 (cached, from bad.test)" 200 sha="$G"
  for kind in yesman wronglen; do
    req -u "$(cr bob)" "$U/v2/bad.test/e2e/$kind/blobs/$G"
    resp_is "$c: bob GET bad.test/e2e/$kind/blobs/<good> (same upstream, HEAD 200 $([ $kind = yesman ] && echo 'without length' || echo 'length 1'), GET 404) → 404" \
      404 code=BLOB_UNKNOWN
  done
  m=$(wc -l <"$flog")
  req -u "$(cr bob)" "$U/v2/bad.test/e2e/nolen/blobs/$G"
  resp_is "$c: bob GET bad.test/e2e/nolen/blobs/<good> (HEAD without length, GET honest) → 200, right bytes" 200 sha="$G"
  since=$(secup_since "$flog" "$m")
  grep -q "^GET /v2/e2e/nolen/blobs/$G" <<<"$since"
  verdict "$c: … downloaded from bad.test (a GET), not served from disk on the HEAD's word" $? "fake log: $(tr '\n' ' ' <<<"$since")"
  m=$(wc -l <"$flog")
  req -u "$(cr bob)" "$U/v2/bad.test/e2e/other/blobs/$G"
  resp_is "$c: (control) bob GET bad.test/e2e/other/blobs/<good> (HEAD with the exact length) → 200" 200 sha="$G"
  since=$(secup_since "$flog" "$m")
  grep -q "^HEAD /v2/e2e/other/blobs/$G" <<<"$since" && ! grep -q "^GET /v2/e2e/other/blobs/" <<<"$since"
  verdict "$c: … served from disk after one HEAD (same upstream, exact length), no download" $? "fake log: $(tr '\n' ' ' <<<"$since")"
  tg_stop $n
  stop_pidfile "$WORK/fake-secproof/pid" fake_upstream.py
}
