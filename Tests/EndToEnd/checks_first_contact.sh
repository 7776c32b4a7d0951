# checks_first_contact.sh — a mirror reached by a name it was never told (issue 12 §1); sourced by
# run.sh after checks_auth.sh and checks_ops.sh (auth_yaml, challenge_is, tgc, run_cmd/run_fails,
# sk_digest, ctr_digest, ops_pki/ops_tls_config/ops_start).
# Without `public_url` the token realm is built from each request: `http://<Host>/token`, from a
# trusted proxy `X-Forwarded-Proto/Host` (else `Forwarded`), and a Host that is no `host[:port]` is a
# 400 that never echoes it.
#   realm-host     curl against "realmhost" (auth on, one htpasswd user, no public_url), "realmproxy"
#                  (the same with trusted_proxies: [127.0.0.1/32]), "realmpub" (public_url set) and
#                  "realmtls" (TLS with the test PKI of checks_ops.sh)
#   first-contact  "contact": the built-in defaults (listen 0.0.0.0:<port>, auth on, no public_url,
#                  relative paths under its folder), its user made with `tollgate user add`; docker,
#                  podman, skopeo and containerd reach it as mirror.test (an /etc/hosts line → 127.0.0.2)

FC_LOG_LINE="the token realm follows each request's Host header"

# realm_up NAME CHECK PUBLIC_URL [TOP-LEVEL-YAML] — start NAME (auth on, alice only) unless it runs;
# PUBLIC_URL '' leaves public_url out of the config.
realm_up() {
  local name="$1" check="$2" pub="$3" extra="${4:-}" d="$WORK/tg/$1"
  tg_alive "$name" && return 0
  mkdir -p "$d"
  [ -f "$d/htpasswd" ] || htpasswd -B -C 5 -b -c "$d/htpasswd" "${ALICE%%:*}" "${ALICE#*:}" 2>/dev/null
  tg_config "$name" "" "$extra" "$(auth_yaml "$name" 10000 5m)"
  if [ -n "$pub" ]; then sed -i "s|^public_url:.*|public_url: \"$pub\"|" "$d/config.yaml"
  else sed -i '/^public_url:/d' "$d/config.yaml"; fi
  tg_start_checked "$name" "$check: tollgate $name starts"
}

# realm — the realm of the last response's Bearer challenge ('' if none).
realm() { chal_param "$(chal)" realm; }

# realm_token REALM PORT SCOPE — GET REALM with alice's Basic credentials, connected to
# 127.0.0.1:PORT whatever host REALM names (so the request carries the realm's own Host); prints
# .token ('' on any failure).
realm_token() {
  local hp="${1#*://}" scheme="${1%%://*}"
  local re='(^|\])[^]]*:[0-9]+$'
  hp=${hp%%/*}
  [[ "$hp" =~ $re ]] || hp="$hp:$([ "$scheme" = https ] && echo 443 || echo 80)"
  curl -sS --max-time 30 -G -u "$ALICE" --connect-to "$hp:127.0.0.1:$2" --data-urlencode "service=$AUTH_SERVICE" \
    --data-urlencode "scope=$3" "$1" 2>/dev/null | jq -r '.token // empty' 2>/dev/null
}

# not_echoed NAME VALUE — VALUE appears in neither the headers nor the body of the last response.
not_echoed() {
  if [ -n "$2" ] && grep -qiF -- "$2" "$RH" "$RB"; then
    fail "$1" "request: $REQ" "expected: the value not in the response" \
      "got: $(grep -iF -- "$2" "$RH" "$RB" | head -2 | cut -c1-200 | tr '\n' ' ')"
  else pass "$1"; fi
}

# bad_host NAME VALUE-SHOWN REQ-ARGS... — the request → 400 PARAMETER_INVALID, without VALUE-SHOWN.
bad_host() {
  local name="$1" v="$2"; shift 2
  req "$@"
  resp_is "$name → 400 PARAMETER_INVALID" 400 code=PARAMETER_INVALID
  not_echoed "$name: the value is not echoed" "$v"
}

# start_log NAME WANT — the start line about the Host-based realm is (1) or is not (0) in NAME's log.
start_log() {
  local n; n=$(grep -cF "$FC_LOG_LINE" "$WORK/tg/$1/tollgate.log")
  if [ "$2" = 1 ]; then expect "$3" 1 "$n" "expected one log line containing: $FC_LOG_LINE" "log: $WORK/tg/$1/tollgate.log"
  else expect "$3" 0 "$n" "expected no log line containing: $FC_LOG_LINE"; fi
}

# ---------------------------------------------------------------------------------------------
check_realm_host() {
  realm_up realmhost realm-host "" || return
  local U P h R T v long
  U=$(tg_url realmhost) P=$(cat "$WORK/tg/realmhost/port")
  start_log realmhost 1 "realm-host: without public_url the start log says '$FC_LOG_LINE'"

  for h in "127.0.0.1:$P" "localhost:$P" "mirror.example:5000" "[::1]:$P" "Mirror.EXAMPLE:5000" "mirror.example"; do
    req -H "Host: $h" "$U/v2/"
    resp_is "realm-host: GET /v2/ with Host $h, no credentials → 401" 401 code=UNAUTHORIZED
    challenge_is "realm-host: Host $h → realm http://$h/token" realm="http://$h/token" service="$AUTH_SERVICE" scope=-
  done
  req -H "Host: mirror.example:5000" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  challenge_is "realm-host: manifest GET with Host mirror.example:5000 → that realm and the scope" \
    realm="http://mirror.example:5000/token" service="$AUTH_SERVICE" scope=repository:library/alpine:pull

  # a client follows the realm it was given (connected to this instance, with the realm's Host)
  for h in "127.0.0.1:$P" "localhost:$P" "mirror.example:5000" "[::1]:$P"; do
    req -H "Host: $h" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
    R=$(realm) T=$(realm_token "$R" "$P" repository:library/alpine:pull)
    req "${ACCEPT_ALL[@]}" -H "Host: $h" -H "Authorization: Bearer $T" "$U/v2/library/alpine/manifests/3.19"
    resp_is "realm-host: a token from the realm given for Host $h (${R:-<none>}, alice's Basic) → manifest GET 200" 200 \
      sha="$ALPINE_DIGEST"
  done

  # Hosts that are no host[:port]: 400 on every path, the value never echoed
  long="zq$(head -c 298 /dev/zero | tr '\0' a)"
  for v in "zqa zqb" "evil-zq.com/x" "zqx:99999" "zqx:0" "zqx:abc" "<script>zq</script>" "alice@zq.example" \
    "[zq::1" "[notv6zq]:80" "$long"; do
    bad_host "realm-host: Host '${v:0:40}' on /v2/" "$v" -H "Host: $v" "$U/v2/"
  done
  bad_host "realm-host: empty Host on /v2/" "" -H 'Host;' "$U/v2/"
  bad_host "realm-host: Host 'evil-zq.com/x' on /v2/ with alice's credentials" evil-zq.com/x -H 'Host: evil-zq.com/x' -u "$ALICE" "$U/v2/"
  bad_host "realm-host: Host 'zqa zqb' on a manifest GET with credentials" "zqa zqb" -H 'Host: zqa zqb' -u "$ALICE" \
    "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  bad_host "realm-host: Host 'zqx:abc' on GET /token" zqx:abc -H 'Host: zqx:abc' -u "$ALICE" "$U/token?service=$AUTH_SERVICE"
  bad_host "realm-host: Host '<script>zq</script>' on GET /healthz" "<script>zq</script>" -H 'Host: <script>zq</script>' "$U/healthz"

  req --http1.0 -H 'Host:' "$U/v2/"
  info "HTTP/1.0 without a Host header on /v2/: status $RS, realm '$(realm)'"

  # forwarded headers from a peer that is not a trusted proxy are ignored
  req -H "Host: 127.0.0.1:$P" -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: evil-zq.example' "$U/v2/"
  challenge_is "realm-host: X-Forwarded-Proto/Host from an untrusted peer are ignored" realm="http://127.0.0.1:$P/token"
  req -H "Host: 127.0.0.1:$P" -H 'Forwarded: proto=https;host=evil-zq.example' "$U/v2/"
  challenge_is "realm-host: Forwarded from an untrusted peer is ignored" realm="http://127.0.0.1:$P/token"
  req -H "Host: 127.0.0.1:$P" -H 'X-Forwarded-Host: evil zq/x' "$U/v2/"
  resp_is "realm-host: an invalid X-Forwarded-Host from an untrusted peer is ignored too (401, not 400)" 401 code=UNAUTHORIZED

  # relative Link headers: the same whatever the Host
  req -u "$ALICE" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  req -u "$ALICE" "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
  req -u "$ALICE" -H 'Host: mirror.example:5000' "$U/v2/_catalog?n=1"
  expect_match "realm-host: _catalog?n=1 with Host mirror.example:5000: Link is relative" \
    '^</v2/_catalog\?n=1&last=[^>]+>; rel="next"$' "$(hdr link)" "request: $REQ"

  # a trusted proxy says where the client went
  realm_up realmproxy realm-host "" 'trusted_proxies: ["127.0.0.1/32"]' || return
  U=$(tg_url realmproxy) P=$(cat "$WORK/tg/realmproxy/port")
  start_log realmproxy 1 "realm-host: (trusted_proxies) the start log says '$FC_LOG_LINE'"
  req -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: mirror.example' "$U/v2/"
  challenge_is "realm-host: trusted proxy, X-Forwarded-Proto https + X-Forwarded-Host mirror.example → https://mirror.example/token" \
    realm=https://mirror.example/token service="$AUTH_SERVICE"
  req -H 'X-Forwarded-Host: a-zq.example, b-zq.example' "$U/v2/"
  challenge_is "realm-host: trusted proxy, X-Forwarded-Host 'a-zq.example, b-zq.example' → the first (http://a-zq.example/token)" \
    realm=http://a-zq.example/token
  req -H 'X-Forwarded-Proto: https' "$U/v2/"
  challenge_is "realm-host: trusted proxy, X-Forwarded-Proto https alone → https://<Host>/token" realm="https://127.0.0.1:$P/token"
  req -H 'Forwarded: proto=https;host=mirror.example:8443' "$U/v2/"
  challenge_is "realm-host: trusted proxy, Forwarded proto=https;host=mirror.example:8443 → https://mirror.example:8443/token" \
    realm=https://mirror.example:8443/token
  req -H 'Forwarded: proto=https;host="mirror.example:8443", proto=http;host=b-zq.example' "$U/v2/"
  challenge_is "realm-host: trusted proxy, Forwarded with two elements (quoted host) → the first" \
    realm=https://mirror.example:8443/token
  req -H 'X-Forwarded-Host: x-zq.example' -H 'Forwarded: host=f-zq.example' "$U/v2/"
  challenge_is "realm-host: trusted proxy, X-Forwarded-Host wins over Forwarded" realm=http://x-zq.example/token
  bad_host "realm-host: trusted proxy, X-Forwarded-Host 'evil-zq.com/x'" evil-zq.com/x -H 'X-Forwarded-Host: evil-zq.com/x' "$U/v2/"
  bad_host "realm-host: trusted proxy, X-Forwarded-Host 'zqx:99999' on /healthz" zqx:99999 -H 'X-Forwarded-Host: zqx:99999' "$U/healthz"
  bad_host "realm-host: trusted proxy, Forwarded host=\"zqa zqb\"" "zqa zqb" -H 'Forwarded: host="zqa zqb"' "$U/v2/"
  req -H 'X-Forwarded-Proto: gopher-zq' "$U/v2/"
  if [ "$RS" = 400 ] || [[ "$(realm)" =~ ^http://127\.0\.0\.1:$P/token$ ]]; then
    pass "realm-host: trusted proxy, X-Forwarded-Proto gopher-zq → 400 or ignored"
  else fail "realm-host: trusted proxy, X-Forwarded-Proto gopher-zq → 400 or ignored" "request: $REQ" \
    "expected: 400, or realm http://127.0.0.1:$P/token" "got: $(got); realm $(realm)"; fi
  not_echoed "realm-host: trusted proxy, X-Forwarded-Proto gopher-zq is not echoed" gopher-zq
  req --interface 127.0.0.2 -H "Host: 127.0.0.1:$P" -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: mirror.example' "$U/v2/"
  challenge_is "realm-host: the same headers from 127.0.0.2 (outside 127.0.0.1/32) are ignored" realm="http://127.0.0.1:$P/token"
  # the proxy ends TLS: the token request reaches Tollgate as plain HTTP with Host mirror.example
  req -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: mirror.example' "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  R=$(realm) T=$(realm_token "http://${R#*://}" "$P" repository:library/alpine:pull)
  req "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $T" "$U/v2/library/alpine/manifests/3.19"
  resp_is "realm-host: trusted proxy, a token from the forwarded realm (${R:-<none>}, reached as the proxy would) → manifest GET 200" 200 \
    sha="$ALPINE_DIGEST"
  tg_stop realmproxy

  # public_url wins
  realm_up realmpub realm-host https://pub.example 'trusted_proxies: ["127.0.0.1/32"]' || return
  U=$(tg_url realmpub) P=$(cat "$WORK/tg/realmpub/port")
  start_log realmpub 0 "realm-host: with public_url the start log does not say '$FC_LOG_LINE'"
  for h in "127.0.0.1:$P" "mirror.example:5000" "[::1]:$P"; do
    req -H "Host: $h" "$U/v2/"
    challenge_is "realm-host: public_url https://pub.example, Host $h → realm https://pub.example/token" realm=https://pub.example/token
  done
  req -H 'X-Forwarded-Proto: http' -H 'X-Forwarded-Host: fwd-zq.example' "$U/v2/"
  challenge_is "realm-host: public_url wins over a trusted proxy's X-Forwarded-Host" realm=https://pub.example/token
  req -H 'Host: zqa zqb' "$U/v2/"
  info "public_url set, Host 'zqa zqb' on /v2/: status $RS ($(errcode 2>/dev/null | head -c 80))"
  tg_stop realmpub

  # Tollgate serving TLS itself: https://<Host>/token (the test PKI of checks_ops.sh)
  ops_bin
  if ops_pki; then
    mkdir -p "$WORK/tg/realmtls"
    cp "$WORK/tg/realmhost/htpasswd" "$WORK/tg/realmtls/htpasswd"
    ops_tls_config realmtls false "$(auth_yaml realmtls 10000 5m)"
    if ops_start realmtls 2>"$WORK/tg/realmtls/start.err"; then
      U=$(ops_url realmtls) P=$(ops_port realmtls)
      for h in "localhost:$P" "mirror.example:5000"; do
        req --cacert "$OPS_CA" -H "Host: $h" -H 'X-Forwarded-Proto: http' "$U/v2/"
        challenge_is "realm-host: TLS listener, Host $h (X-Forwarded-Proto http from an untrusted peer) → realm https://$h/token" \
          realm="https://$h/token"
      done
      bad_host "realm-host: TLS listener, Host 'evil-zq.com/x'" evil-zq.com/x --cacert "$OPS_CA" -H 'Host: evil-zq.com/x' "$U/v2/"
      tg_stop realmtls
    else fail "realm-host: (setup) TLS instance realmtls starts" "$(tail -c 600 "$WORK/tg/realmtls/start.err" | tr '\n' ' ')"; fi
  else fail "realm-host: (setup) test CA and certificates made with openssl" "log: $(tail -c 400 "$OPS/pki.log")"; fi
  tg_stop realmhost
}

# ---------------------------------------------------------------------------------------------
# /etc/hosts: one line added by this run, removed again byte for byte (in place, never empty).
FC_HOSTS_LINE="127.0.0.2 mirror.test"

# contact_up CHECK — instance "contact": listen 0.0.0.0:<port>, the upstreams of the harness, every
# other key at its built-in default (storage ./data, auth ./htpasswd + ./tokens, anonymous off, no
# public_url, the built-in plans); serve and the CLI run in its folder. User fc (made with the CLI).
contact_up() {
  local d="$WORK/tg/contact" port rc
  mkdir -p "$d"
  port=$(free_port); echo "$port" >"$d/port"
  cat >"$d/config.yaml" <<EOF
listen: "0.0.0.0:$port"
upstreams:
  docker.io: {url: "$HUB_URL"}
  ghcr.io: {url: "$GHCR_URL"}
  quay.io: {url: "$QUAY_URL", username: quay-user, password_file: "$WORK/quay.password"}
EOF
  (cd "$d" && tgc contact user add fc --password-stdin <<<'fc-pw'); rc=$?
  expect "$1: tollgate user add fc --password-stdin (cwd: the instance folder)" 0 "$rc" "$(cli_got $rc)"
  (cd "$d" && tg_start_checked contact "$1: tollgate serve with the built-in defaults on 0.0.0.0:$port starts")
}

check_first_contact() {
  local H P U S="$HARNESS/clients/docker.sh" C="$HARNESS/clients/containerd.sh" PM="$HARNESS/clients/podman.sh"
  local env D d="$WORK/first-contact" T dg line="$FC_HOSTS_LINE # tollgate-e2e $WORK"
  mkdir -p "$d"
  trap "hosts_remove $(printf %q "$line")" EXIT
  hosts_add "$line"
  expect "first-contact: mirror.test resolves to 127.0.0.2 (/etc/hosts)" 127.0.0.2 "$(getent hosts mirror.test | awk '{print $1; exit}')"
  contact_up first-contact || return
  P=$(cat "$WORK/tg/contact/port") H="mirror.test:$(cat "$WORK/tg/contact/port")"
  U="http://$H"
  start_log contact 1 "first-contact: the start log says '$FC_LOG_LINE'"
  [ -s "$WORK/tg/contact/htpasswd" ] && [ -s "$WORK/tg/contact/tokens/token.key" ]
  verdict "first-contact: htpasswd and tokens/token.key made under the working folder (relative defaults)" $? \
    "got: $(ls -la "$WORK/tg/contact" "$WORK/tg/contact/tokens" 2>&1 | tr '\n' ' ' | head -c 400)"

  # what curl sees through the name (no --resolve, no Host override)
  req "$U/v2/"
  resp_is "first-contact: GET $U/v2/ without credentials → 401" 401 code=UNAUTHORIZED
  challenge_is "first-contact: the realm is http://$H/token (not the listen address)" realm="http://$H/token" service=tollgate scope=-
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  challenge_is "first-contact: manifest challenge realm http://$H/token with the scope" realm="http://$H/token" service=tollgate \
    scope=repository:library/alpine:pull
  T=$(curl -sS --max-time 30 -G -u fc:fc-pw --data-urlencode service=tollgate --data-urlencode scope=repository:library/alpine:pull \
    "$(realm)" 2>/dev/null | jq -r '.token // empty' 2>/dev/null)
  req "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $T" "$U/v2/library/alpine/manifests/3.19"
  resp_is "first-contact: a token from that realm (fc's Basic) → manifest 200" 200 sha="$ALPINE_DIGEST"

  # docker: mirror.test resolves into 127.0.0.0/8, so dockerd allows plain HTTP without --insecure-registry
  if env=$(timeout 90 "$S" start 2>"$d/dockerd.err"); then
    eval "$env"
    echo "docker $DOCKERD_DIR" >>"$WORK/daemons"
    if run_cmd "first-contact: docker login $H -u fc" 60 docker login "$H" -u fc -p fc-pw; then
      run_cmd "first-contact: docker pull $H/library/alpine:3.19" 180 docker pull -q "$H/library/alpine:3.19" &&
        expect_match "first-contact: docker pull digest (alpine)" "(^| )$(re_escape "$H")/library/alpine@$ALPINE_DIGEST( |$)" \
          "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/library/alpine:3.19" 2>&1)"
      run_cmd "first-contact: docker pull $H/ghcr.io/org/tool:v1 (prefix route)" 180 docker pull -q "$H/ghcr.io/org/tool:v1" &&
        expect_match "first-contact: docker pull digest (ghcr.io/org/tool)" "(^| )$(re_escape "$H")/ghcr.io/org/tool@$TOOL_DIGEST( |$)" \
          "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/ghcr.io/org/tool:v1" 2>&1)"
    fi
    timeout 60 "$S" stop "$DOCKERD_DIR"
  else fail "first-contact: private dockerd starts" "$(tail -c 300 "$d/dockerd.err")"; fi

  # podman
  if D=$("$PM" new); then
    echo "podman $D" >>"$WORK/daemons"
    if run_cmd "first-contact: podman login --tls-verify=false $H -u fc" 60 "$PM" do "$D" login --tls-verify=false "$H" -u fc -p fc-pw; then
      run_cmd "first-contact: podman pull $H/library/busybox:latest" 180 "$PM" do "$D" pull -q --tls-verify=false "$H/library/busybox:latest" &&
        expect "first-contact: podman pull digest (busybox)" "$BUSYBOX_DIGEST" \
          "$(timeout 30 "$PM" do "$D" image inspect --format '{{.Digest}}' "$H/library/busybox:latest" 2>&1)"
      run_cmd "first-contact: podman pull $H/quay.io/coreos/etcd:v3 (mirror-held quay credentials)" 180 \
        "$PM" do "$D" pull -q --tls-verify=false "$H/quay.io/coreos/etcd:v3" &&
        expect "first-contact: podman pull digest (quay.io/coreos/etcd)" "$ETCD_DIGEST" \
          "$(timeout 30 "$PM" do "$D" image inspect --format '{{.Digest}}' "$H/quay.io/coreos/etcd:v3" 2>&1)"
    fi
    "$PM" rm "$D"
  else fail "first-contact: private podman" "podman.sh new failed"; fi

  # skopeo
  dg=$(timeout 120 skopeo inspect --tls-verify=false --creds fc:fc-pw "docker://$H/library/alpine:3.19" 2>"$d/skopeo.err" | jq -r .Digest 2>/dev/null)
  expect "first-contact: skopeo inspect --creds docker://$H/library/alpine:3.19 → its digest" "$ALPINE_DIGEST" "$dg" \
    "stderr: $(tail -c 300 "$d/skopeo.err" | tr '\n' ' ')"
  run_cmd "first-contact: skopeo copy --all --src-creds docker://$H/library/multi:latest" 120 \
    skopeo copy -q --all --src-tls-verify=false --src-creds fc:fc-pw "docker://$H/library/multi:latest" "dir:$d/multi" &&
    expect "first-contact: skopeo copy digest (multi)" "$MULTI_DIGEST" "$(sk_digest "$d/multi")"
  run_fails "first-contact: skopeo inspect with a wrong password fails" 120 \
    skopeo inspect --tls-verify=false --creds fc:wrong-pw "docker://$H/library/alpine:3.19"

  # containerd: direct, and as the docker.io mirror (hosts.toml → http://mirror.test:PORT; ctr --user)
  if env=$(timeout 60 "$C" start 2>"$d/ctr.err"); then
    eval "$env"
    echo "containerd $CTR_DIR" >>"$WORK/daemons"
    run_cmd "first-contact: ctr pull --plain-http --user fc:… $H/library/busybox:latest" 180 \
      "$C" pull "$CTR_DIR" --plain-http --user fc:fc-pw "$H/library/busybox:latest" &&
      expect "first-contact: ctr direct pull digest" "$BUSYBOX_DIGEST" "$(ctr_digest "$H/library/busybox:latest")"
    "$C" mirror "$CTR_DIR" docker.io "$U"
    sed -i 's|^server = .*|server = "http://127.0.0.1:9"|' "$CTR_DIR/certs.d/docker.io/hosts.toml"
    run_cmd "first-contact: ctr pull --user fc:… docker.io/library/alpine:3.19 via hosts.toml mirror $U" 180 \
      "$C" pull "$CTR_DIR" --user fc:fc-pw docker.io/library/alpine:3.19 &&
      expect "first-contact: ctr mirror pull digest" "$ALPINE_DIGEST" "$(ctr_digest docker.io/library/alpine:3.19)"
    timeout 30 "$C" stop "$CTR_DIR"
  else fail "first-contact: private containerd starts" "$(tail -c 300 "$d/ctr.err")"; fi

  tg_stop contact
  rm -rf "$d"
  hosts_remove "$line"
  ! grep -qxF "$line" /etc/hosts
  verdict "first-contact: the /etc/hosts line is removed again" $? "got: $(grep -nF mirror.test /etc/hosts)"
}
