# checks_auth.sh — the auth checks (auth-*); sourced by run.sh after checks.sh, one function
# check_auth_NAME per check `auth-NAME`. They run against their own instance "auth" (auth on,
# anonymous off, users in an htpasswd file written with Apache `htpasswd -B -C 10`), started on first
# use and shared by the auth checks. auth-lockout starts "authlock" (lockout failures: 3, window 1m)
# and "authlock2" (window 2s), auth-token "authrs" (algorithm RS256); they stop them, and run.sh's
# cleanup stops whatever is left. The main instance keeps `auth: {anonymous: true}`.
# Expectations follow the auth interface (README.md here lists them per check).

AUTH_ISSUER=tollgate-e2e-issuer
AUTH_SERVICE=tollgate-e2e
# user:password written at setup; colin's password holds a colon and a space (Basic splits at the first ':')
AUTH_USERS=(alice:alice-pw bob:bob-pw dan:dan-pw rita:rita-pw 'colin:c0l:in pw' lena:lena-pw)
ALICE=alice:alice-pw

# ---------------------------------------------------------------------------------------------
# instances

# auth_yaml NAME FAILURES WINDOW — the `auth:` block of an auth-on instance (AUTH_ALG, default ES256).
auth_yaml() {
  local d="$WORK/tg/$1"
  printf 'auth:\n  htpasswd: "%s"\n  anonymous: false\n' "$d/htpasswd"
  printf '  token: {issuer: %s, service: %s, key_dir: "%s", ttl: 5m, algorithm: %s}\n' \
    "$AUTH_ISSUER" "$AUTH_SERVICE" "$d/tokens" "${AUTH_ALG:-ES256}"
  printf '  lockout: {failures: %s, window: %s}\n' "$2" "$3"
}

# auth_up NAME CHECK [FAILURES WINDOW] — start instance NAME with auth on unless it runs; then
# require that it refuses an anonymous GET /v2/ (else one FAIL for CHECK, return 1: the binary has
# no auth layer yet, and every assertion after this would fail for the same reason).
# The lockout default is high: every request of the suite comes from 127.0.0.1.
auth_up() {
  local name="$1" check="$2" d="$WORK/tg/$1" up code
  if ! tg_alive "$name"; then
    mkdir -p "$d"
    if [ ! -f "$d/htpasswd" ]; then
      : >"$d/htpasswd"
      for up in "${AUTH_USERS[@]}"; do htpasswd -B -C 10 -b "$d/htpasswd" "${up%%:*}" "${up#*:}" 2>/dev/null; done
    fi
    tg_config "$name" "" "" "$(auth_yaml "$name" "${3:-10000}" "${4:-5m}")"
    if ! tg_start "$name" 2>"$d/start.err"; then
      fail "$check: tollgate with auth on starts" "command: $TOLLGATE_BIN serve --config $d/config.yaml" \
        "got: $(tail -c 600 "$d/start.err" | tr '\n' ' ')"
      return 1
    fi
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$(tg_url "$name")/v2/")
  [ "$code" = 401 ] && return 0
  fail "$check: auth is enforced (GET /v2/ without credentials → 401)" \
    "config: $d/config.yaml (auth.anonymous: false, htpasswd, token)" \
    "got: HTTP $code — has this binary an auth layer? ($TOLLGATE_BIN)"
  return 1
}

# has_cli — the binary has the `user` command (`tollgate user --help` of a binary without it
# prints the top-level help and exits 0, so look at the usage line).
has_cli() { timeout 20 "$TOLLGATE_BIN" user --help 2>&1 | grep -q 'USAGE: tollgate user'; }

# cli_need CHECK WHAT — FAIL "CHECK: WHAT" and return 1 if the CLI is missing.
cli_need() {
  has_cli && return 0
  fail "$1: $2" "expected: tollgate user/token commands" "got: '$TOLLGATE_BIN user --help' shows no 'user' command"
  return 1
}

# tgc NAME ARGS... — the CLI with --config of instance NAME; stdin passes through; stdout in
# $WORK/cli.out, stderr in $WORK/cli.err; returns the exit status. CLI describes the command.
tgc() {
  local name="$1"; shift
  CLI="tollgate $(printf '%q ' "$@")--config $WORK/tg/$name/config.yaml"
  timeout 60 "$TOLLGATE_BIN" "$@" --config "$WORK/tg/$name/config.yaml" >"$WORK/cli.out" 2>"$WORK/cli.err"
}
cli_got() { printf 'exit %s; stdout: %s; stderr: %s' "$1" "$(head -c 300 "$WORK/cli.out" | tr '\n' '|')" "$(head -c 300 "$WORK/cli.err" | tr '\n' '|')"; }

# ---------------------------------------------------------------------------------------------
# tokens and challenges

# tok NAME CREDS SCOPE... — GET NAME's /token with Basic CREDS (none if empty) for the scopes; prints
# .token ('' on any failure).
tok() {
  local name="$1" creds="$2" s a=(); shift 2
  for s in "$@"; do a+=(--data-urlencode "scope=$s"); done
  curl -sS --max-time 30 -G ${creds:+-u "$creds"} --data-urlencode "service=$AUTH_SERVICE" \
    ${creds:+--data-urlencode "account=${creds%%:*}"} "${a[@]}" "$(tg_url "$name")/token" 2>/dev/null |
    jq -r '.token // empty' 2>/dev/null
}

# chal — the Bearer challenge of the last response ('' if none); chal_param CHALLENGE KEY → value.
chal() { tr -d '\r' <"$RH" | awk 'tolower($0) ~ /^www-authenticate: *bearer / {sub(/^[^:]*: */, ""); print; exit}'; }
chal_param() { [[ "$1" =~ (^|[ ,])$2=\"([^\"]*)\" ]] && printf '%s' "${BASH_REMATCH[2]}"; }

# challenge_is NAME KEY=VALUE... — the last response has a Bearer challenge with these params
# (VALUE '-' = the param must be absent).
challenge_is() {
  local name="$1" c kv k v g problems=(); shift
  c=$(chal)
  if [ -z "$c" ]; then
    fail "$name" "request: $REQ" "expected: a WWW-Authenticate: Bearer … header" \
      "got: status $RS, $(grep -i '^www-authenticate' "$RH" | tr -d '\r' | head -2 | tr '\n' ' ')"
    return 1
  fi
  for kv in "$@"; do
    k=${kv%%=*} v=${kv#*=}; [ "$v" = - ] && v=""
    g=$(chal_param "$c" "$k")
    [ "$g" = "$v" ] || problems+=("$k: expected ${v:-<absent>}, got ${g:-<absent>}")
  done
  if [ ${#problems[@]} -eq 0 ]; then pass "$name"; else fail "$name" "request: $REQ" "${problems[@]}" "challenge: $c"; fi
}

# until_status SECONDS WANT-REGEX REQ-ARGS... — repeat `req` every 0.1 s until the status matches
# or SECONDS passed (at most 100 tries); WAITED = ms since the first try. Returns 0 if it matched.
until_status() {
  local lim="$1" want="$2" t0 i; shift 2
  t0=$(date +%s%N)
  for i in $(seq 100); do
    req "$@"
    WAITED=$((($(date +%s%N) - t0) / 1000000))
    [[ "$RS" =~ ^($want)$ ]] && return 0
    [ "$WAITED" -ge $((lim * 1000)) ] && return 1
    sleep 0.1
  done
  return 1
}

# within NAME SECONDS WANT REQ-ARGS... — pass if the status becomes WANT within SECONDS.
within() {
  local name="$1" lim="$2" want="$3"; shift 3
  if until_status "$lim" "$want" "$@"; then pass "$name"; info "after $WAITED ms"; return 0; fi
  fail "$name" "request: $REQ" "expected: status $want within $lim s" "got: $(got) (last try after $WAITED ms)"
  return 1
}

# JWT helper (python3-cryptography): decode | verify TOKEN CERT | jwk CERT | x5c CERT |
# sign KEY HEADER-JSON CLAIMS-JSON (alg ES256, RS256, HS256 = HMAC with the file's bytes, none) | mkkey KEY CERT
AUTH_JWT_PY=$(cat <<'PY'
import base64, datetime, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization, hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

def b64d(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def b64e(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def ib(n, size=None): return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")
def jwk(pub):
    n = pub.public_numbers()
    if isinstance(pub, ec.EllipticCurvePublicKey):
        sz = (pub.curve.key_size + 7) // 8
        return {"crv": {256: "P-256", 384: "P-384", 521: "P-521"}[pub.curve.key_size], "kty": "EC",
                "x": b64e(ib(n.x, sz)), "y": b64e(ib(n.y, sz))}
    return {"e": b64e(ib(n.e)), "kty": "RSA", "n": b64e(ib(n.n))}
def thumb(pub):  # RFC 7638
    j = jwk(pub); keys = ["crv", "kty", "x", "y"] if j["kty"] == "EC" else ["e", "kty", "n"]
    return b64e(hashlib.sha256(json.dumps({k: j[k] for k in keys}, separators=(",", ":"), sort_keys=True).encode()).digest())
def cert(path): return x509.load_pem_x509_certificate(open(path, "rb").read())

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "decode":
    p = args[0].split(".")
    if len(p) != 3: sys.exit("not three dot-separated parts")
    print(json.dumps({"header": json.loads(b64d(p[0])), "claims": json.loads(b64d(p[1]))}))
elif cmd == "verify":
    tok, c = args[0], cert(args[1]); pub = c.public_key(); problems = []
    h64, c64, s64 = tok.split(".")
    h = json.loads(b64d(h64)); sig = b64d(s64); data = (h64 + "." + c64).encode()
    try:
        if h.get("alg") == "ES256":
            if len(sig) != 64: raise ValueError("ES256 signature is %d bytes, want 64 (JWS r||s)" % len(sig))
            pub.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
                       data, ec.ECDSA(hashes.SHA256()))
        elif h.get("alg") == "RS256":
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else: raise ValueError("alg %r" % h.get("alg"))
    except Exception as e: problems.append("signature does not verify with token.crt: %s" % (str(e) or type(e).__name__))
    x5c = h.get("x5c") or []
    if not x5c or base64.b64decode(x5c[0]) != c.public_bytes(serialization.Encoding.DER):
        problems.append("x5c[0] is not token.crt (DER, standard base64)")
    if h.get("kid") != thumb(pub): problems.append("kid %r is not the RFC 7638 thumbprint %r" % (h.get("kid"), thumb(pub)))
    print("; ".join(problems) or "ok"); sys.exit(1 if problems else 0)
elif cmd == "jwk":
    pub = cert(args[0]).public_key(); print(json.dumps(dict(jwk(pub), kid=thumb(pub))))
elif cmd == "x5c":
    print(json.dumps([base64.b64encode(cert(args[0]).public_bytes(serialization.Encoding.DER)).decode()]))
elif cmd == "sign":
    raw = open(args[0], "rb").read(); h = json.loads(args[1]); cl = json.loads(args[2])
    data = (b64e(json.dumps(h, separators=(",", ":")).encode()) + "." +
            b64e(json.dumps(cl, separators=(",", ":")).encode())).encode()
    alg = h.get("alg")
    if alg == "none": sig = b""
    elif alg == "HS256":
        m = hmac.HMAC(raw, hashes.SHA256()); m.update(data); sig = m.finalize()
    else:
        key = serialization.load_pem_private_key(raw, None)
        if alg == "ES256":
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256()))); sig = ib(r, 32) + ib(s, 32)
        else: sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    print(data.decode() + "." + b64e(sig))
elif cmd == "mkkey":
    key = ec.generate_private_key(ec.SECP256R1()); name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2e-intruder")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    open(args[0], "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    open(args[1], "wb").write(c.public_bytes(serialization.Encoding.PEM))
else: sys.exit("unknown command " + cmd)
PY
)
jwt() { python3 -c "$AUTH_JWT_PY" "$@"; }

# bearer_get NAME TOKEN PATH — GET a manifest/blob path on instance NAME with the token.
bearer_get() { req "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $2" "$(tg_url "$1")$3"; }

# ---------------------------------------------------------------------------------------------
check_auth_anon() {
  auth_up auth auth-anon || return
  local U realm h0 h1
  U=$(tg_url auth) realm="$(tg_url auth)/token"
  h0=$(up_lines hub)
  req "$U/v2/"
  resp_is "auth-anon: GET /v2/ without credentials → 401 UNAUTHORIZED (with API version header)" 401 code=UNAUTHORIZED apiver=registry/2.0
  challenge_is "auth-anon: /v2/ challenge is Bearer realm=<public_url>/token, service, no scope" \
    realm="$realm" service="$AUTH_SERVICE" scope=-
  req -I "$U/v2/"
  resp_is "auth-anon: HEAD /v2/ without credentials → 401" 401

  local -a cases=(
    "GET manifest by tag|/v2/library/alpine/manifests/3.19|repository:library/alpine:pull"
    "HEAD manifest|-I /v2/library/busybox/manifests/latest|repository:library/busybox:pull"
    "GET blob|/v2/library/alpine/blobs/$SMALL_BLOB|repository:library/alpine:pull"
    "GET tags/list|/v2/library/alpine/tags/list|repository:library/alpine:pull"
    "prefix-routed name (as sent)|/v2/ghcr.io/org/tool/manifests/v1|repository:ghcr.io/org/tool:pull"
    "containerd ?ns= mirror request|/v2/library/busybox/manifests/latest?ns=docker.io|repository:library/busybox:pull"
    "one-component Hub name (library/ added by the mirror)|/v2/alpine/manifests/3.19|repository:alpine:pull"
  )
  local x what path scope head
  for x in "${cases[@]}"; do
    what=${x%%|*} x=${x#*|} path=${x%%|*} scope=${x#*|} head=()
    [[ "$path" == "-I "* ]] && { head=(-I); path=${path#-I }; }
    req "${head[@]}" "${ACCEPT_ALL[@]}" "$U$path"
    if [ ${#head[@]} = 0 ]; then resp_is "auth-anon: $what without credentials → 401 UNAUTHORIZED" 401 code=UNAUTHORIZED apiver=registry/2.0
    else resp_is "auth-anon: $what without credentials → 401" 401 apiver=registry/2.0; fi
    challenge_is "auth-anon: $what challenge has scope=\"$scope\"" realm="$realm" service="$AUTH_SERVICE" scope="$scope"
  done

  # containers/image sends empty Basic when it has no creds: anonymous, so a challenge
  req -H 'Authorization: Basic Og==' "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-anon: 'Authorization: Basic Og==' (empty) → 401 UNAUTHORIZED" 401 code=UNAUTHORIZED
  challenge_is "auth-anon: empty Basic gets the Bearer challenge with scope" realm="$realm" service="$AUTH_SERVICE" \
    scope=repository:library/alpine:pull
  req -H 'Authorization: Basic Og==' "$U/v2/"
  resp_is "auth-anon: empty Basic on /v2/ → 401" 401
  req -u nosuchuser:whatever "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-anon: unknown user (Basic) → 401 UNAUTHORIZED" 401 code=UNAUTHORIZED
  req -H 'Authorization: Bearer' "$U/v2/"
  resp_is "auth-anon: 'Authorization: Bearer' without a token → 401" 401
  req -H 'Authorization: Digest username="alice"' "$U/v2/"
  resp_is "auth-anon: unknown scheme (Digest) → 401" 401
  req -H 'Authorization: Basic !!!not-base64!!!' "$U/v2/"
  resp_is "auth-anon: Basic that is not base64 → 401" 401
  req -H "Authorization: Basic $(printf nocolon | base64)" "$U/v2/"
  resp_is "auth-anon: Basic without ':' → 401" 401
  req -u "$(head -c 3000 /dev/zero | tr '\0' a):x" "$U/v2/"
  resp_is "auth-anon: Basic with a 3000-character user name → 401" 401
  req -H "Authorization: Bearer $(head -c 12000 /dev/zero | tr '\0' A).$(head -c 100 /dev/zero | tr '\0' A).AAAA" "$U/v2/"
  resp_is "auth-anon: 12 KB Bearer token → 4xx" '4[0-9][0-9]'

  sleep 0.3
  h1=$(up_lines hub)
  expect "auth-anon: refused requests never reach the upstream (hub log unchanged)" "$h0" "$h1" \
    "new hub lines: $(tail -n +$((h0 + 1)) "$HARNESS_DIR/hub/registry.log" | head -3 | cut -c1-160 | tr '\n' ' ')"

  # the main instance (anonymous: true): empty Basic is anonymous there, so it pulls
  req -H 'Authorization: Basic Og==' "${ACCEPT_ALL[@]}" "$(tg_url main)/v2/library/alpine/manifests/3.19"
  resp_is "auth-anon: anonymous: true instance (main): 'Basic Og==' → 200 like no header" 200 sha="$ALPINE_DIGEST"
}

# ---------------------------------------------------------------------------------------------
check_auth_basic() {
  auth_up auth auth-basic || return
  local U; U=$(tg_url auth)
  req -u "$ALICE" "$U/v2/"
  resp_is "auth-basic: GET /v2/ with Basic alice → 200" 200
  req -u "$ALICE" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-basic: GET manifest with Basic alice → 200, the upstream's bytes" 200 sha="$ALPINE_DIGEST" digest="$ALPINE_DIGEST"
  req -I -u "$ALICE" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-basic: HEAD manifest with Basic alice → 200" 200 digest="$ALPINE_DIGEST"
  req -u "$ALICE" "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "auth-basic: GET blob with Basic alice → 200" 200 sha="$SMALL_BLOB"
  req -u 'colin:c0l:in pw' "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-basic: password holding ':' and ' ' (colin) → 200" 200 sha="$ALPINE_DIGEST"
  req -u alice:wrong-pw "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-basic: wrong password → 401 UNAUTHORIZED" 401 code=UNAUTHORIZED
  challenge_is "auth-basic: wrong password gets the Bearer challenge" service="$AUTH_SERVICE" scope=repository:library/alpine:pull
  req -u alice: "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-basic: right user, empty password → 401" 401
  req -u ALICE:alice-pw "$U/v2/"
  resp_is "auth-basic: user names are case-sensitive (ALICE) → 401" 401
  # a cached verification must be keyed by the password too, not only the user
  req -u alice:alice-pw-and-more "$U/v2/"
  resp_is "auth-basic: right password plus a suffix → 401" 401
  local t0 ms
  t0=$(date +%s%N)
  for _ in $(seq 20); do curl -s -o /dev/null --max-time 10 -u "$ALICE" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/$ALPINE_DIGEST"; done
  ms=$((($(date +%s%N) - t0) / 1000000))
  info "20 sequential Basic (bcrypt cost 10) manifest GETs: $ms ms"
  local tu tw
  tu=$(for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 -u "nosuch$i:pw-$i" "$U/v2/"; done | sort -g | sed -n 3p)
  tw=$(for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 -u "alice:wrong-$i" "$U/v2/"; done | sort -g | sed -n 3p)
  info "median time to refuse: unknown user ${tu}s, known user with a wrong password ${tw}s"

  # bcrypt must not run on the event loop: a Bearer request is not queued behind 32 wrong passwords
  local T pids=() worst
  T=$(tok auth "$ALICE")
  for i in $(seq 32); do curl -s -o /dev/null --max-time 30 -u "alice:wrong-load-$i" "$U/v2/" & pids+=($!); done
  sleep 0.05
  worst=$(for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 -H "Authorization: Bearer $T" "$U/v2/"; sleep 0.05; done | sort -g | tail -1)
  wait "${pids[@]}"
  [ -n "$T" ] && awk -v w="${worst:-99}" 'BEGIN {exit !(w < 1.0)}'
  verdict "auth-basic: Bearer /v2/ stays fast (< 1 s) while 32 wrong Basic passwords are checked" $? \
    "expected: slowest of 5 Bearer GET /v2/ during the load < 1 s" "got: ${worst:-?} s (token: ${T:0:12}…)"
  info "slowest Bearer /v2/ under bcrypt load: ${worst}s"
}

# ---------------------------------------------------------------------------------------------
check_auth_token() {
  auth_up auth auth-token || return
  local U K now J T T2 problems crt key
  U=$(tg_url auth) K="$WORK/tg/auth/tokens"
  crt="$K/token.crt" key="$K/token.key"

  # key material generated at first start
  [ "$(stat -c %a "$key" 2>/dev/null)" = 600 ] && pass "auth-token: key_dir/token.key exists, mode 0600" ||
    fail "auth-token: key_dir/token.key exists, mode 0600" "got: $(ls -la "$K" 2>&1 | tr '\n' ' ')"
  openssl x509 -in "$crt" -noout 2>/dev/null
  verdict "auth-token: token.crt is a PEM certificate" $? "got: $(head -c 100 "$crt" 2>&1)"

  req -u "$ALICE" -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode "scope=repository:library/alpine:pull" \
    --data-urlencode account=alice "$U/token"
  resp_is "auth-token: GET /token with Basic alice and a pull scope → 200" 200
  T=$(jq -r '.token // empty' "$RB" 2>/dev/null)
  now=$(date +%s)
  problems=$(jq -r '[
      (if (.token | type) != "string" or .token == "" then "no token" else empty end),
      (if .access_token != .token then "access_token differs from token" else empty end),
      (if (.expires_in | type) != "number" or .expires_in < 60 or .expires_in > 300 then "expires_in \(.expires_in) (want 60..300 for ttl 5m)" else empty end),
      (if (.issued_at | type) != "string" or (.issued_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$") | not) then "issued_at \(.issued_at | tojson) is not RFC 3339" else empty end),
      (if has("refresh_token") then "refresh_token without offline_token=true" else empty end)
    ] | join("; ")' "$RB" 2>&1)
  expect "auth-token: reply has token = access_token, expires_in, issued_at (RFC 3339), no refresh_token" "" "$problems" "reply: $(body_snip 300)"
  expect_match "auth-token: /token reply has Cache-Control: no-store" 'no-store' "$(hdr cache-control)"
  [ -n "$T" ] || { fail "auth-token: (no token, the rest of this check is skipped)" "reply: $(got)"; return; }

  J=$(jwt decode "$T" 2>&1)
  problems=$(jq -r --arg iss "$AUTH_ISSUER" --arg aud "$AUTH_SERVICE" --argjson now "$now" '
    .header as $h | .claims as $c | [
      (if $h.alg != "ES256" then "alg \($h.alg | tojson)" else empty end),
      (if $h.typ != "JWT" then "typ \($h.typ | tojson)" else empty end),
      (if ($h.kid | type) != "string" or $h.kid == "" then "no kid" else empty end),
      (if ($h.x5c | type) != "array" or ($h.x5c | length) < 1 then "no x5c" else empty end),
      (if $c.iss != $iss then "iss \($c.iss | tojson)" else empty end),
      (if ($c.aud != $aud) and ((($c.aud | type) != "array") or ($c.aud | index($aud)) == null) then "aud \($c.aud | tojson)" else empty end),
      (if $c.sub != "alice" then "sub \($c.sub | tojson)" else empty end),
      (if ($c.iat | type) != "number" or $c.iat < $now - 60 or $c.iat > $now + 5 then "iat \($c.iat) (now \($now))" else empty end),
      (if ($c.nbf | type) != "number" or $c.nbf > $now + 1 or $c.nbf < $now - 600 then "nbf \($c.nbf) (now \($now))" else empty end),
      (if ($c.exp | type) != "number" or ($c.exp - $c.iat) < 60 or ($c.exp - $c.iat) > 301 then "exp-iat = \($c.exp - $c.iat) (ttl 5m)" else empty end),
      (if ($c.jti | type) != "string" or $c.jti == "" then "no jti" else empty end),
      (if $c.access != [{"type": "repository", "name": "library/alpine", "actions": ["pull"]}] then "access \($c.access | tojson)" else empty end)
    ] | join("; ")' <<<"$J" 2>&1)
  expect "auth-token: JWT header (ES256, typ, kid, x5c) and claims (iss, aud, sub, iat, nbf, exp, jti, access)" "" "$problems" "decoded: $(head -c 700 <<<"$J")"
  expect "auth-token: signature verifies with token.crt; x5c[0] = token.crt; kid = its RFC 7638 thumbprint" ok "$(jwt verify "$T" "$crt" 2>&1)"

  req "$U/token/jwks.json"
  resp_is "auth-token: GET /token/jwks.json (no credentials) → 200" 200
  local want_jwk
  want_jwk=$(jwt jwk "$crt" 2>&1)
  problems=$(jq -r --argjson w "$want_jwk" '[.keys[]? | select(.kid == $w.kid)] as $k |
      if ($k | length) != 1 then "no key with kid \($w.kid) among \([.keys[]?.kid] | tojson)"
      elif $k[0].kty != "EC" or $k[0].crv != "P-256" or $k[0].x != $w.x or $k[0].y != $w.y then "key \($k[0] | tojson) is not token.crt'"'"'s"
      else "" end' "$RB" 2>&1)
  expect "auth-token: JWKS holds token.crt's key under the token's kid" "" "$problems" "jwks: $(body_snip 300)"

  bearer_get auth "$T" /v2/library/alpine/manifests/3.19
  resp_is "auth-token: Bearer token → manifest 200" 200 sha="$ALPINE_DIGEST"
  bearer_get auth "$T" "/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "auth-token: Bearer token → blob 200" 200 sha="$SMALL_BLOB"
  bearer_get auth "$T" /v2/
  resp_is "auth-token: Bearer token → /v2/ 200" 200
  bearer_get auth "$(tok auth "$ALICE" repository:ghcr.io/org/tool:pull)" /v2/ghcr.io/org/tool/manifests/v1
  resp_is "auth-token: token for repository:ghcr.io/org/tool (prefix route, name as sent) → 200" 200 sha="$TOOL_DIGEST"
  bearer_get auth "$(tok auth "$ALICE" repository:alpine:pull)" /v2/alpine/manifests/3.19
  resp_is "auth-token: token for repository:alpine (one-component Hub name, as sent) → 200" 200 sha="$ALPINE_DIGEST"
  bearer_get auth "$T" /v2/library/busybox/manifests/latest
  resp_is "auth-token: token for library/alpine on library/busybox → 401" 401
  challenge_is "auth-token: … with error=insufficient_scope and busybox's scope" error=insufficient_scope \
    scope=repository:library/busybox:pull
  T2=$(tok auth "$ALICE" repository:library/alpine:pull)
  [ -n "$T2" ] && [ "$(jwt decode "$T2" | jq -r .claims.jti)" != "$(jq -r .claims.jti <<<"$J")" ]
  verdict "auth-token: two tokens have different jti" $? "got: $(jwt decode "$T2" 2>&1 | jq -c .claims.jti) twice"

  # grants: requested ∩ allowed
  J=$(jwt decode "$(tok auth "$ALICE" repository:library/alpine:pull,push)" 2>&1)
  expect "auth-token: pull,push asked → access has only pull" true \
    "$(jq '.claims.access == [{"type": "repository", "name": "library/alpine", "actions": ["pull"]}]' <<<"$J" 2>&1)" \
    "access: $(jq -c .claims.access <<<"$J" 2>&1)"
  J=$(jwt decode "$(tok auth "$ALICE" repository:library/alpine:pull repository:library/busybox:pull)" 2>&1)
  expect "auth-token: two scope params → both repositories" 'library/alpine:pull library/busybox:pull' \
    "$(jq -r '[.claims.access[] | "\(.name):\(.actions | join(","))"] | sort | join(" ")' <<<"$J" 2>&1)"
  req -u "$ALICE" -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode "scope=repository:library/alpine:push" "$U/token"
  resp_is "auth-token: only push asked → 200 (not an error)" 200
  expect "auth-token: … with empty access" '[]' "$(jwt decode "$(jq -r .token "$RB")" 2>/dev/null | jq -c '.claims.access // []')"
  local login_tok; login_tok=$(tok auth "$ALICE")
  bearer_get auth "$login_tok" /v2/
  resp_is "auth-token: token without scope (docker login) → /v2/ 200" 200
  bearer_get auth "$login_tok" /v2/library/alpine/manifests/3.19
  resp_is "auth-token: token without scope → manifest 401" 401

  req -u alice:wrong-pw -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode "scope=repository:library/alpine:pull" "$U/token"
  resp_is "auth-token: GET /token with a wrong password → 401" 401
  [ -z "$(jq -r '.token // empty' "$RB" 2>/dev/null)" ]
  verdict "auth-token: … and no token in the reply" $? "reply: $(body_snip)"
  req -u "$ALICE" -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode account=bob \
    --data-urlencode "scope=repository:library/alpine:pull" "$U/token"
  if [[ "$RS" =~ ^4 ]] || [ "$(jwt decode "$(jq -r '.token // empty' "$RB")" 2>/dev/null | jq -r .claims.sub)" = alice ]; then
    pass "auth-token: account=bob with Basic alice → refused, or a token for alice (never bob)"
  else fail "auth-token: account=bob with Basic alice → refused, or a token for alice (never bob)" "request: $REQ" "got: $(got)"; fi

  # bad tokens: a base token like Tollgate's own, re-made by the test
  local H C
  H=$(jwt decode "$T" | jq -c .header) C=$(jwt decode "$T" | jq -c .claims)
  # forge HEADER-JQ CLAIMS-JQ [KEYFILE] — Tollgate's header/claims (times refreshed), changed by the jq filters, signed
  forge() {
    local n; n=$(date +%s)
    jwt sign "${3:-$key}" "$(jq -c "$1" <<<"$H")" \
      "$(jq -c --argjson now "$n" ".iat = \$now | .nbf = \$now | .exp = \$now + 300 | .jti = \"e2e-\(\$now)-$RANDOM\" | $2" <<<"$C")"
  }
  local ctl
  if ! ctl=$(forge . . 2>"$WORK/forge.err"); then
    fail "auth-token: (test setup) sign a token with token.key" "got: $(tail -c 300 "$WORK/forge.err")"
    return
  fi
  bearer_get auth "$ctl" /v2/library/alpine/manifests/3.19
  resp_is "auth-token: control: a token made by the test with token.key and correct claims → 200" 200

  jwt mkkey "$WORK/intruder.key" "$WORK/intruder.crt"
  local -a bad=(
    "garbage|not.a.jwt"
    "three random parts|$(head -c 30 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=').e30.AAAA"
    "expired 10 min ago|$(forge . '.exp = $now - 600 | .iat = $now - 900 | .nbf = $now - 900')"
    "not valid for 10 more min (nbf)|$(forge . '.nbf = $now + 600 | .iat = $now + 600 | .exp = $now + 900')"
    "aud of another service|$(forge . '.aud = "some-other-registry"')"
    "alg none, no signature|$(forge '.alg = "none"' .)"
    "HS256 keyed with token.crt (alg confusion)|$(forge '.alg = "HS256"' . "$crt")"
    "signed by another key, Tollgate's kid/x5c|$(forge . . "$WORK/intruder.key")"
    "self-consistent token of another key (own x5c, kid)|$(forge ".x5c = $(jwt x5c "$WORK/intruder.crt") | .kid = \"$(jwt jwk "$WORK/intruder.crt" | jq -r .kid)\"" . "$WORK/intruder.key")"
    "claims changed after signing (sub)|$(cut -d. -f1 <<<"$T").$(jq -c '.sub = "admin"' <<<"$C" | base64 -w0 | tr '+/' '-_' | tr -d '=').$(cut -d. -f3 <<<"$T")"
  )
  local x what t
  for x in "${bad[@]}"; do
    what=${x%%|*} t=${x#*|}
    bearer_get auth "$t" /v2/library/alpine/manifests/3.19
    resp_is "auth-token: bad token ($what) → 401 UNAUTHORIZED" 401 code=UNAUTHORIZED
    challenge_is "auth-token: bad token ($what) → challenge error=invalid_token" error=invalid_token \
      scope=repository:library/alpine:pull
  done
  bearer_get auth "$(forge . '.access[0].actions = ["*"]')" /v2/library/alpine/manifests/3.19
  info "a token with actions [\"*\"] (made with token.key): $RS"

  # algorithm: RS256 — its own instance and key_dir
  AUTH_ALG=RS256 auth_up authrs auth-token || return
  T=$(tok authrs "$ALICE" repository:library/alpine:pull)
  expect "auth-token: algorithm RS256 → header alg RS256" RS256 "$(jwt decode "$T" 2>/dev/null | jq -r .header.alg)"
  expect "auth-token: RS256 signature verifies with its token.crt; x5c, kid" ok "$(jwt verify "$T" "$WORK/tg/authrs/tokens/token.crt" 2>&1)"
  bearer_get authrs "$T" /v2/library/alpine/manifests/3.19
  resp_is "auth-token: RS256 token → manifest 200" 200 sha="$ALPINE_DIGEST"
  bearer_get authrs "$(jwt sign "$key" "$(jq -c . <<<"$H")" "$(jq -c --argjson n "$(date +%s)" '.iat = $n | .nbf = $n | .exp = $n + 300' <<<"$C")")" \
    /v2/library/alpine/manifests/3.19
  resp_is "auth-token: the RS256 instance refuses an ES256 token of the other instance's key" 401
  tg_stop authrs
}

# ---------------------------------------------------------------------------------------------
# run_fails NAME SECONDS CMD... — the client command must fail (exit ≠ 0, not a timeout).
run_fails() {
  local name="$1" t="$2" rc
  shift 2
  timeout "$t" "$@" >"$WORK/cmd.out" 2>&1
  rc=$?
  if [ $rc != 0 ] && [ $rc != 124 ]; then pass "$name"; info "$(tail -c 160 "$WORK/cmd.out" | tr '\n' ' ')"; return 0; fi
  fail "$name" "command: $(printf '%q ' "$@")" "expected: non-zero exit" \
    "got: exit $rc$([ $rc = 124 ] && echo " (timed out after ${t}s)"); output tail: $(tail -c 400 "$WORK/cmd.out" | tr '\n' ' ')"
  return 1
}

# sk_digest DIR — sha256 of the manifest skopeo copied into dir:DIR
sk_digest() { echo "sha256:$(sha256sum <"$1/manifest.json" 2>/dev/null | cut -d' ' -f1)"; }

check_auth_skopeo() {
  auth_up auth auth-skopeo || return
  local H d="$WORK/auth-skopeo" af
  H=$(tg_host auth) af="$d/auth.json"
  mkdir -p "$d"
  run_cmd "auth-skopeo: copy --src-creds alice:… $H/library/alpine:3.19" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "$ALICE" "docker://$H/library/alpine:3.19" "dir:$d/a" &&
    expect "auth-skopeo: --src-creds copy digest" "$ALPINE_DIGEST" "$(sk_digest "$d/a")"
  run_fails "auth-skopeo: copy without credentials fails" 120 \
    skopeo copy -q --src-tls-verify=false "docker://$H/library/alpine:3.19" "dir:$d/b"
  run_fails "auth-skopeo: copy with a wrong password fails" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds alice:wrong-pw "docker://$H/library/alpine:3.19" "dir:$d/c"
  run_fails "auth-skopeo: login with a wrong password fails" 60 \
    skopeo login --tls-verify=false --authfile "$af" -u alice -p wrong-pw "$H"
  if run_cmd "auth-skopeo: login --authfile" 60 skopeo login --tls-verify=false --authfile "$af" -u alice -p alice-pw "$H"; then
    expect "auth-skopeo: auth file holds an entry for $H" alice "$(jq -r --arg h "$H" '.auths[$h].auth // empty' "$af" | base64 -d 2>/dev/null | cut -d: -f1)"
    run_cmd "auth-skopeo: copy --authfile $H/library/busybox:latest" 120 \
      skopeo copy -q --src-tls-verify=false --authfile "$af" "docker://$H/library/busybox:latest" "dir:$d/d" &&
      expect "auth-skopeo: --authfile copy digest" "$BUSYBOX_DIGEST" "$(sk_digest "$d/d")"
  fi
  run_cmd "auth-skopeo: copy --src-creds $H/library/multi:latest --all (list + 2 platforms)" 120 \
    skopeo copy -q --all --src-tls-verify=false --src-creds "$ALICE" "docker://$H/library/multi:latest" "dir:$d/m" &&
    expect "auth-skopeo: multi digest" "$MULTI_DIGEST" "$(sk_digest "$d/m")"
  rm -rf "$d"
}

# ---------------------------------------------------------------------------------------------
check_auth_podman() {
  auth_up auth auth-podman || return
  local H D P="$HARNESS/clients/podman.sh" dg
  H=$(tg_host auth)
  D=$(PODMAN_INSECURE="$H" PODMAN_MIRROR="docker.io=$H" "$P" new) || { fail "auth-podman: private podman" "podman.sh new failed"; return; }
  sed -i 's|^location = "docker.io"|location = "127.0.0.1:9"|' "$D/registries.conf"
  echo "podman $D" >>"$WORK/daemons"
  run_fails "auth-podman: pull $H/library/busybox:latest before login fails" 120 "$P" do "$D" pull -q "$H/library/busybox:latest"
  run_fails "auth-podman: login with a wrong password fails" 60 "$P" do "$D" login "$H" -u alice -p wrong-pw
  if run_cmd "auth-podman: login $H -u alice" 60 "$P" do "$D" login "$H" -u alice -p alice-pw; then
    if run_cmd "auth-podman: pull docker.io/library/alpine:3.19 via the mirror (creds of the mirror host)" 180 \
      "$P" do "$D" pull -q docker.io/library/alpine:3.19; then
      dg=$(timeout 30 "$P" do "$D" image inspect --format '{{.Digest}}' docker.io/library/alpine:3.19 2>&1)
      expect "auth-podman: mirror-pulled image digest" "$ALPINE_DIGEST" "$dg"
    fi
    run_cmd "auth-podman: pull $H/library/busybox:latest" 180 "$P" do "$D" pull -q "$H/library/busybox:latest"
  fi
  "$P" rm "$D"
}

# ---------------------------------------------------------------------------------------------
check_auth_docker() {
  auth_up auth auth-docker || return
  local S="$HARNESS/clients/docker.sh" H env M n cfg a pat
  H=$(tg_host auth)
  env=$(DOCKERD_INSECURE="$H" timeout 90 "$S" start 2>"$WORK/dockerd-auth.err") ||
    { fail "auth-docker: private dockerd starts" "$(tail -c 300 "$WORK/dockerd-auth.err")"; return; }
  eval "$env"
  echo "docker $DOCKERD_DIR" >>"$WORK/daemons"
  cfg="$DOCKER_CONFIG/config.json"

  run_fails "auth-docker: pull $H/library/alpine:3.19 without login fails" 120 docker pull -q "$H/library/alpine:3.19"
  run_fails "auth-docker: login with a wrong password fails" 60 docker login "$H" -u alice -p wrong-pw
  if run_cmd "auth-docker: docker login $H -u alice" 60 docker login "$H" -u alice -p alice-pw; then
    expect_match "auth-docker: config.json holds an identitytoken for $H" '^.{16,}$' \
      "$(jq -r --arg h "$H" '.auths[$h].identitytoken // empty' "$cfg" 2>&1)" "config.json: $(head -c 300 "$cfg" 2>&1 | tr '\n' ' ')"
    a=$(jq -r --arg h "$H" '.auths[$h].auth // empty' "$cfg" | base64 -d 2>/dev/null)
    if [ "${a#*:}" = "" ] && ! grep -qF alice-pw "$cfg"; then pass "auth-docker: config.json holds no password (auth is 'alice:' or absent)"
    else fail "auth-docker: config.json holds no password (auth is 'alice:' or absent)" "expected: no password saved (the identity token replaces it)" \
      "got: auth decodes to '$(sed 's/:.*/:<password>/' <<<"$a")'"; fi
    M=$(tg_mark auth)
    if run_cmd "auth-docker: pull $H/library/alpine:3.19 after login" 180 docker pull -q "$H/library/alpine:3.19"; then
      expect_match "auth-docker: pulled digest" "(^| )$(re_escape "$H")/library/alpine@$ALPINE_DIGEST( |$)" \
        "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/library/alpine:3.19" 2>&1)"
    fi
    sleep 0.3
    n=$(alc auth "$M" method POST path '/token' status 200)
    [ "${n:-0}" -ge 1 ] && pass "auth-docker: the pull exchanged the identity token: POST /token → 200" ||
      fail "auth-docker: the pull exchanged the identity token: POST /token → 200" \
        "expected: access line method=POST path=/token status=200 (grant_type=refresh_token, client_id=docker)" \
        "got: $(al auth "$M" | grep -F /token | head -4 | tr '\n' ' ')"
    timeout 30 docker logout "$H" >/dev/null 2>&1
  fi
  # a personal access token as the password
  if has_cli; then
    if tgc auth token create alice --label docker-e2e && pat=$(head -1 "$WORK/cli.out") && [ -n "$pat" ]; then
      if run_cmd "auth-docker: docker login with a personal access token" 60 docker login "$H" -u alice -p "$pat"; then
        run_cmd "auth-docker: pull $H/library/busybox:latest after the token login" 180 docker pull -q "$H/library/busybox:latest"
      fi
    else
      fail "auth-docker: (setup) tollgate token create alice" "command: $CLI" "got: $(cli_got $?)"
    fi
  else
    fail "auth-docker: docker login with a personal access token" "got: the binary has no 'token' command"
  fi
  timeout 60 "$S" stop "$DOCKERD_DIR"
}

# ---------------------------------------------------------------------------------------------
check_auth_containerd() {
  auth_up auth auth-containerd || return
  local C="$HARNESS/clients/containerd.sh" H env M first n
  H=$(tg_host auth)
  env=$(timeout 60 "$C" start 2>"$WORK/ctr-auth.err") || { fail "auth-containerd: private containerd starts" "$(tail -c 300 "$WORK/ctr-auth.err")"; return; }
  eval "$env"
  echo "containerd $CTR_DIR" >>"$WORK/daemons"

  M=$(tg_mark auth)
  run_cmd "auth-containerd: ctr pull --user alice:… --plain-http $H/library/busybox:latest" 180 \
    "$C" pull "$CTR_DIR" --plain-http --user "$ALICE" "$H/library/busybox:latest" &&
    expect "auth-containerd: direct pull digest" "$BUSYBOX_DIGEST" "$(ctr_digest "$H/library/busybox:latest")"
  sleep 0.3
  first=$(al auth "$M" | grep -E 'path"?[=:] ?"?/token' | head -1)
  if grep -qE 'method"?[=:] ?"?POST' <<<"$first" && [ "$(status_of <<<"$first")" = 200 ]; then
    pass "auth-containerd: containerd's first token request, POST /token (password grant), → 200"
  else
    fail "auth-containerd: containerd's first token request, POST /token (password grant), → 200" \
      "expected: first /token access line method=POST status=200" "got: $(al auth "$M" | grep -F /token | head -3 | tr '\n' ' ')"
  fi

  "$C" mirror "$CTR_DIR" docker.io "http://$H"
  sed -i 's|^server = .*|server = "http://127.0.0.1:9"|' "$CTR_DIR/certs.d/docker.io/hosts.toml"
  M=$(tg_mark auth)
  run_cmd "auth-containerd: pull --user alice:… docker.io/library/alpine:3.19 via hosts.toml mirror" 180 \
    "$C" pull "$CTR_DIR" --user "$ALICE" docker.io/library/alpine:3.19 &&
    expect "auth-containerd: mirror pull digest" "$ALPINE_DIGEST" "$(ctr_digest docker.io/library/alpine:3.19)"
  sleep 0.3
  n=$(al_ns auth "$M" docker.io | grep -cE 'status"?[=:] ?"?200')
  [ "${n:-0}" -ge 1 ] && pass "auth-containerd: mirror requests (?ns=docker.io) answered 200" ||
    fail "auth-containerd: mirror requests (?ns=docker.io) answered 200" "got: $(al auth "$M" | head -5 | tr '\n' ' ')"
  run_fails "auth-containerd: pull with a wrong password fails" 120 \
    "$C" pull "$CTR_DIR" --plain-http --user alice:wrong-pw "$H/ghcr.io/org/tool:v1"
  run_fails "auth-containerd: pull without --user fails" 120 \
    "$C" pull "$CTR_DIR" --plain-http "$H/ghcr.io/org/tool:v1"
  timeout 30 "$C" stop "$CTR_DIR"
}

# ---------------------------------------------------------------------------------------------
# post_token NAME FORM-FIELD... — POST NAME's /token with the form fields (k=v, url-encoded by curl).
post_token() {
  local name="$1" f a=(); shift
  for f in "$@"; do a+=(--data-urlencode "$f"); done
  req "${a[@]}" "$(tg_url "$name")/token"
}

check_auth_refresh() {
  auth_up auth auth-refresh || return
  local U R A R2
  U=$(tg_url auth)
  req -u rita:rita-pw -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode offline_token=true \
    --data-urlencode client_id=e2e --data-urlencode account=rita "$U/token"
  resp_is "auth-refresh: GET /token?offline_token=true&client_id=e2e with Basic rita → 200" 200
  R=$(jq -r '.refresh_token // empty' "$RB" 2>/dev/null)
  expect_match "auth-refresh: reply has a refresh_token" '^.{16,}$' "$R" "reply: $(body_snip)"
  [ -n "$R" ] || return

  post_token auth grant_type=refresh_token "refresh_token=$R" "service=$AUTH_SERVICE" client_id=e2e \
    scope=repository:library/alpine:pull
  resp_is "auth-refresh: POST /token grant_type=refresh_token → 200" 200
  A=$(jq -r '.access_token // empty' "$RB" 2>/dev/null)
  expect "auth-refresh: … access_token for rita with pull on library/alpine" true \
    "$(jwt decode "$A" 2>/dev/null | jq '.claims | .sub == "rita" and .access == [{"type": "repository", "name": "library/alpine", "actions": ["pull"]}]')" \
    "claims: $(jwt decode "$A" 2>/dev/null | jq -c .claims)" "reply: $(body_snip)"
  bearer_get auth "$A" /v2/library/alpine/manifests/3.19
  resp_is "auth-refresh: the refreshed access_token pulls the manifest" 200 sha="$ALPINE_DIGEST"

  post_token auth grant_type=password username=rita password=rita-pw "service=$AUTH_SERVICE" client_id=e2e \
    scope=repository:library/busybox:pull access_type=offline
  resp_is "auth-refresh: POST /token grant_type=password (as containerd) → 200" 200
  A=$(jq -r '.access_token // empty' "$RB" 2>/dev/null) R2=$(jq -r '.refresh_token // empty' "$RB" 2>/dev/null)
  [ -n "$R2" ]; verdict "auth-refresh: … access_type=offline gives a refresh_token" $? "reply: $(body_snip)"
  bearer_get auth "$A" /v2/library/busybox/manifests/latest
  resp_is "auth-refresh: the password-grant access_token pulls busybox" 200 sha="$BUSYBOX_DIGEST"
  post_token auth grant_type=password username=rita password=rita-pw "service=$AUTH_SERVICE" client_id=e2e \
    "scope=repository:library/alpine:pull repository:library/busybox:pull"
  expect "auth-refresh: POST with two space-separated scopes → both repositories" 'library/alpine:pull library/busybox:pull' \
    "$(jwt decode "$(jq -r '.access_token // empty' "$RB")" 2>/dev/null | jq -r '[.claims.access[] | "\(.name):\(.actions | join(","))"] | sort | join(" ")')" \
    "reply: $(body_snip)"
  post_token auth grant_type=password username=rita password=wrong-pw "service=$AUTH_SERVICE" client_id=e2e \
    scope=repository:library/busybox:pull
  resp_is "auth-refresh: POST grant_type=password with a wrong password → 401" 401
  post_token auth grant_type=refresh_token refresh_token=not-a-refresh-token "service=$AUTH_SERVICE" client_id=e2e
  resp_is "auth-refresh: POST with an unknown refresh_token → 400/401" '400|401'

  cli_need auth-refresh "tollgate user passwd rita" || return
  tgc auth user passwd rita --password-stdin <<<'rita-pw2'
  local rc=$?
  expect "auth-refresh: tollgate user passwd rita --password-stdin" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  within "auth-refresh: the old refresh token is refused within 2 s of the password change" 2 '400|401' \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R" --data-urlencode "service=$AUTH_SERVICE" \
    --data-urlencode client_id=e2e --data-urlencode scope=repository:library/alpine:pull "$U/token"
  post_token auth grant_type=refresh_token "refresh_token=$R2" "service=$AUTH_SERVICE" client_id=e2e
  resp_is "auth-refresh: the other refresh token (password grant) is refused too" '400|401'
  within "auth-refresh: the old password (used before) is refused within 2 s" 2 401 -u rita:rita-pw "$U/v2/"
  within "auth-refresh: the new password (read from stdin, newline stripped) works within 2 s" 2 200 -u rita:rita-pw2 "$U/v2/"
  req -u rita:rita-pw2 -G --data-urlencode "service=$AUTH_SERVICE" --data-urlencode offline_token=true \
    --data-urlencode client_id=e2e "$U/token"
  R=$(jq -r '.refresh_token // empty' "$RB" 2>/dev/null)
  post_token auth grant_type=refresh_token "refresh_token=$R" "service=$AUTH_SERVICE" client_id=e2e
  resp_is "auth-refresh: a refresh token issued after the change works" 200
}

# refresh_for NAME CREDS — a refresh token from GET /token?offline_token=true ('' on failure).
refresh_for() {
  curl -sS --max-time 30 -G -u "$2" --data-urlencode "service=$AUTH_SERVICE" --data-urlencode offline_token=true \
    --data-urlencode client_id=e2e --data-urlencode "account=${2%%:*}" "$(tg_url "$1")/token" 2>/dev/null |
    jq -r '.refresh_token // empty' 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
check_auth_userdel() {
  auth_up auth auth-userdel || return
  cli_need auth-userdel "tollgate user del/disable/enable" || return
  local U Tb Td rc
  U=$(tg_url auth)
  local Rb Pb Rd Pd
  Tb=$(tok auth bob:bob-pw repository:library/alpine:pull) Rb=$(refresh_for auth bob:bob-pw)
  tgc auth token create bob --label del-e2e && Pb=$(head -1 "$WORK/cli.out")
  bearer_get auth "$Tb" /v2/library/alpine/manifests/3.19
  resp_is "auth-userdel: bob's token works before" 200
  req -u bob:bob-pw "$U/v2/"; resp_is "auth-userdel: bob's password works before (and may be cached)" 200
  req -u "bob:$Pb" "$U/v2/"; resp_is "auth-userdel: bob's access token (PAT) works before" 200
  tgc auth user del bob; rc=$?
  expect "auth-userdel: tollgate user del bob" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  within "auth-userdel: bob's token is refused within 2 s of user del" 2 401 \
    "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $Tb" "$U/v2/library/alpine/manifests/3.19"
  within "auth-userdel: bob's password (used just before) is refused within 2 s" 2 401 -u bob:bob-pw "$U/v2/"
  req -u "bob:$Pb" "$U/v2/"
  resp_is "auth-userdel: bob's PAT → 401" 401
  post_token auth grant_type=refresh_token "refresh_token=$Rb" "service=$AUTH_SERVICE" client_id=e2e
  resp_is "auth-userdel: bob's refresh token → 400/401" '400|401'
  expect "auth-userdel: /token for bob → no token" "" "$(tok auth bob:bob-pw repository:library/alpine:pull)"
  tgc auth user list --json; rc=$?
  expect "auth-userdel: user list --json has no bob" false "$(jq 'any(.[]; .name == "bob")' "$WORK/cli.out" 2>&1)" "command: $CLI" "$(cli_got $rc)"
  grep -q '^bob:' "$WORK/tg/auth/htpasswd"
  expect "auth-userdel: bob's line left the htpasswd file" 1 $?

  Td=$(tok auth dan:dan-pw repository:library/alpine:pull) Rd=$(refresh_for auth dan:dan-pw)
  tgc auth token create dan --label disable-e2e && Pd=$(head -1 "$WORK/cli.out")
  bearer_get auth "$Td" /v2/library/alpine/manifests/3.19
  resp_is "auth-userdel: dan's token works before" 200
  req -u dan:dan-pw "$U/v2/"; resp_is "auth-userdel: dan's password works before (and may be cached)" 200
  tgc auth user disable dan; rc=$?
  expect "auth-userdel: tollgate user disable dan" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  within "auth-userdel: dan's token is refused within 2 s of user disable" 2 401 \
    "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $Td" "$U/v2/library/alpine/manifests/3.19"
  within "auth-userdel: disabled dan's password (used just before) is refused within 2 s" 2 401 -u dan:dan-pw "$U/v2/"
  req -u "dan:$Pd" "$U/v2/"
  resp_is "auth-userdel: disabled dan's PAT → 401" 401
  post_token auth grant_type=refresh_token "refresh_token=$Rd" "service=$AUTH_SERVICE" client_id=e2e
  resp_is "auth-userdel: disabled dan's refresh token → 400/401" '400|401'

  expect "auth-userdel: /token for disabled dan → no token" "" "$(tok auth dan:dan-pw repository:library/alpine:pull)"
  tgc auth user list --json; rc=$?
  expect "auth-userdel: user list --json shows dan disabled" true "$(jq '.[] | select(.name == "dan") | .disabled' "$WORK/cli.out" 2>&1)" \
    "command: $CLI" "$(cli_got $rc)"
  tgc auth user enable dan; rc=$?
  expect "auth-userdel: tollgate user enable dan" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  within "auth-userdel: dan's password works again within 2 s of user enable" 2 200 -u dan:dan-pw "$U/v2/"
  bearer_get auth "$(tok auth dan:dan-pw repository:library/alpine:pull)" /v2/library/alpine/manifests/3.19
  resp_is "auth-userdel: a new token for dan works" 200
  bearer_get auth "$Td" /v2/library/alpine/manifests/3.19
  info "dan's token from before the disable, after enable: $RS"
  tgc auth user list --json
  expect "auth-userdel: user list --json shows dan enabled" false "$(jq '.[] | select(.name == "dan") | .disabled' "$WORK/cli.out" 2>&1)"
}

# ---------------------------------------------------------------------------------------------
check_auth_pat() {
  auth_up auth auth-pat || return
  cli_need auth-pat "tollgate token create/list/revoke" || return
  local U H S id rc n d="$WORK/auth-pat"
  U=$(tg_url auth) H=$(tg_host auth)
  tgc auth token create alice --label ci; rc=$?
  S=$(cat "$WORK/cli.out")
  n=$(grep -c . "$WORK/cli.out")
  if [ $rc = 0 ] && [ "$n" = 1 ] && [[ "$S" =~ ^[[:graph:]]{16,}$ ]]; then pass "auth-pat: token create alice --label ci prints one secret line"
  else fail "auth-pat: token create alice --label ci prints one secret line" "command: $CLI" "$(cli_got $rc)"; return; fi

  within "auth-pat: the secret as Basic password → 200 (within 2 s)" 2 200 -u "alice:$S" "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  req -u "bob:$S" "$U/v2/"
  resp_is "auth-pat: alice's secret with another user name → 401" 401
  bearer_get auth "$(tok auth "alice:$S" repository:library/alpine:pull)" /v2/library/alpine/manifests/3.19
  resp_is "auth-pat: /token with the secret → a working token" 200
  run_cmd "auth-pat: skopeo copy --src-creds alice:<secret>" 120 \
    skopeo copy -q --src-tls-verify=false --src-creds "alice:$S" "docker://$H/library/alpine:3.19" "dir:$d" &&
    expect "auth-pat: skopeo copy digest" "$ALPINE_DIGEST" "$(sk_digest "$d")"
  rm -rf "$d"

  tgc auth token list alice --json; rc=$?
  id=$(jq -r '[.[] | select(.label == "ci")][0].id // empty' "$WORK/cli.out" 2>/dev/null)
  local shape
  shape=$(jq -r '[.[] | select(.label == "ci")][0] | [has("id"), has("label"), has("created"), has("expires")] | all' "$WORK/cli.out" 2>&1)
  if [ $rc = 0 ] && [ -n "$id" ] && [ "$shape" = true ]; then pass "auth-pat: token list alice --json has the ci token {id,label,created,expires}"
  else fail "auth-pat: token list alice --json has the ci token {id,label,created,expires}" "command: $CLI" "$(cli_got $rc)"; fi
  grep -qF -- "$S" "$WORK/cli.out"
  expect "auth-pat: token list does not show the secret" 1 $?

  tgc auth token create alice --label short --expires 90d; rc=$?
  tgc auth token list alice --json
  local exp
  exp=$(jq -r '[.[] | select(.label == "short")][0].expires' "$WORK/cli.out" 2>/dev/null)
  local days
  days=$(python3 -c 'import sys, datetime as d
v = sys.argv[1]
t = d.datetime.fromtimestamp(float(v), d.timezone.utc) if v.replace(".", "").isdigit() else d.datetime.fromisoformat(v.replace("Z", "+00:00"))
print(round((t - d.datetime.now(d.timezone.utc)).total_seconds() / 86400))' "$exp" 2>/dev/null)
  expect "auth-pat: --expires 90d → listed expiry 90 days ahead" 90 "$days" "created with exit $rc; listed expires: $exp"

  if [ -n "$id" ]; then
    tgc auth token revoke "$id"; rc=$?
    expect "auth-pat: token revoke <id of the ci token>" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
    within "auth-pat: the revoked secret is refused within 2 s" 2 401 -u "alice:$S" "$U/v2/"
    expect "auth-pat: /token with the revoked secret → no token" "" "$(tok auth "alice:$S" repository:library/alpine:pull)"
    tgc auth token list alice --json
    expect "auth-pat: the revoked token left token list" false "$(jq --arg id "$id" 'any(.[]; .id == $id)' "$WORK/cli.out" 2>&1)"
  fi
  req -u "$ALICE" "$U/v2/"
  resp_is "auth-pat: alice's password still works" 200
}

# ---------------------------------------------------------------------------------------------
# from IP REQ-ARGS... — `req` with source address IP (any 127.0.0.0/8 address is local).
from() { local ip="$1"; shift; req --interface "$ip" "$@"; }

check_auth_lockout() {
  local U i sts ra
  tg_stop authlock
  auth_up authlock auth-lockout 3 1m || return
  U=$(tg_url authlock)
  # empty Basic is anonymous, not a failed login
  sts=""; for i in 1 2 3 4 5; do from 127.0.0.6 -H 'Authorization: Basic Og==' "$U/v2/"; sts+="$RS "; done
  expect "auth-lockout: 5 × empty Basic (Og==) → 401 each, never 429" "401 401 401 401 401 " "$sts"
  from 127.0.0.6 -u rita:rita-pw "$U/v2/"
  resp_is "auth-lockout: … then rita's right password from that IP → 200" 200

  # one user, one IP: failures 1-3 → 401, the 4th → 429
  sts=""; for i in 1 2 3; do from 127.0.0.2 -u alice:wrong-$i "$U/v2/"; sts+="$RS "; done
  expect_match "auth-lockout: alice, 3 wrong passwords → 401 401 401 (the 3rd may already be 429)" '^401 401 (401|429) $' "$sts"
  from 127.0.0.2 -u alice:wrong-4 "$U/v2/"
  resp_is "auth-lockout: alice's 4th wrong password → 429 TOOMANYREQUESTS" 429 code=TOOMANYREQUESTS apiver=registry/2.0
  ra=$(hdr retry-after)
  [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ]
  verdict "auth-lockout: … with Retry-After: 1..60 seconds (window 1m)" $? "got: Retry-After: '${ra}'"
  from 127.0.0.2 -u alice:alice-pw "$U/v2/"
  resp_is "auth-lockout: alice's right password while locked → 429" 429
  [[ "$(hdr retry-after)" =~ ^[0-9]+$ ]]
  verdict "auth-lockout: … with Retry-After" $? "got: '$(hdr retry-after)'"
  from 127.0.0.2 -u alice:alice-pw -G --data-urlencode "service=$AUTH_SERVICE" "$U/token"
  resp_is "auth-lockout: … and on GET /token → 429" 429
  from 127.0.0.3 -u alice:alice-pw "$U/v2/"
  resp_is "auth-lockout: locked user from another IP → 429 (per user)" 429
  from 127.0.0.3 --data-urlencode grant_type=password --data-urlencode username=alice --data-urlencode password=alice-pw \
    --data-urlencode "service=$AUTH_SERVICE" --data-urlencode client_id=e2e "$U/token"
  resp_is "auth-lockout: … also on POST /token (password grant, as containerd)" 429
  from 127.0.0.3 -u bob:bob-pw "$U/v2/"
  resp_is "auth-lockout: another user from another IP → 200" 200
  from 127.0.0.2 -u 'colin:c0l:in pw' "$U/v2/"
  resp_is "auth-lockout: another user (no earlier login) from the locked IP → 429 (per IP)" 429
  from 127.0.0.2 -u bob:bob-pw "$U/v2/"
  resp_is "auth-lockout: another user who logged in just before (credentials may be cached) from the locked IP → 429 (per IP)" 429

  # one IP, three different users with one failure each
  sts=""; for i in dan rita colin; do from 127.0.0.4 -u "$i:wrong" "$U/v2/"; sts+="$RS "; done
  expect_match "auth-lockout: 3 users × 1 wrong password from 127.0.0.4 → 401s" '^401 401 (401|429) $' "$sts"
  from 127.0.0.4 -u lena:lena-pw "$U/v2/"
  resp_is "auth-lockout: then lena's right password (no earlier login) from 127.0.0.4 → 429 (per IP)" 429
  from 127.0.0.4 -u bob:bob-pw "$U/v2/"
  resp_is "auth-lockout: … and bob's (logged in before) → 429 (per IP)" 429
  from 127.0.0.5 -u dan:dan-pw "$U/v2/"
  resp_is "auth-lockout: dan (1 failure) from another IP → 200" 200

  # failures on /token count for the user on /v2 too
  sts=""; for i in 1 2 3; do from 127.0.0.7 -u "lena:wrong-$i" -G --data-urlencode "service=$AUTH_SERVICE" "$U/token"; sts+="$RS "; done
  expect_match "auth-lockout: lena, 3 wrong passwords on GET /token → 401s" '^401 401 (401|429) $' "$sts"
  from 127.0.0.8 -u lena:lena-pw "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "auth-lockout: then lena's right password on a manifest from another IP → 429" 429 code=TOOMANYREQUESTS
  tg_stop authlock

  # the lock lifts when the window has passed (window: 2s)
  auth_up authlock2 auth-lockout 2 2s || return
  U=$(tg_url authlock2)
  for i in 1 2 3; do from 127.0.0.9 -u "alice:wrong-$i" "$U/v2/"; done
  resp_is "auth-lockout: (window 2s) 3rd wrong password → 429" 429
  ra=$(hdr retry-after)
  [[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -le 2 ]
  verdict "auth-lockout: (window 2s) Retry-After ≤ 2" $? "got: Retry-After: '$ra'"
  sleep $(( ${ra:-2} > 0 && ${ra:-2} <= 2 ? ${ra:-2} + 1 : 3 ))
  from 127.0.0.9 -u alice:alice-pw "$U/v2/"
  resp_is "auth-lockout: after Retry-After has passed the right password works again" 200
  tg_stop authlock2
}

# ---------------------------------------------------------------------------------------------
check_auth_htpasswd() {
  auth_up auth auth-htpasswd || return
  local U F M ln out
  U=$(tg_url auth) F="$WORK/tg/auth/htpasswd"
  req -u carol:carol-pw "$U/v2/"
  resp_is "auth-htpasswd: carol unknown at first → 401" 401
  htpasswd -B -b "$F" carol carol-pw 2>/dev/null
  within "auth-htpasswd: carol added by 'htpasswd -B -b' works within 2 s, no restart" 2 200 -u carol:carol-pw "$U/v2/"
  # $2b$ / $2a$ prefixes (same bcrypt), appended by hand
  { htpasswd -nbB carolb carolb-pw | sed '/^$/d; s/\$2y\$/$2b$/'; htpasswd -nbB carola carola-pw | sed '/^$/d; s/\$2y\$/$2a$/'; } >>"$F"
  within "auth-htpasswd: a \$2b\$ line works" 2 200 -u carolb:carolb-pw "$U/v2/"
  within "auth-htpasswd: a \$2a\$ line works" 2 200 -u carola:carola-pw "$U/v2/"
  # editor-style replacement (new inode)
  cp "$F" "$F.new" && htpasswd -B -b "$F.new" carol2 carol2-pw 2>/dev/null && mv "$F.new" "$F"
  within "auth-htpasswd: file replaced by rename (new inode): carol2 works within 2 s" 2 200 -u carol2:carol2-pw "$U/v2/"
  htpasswd -B -b "$F" carol carol-newpw 2>/dev/null
  within "auth-htpasswd: carol's old password (used before) is refused within 2 s of 'htpasswd -B' changing it" 2 401 -u carol:carol-pw "$U/v2/"
  within "auth-htpasswd: … and the new one works" 2 200 -u carol:carol-newpw "$U/v2/"
  htpasswd -D "$F" carol 2>/dev/null
  within "auth-htpasswd: carol removed by 'htpasswd -D' is refused within 2 s" 2 401 -u carol:carol-newpw "$U/v2/"

  M=$(tg_mark auth)
  htpasswd -m -b "$F" mallory mallory-pw 2>/dev/null
  ln=$(grep -n '^mallory:' "$F" | cut -d: -f1)
  grep -q '^mallory:\$apr1\$' "$F"; verdict "auth-htpasswd: (setup) an \$apr1\$ (MD5) line for mallory" $? "file: $(cat "$F")"; info "mallory is line $ln"
  sleep 2
  req -u mallory:mallory-pw "$U/v2/"
  resp_is "auth-htpasswd: the \$apr1\$ user cannot log in" 401
  req -u "$ALICE" "$U/v2/"
  resp_is "auth-htpasswd: the other users still work with a bad line in the file" 200
  out=$(tg_since auth "$M" | grep -F mallory)
  if grep -qE "(^|[^0-9])$ln([^0-9]|$)" <<<"$out"; then pass "auth-htpasswd: server log names mallory and the line number"
  else fail "auth-htpasswd: server log names mallory and the line number" "expected: a log line with 'mallory' and the line number $ln" \
    "got: $(head -c 300 <<<"${out:-<no line with mallory>}") / log since: $(tg_since auth "$M" | grep -v ' access ' | head -3 | tr '\n' ' ')"; fi
  grep -qF 'apr1$' <<<"$out"
  expect "auth-htpasswd: … without logging the hash" 1 $? "got: $out"
  for u in mallory carolb carola carol2; do htpasswd -D "$F" "$u" >/dev/null 2>&1; done
}

# ---------------------------------------------------------------------------------------------
check_auth_distribution() {
  auth_up auth auth-distribution || return
  local UP="$HARNESS/upstream.sh" D="$HARNESS_DIR/distauth" R RHOST T Tb dg
  R=$("$UP" start distauth 2>"$WORK/distauth.err") || { fail "auth-distribution: docker-registry starts" "$(tail -c 300 "$WORK/distauth.err")"; return; }
  RHOST=${R#http://}   # not RH: that is req's header file
  run_cmd "auth-distribution: (setup) copy alpine:3.19 from hub into the open registry" 120 \
    skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --src-creds "$HUB_ADMIN" \
    "docker://$HUB_HOST/library/alpine:3.19" "docker://$RHOST/library/alpine:3.19" || return
  "$UP" stop distauth
  cat >>"$D/config.yml" <<EOF
auth:
  token:
    realm: $(tg_url auth)/token
    service: $AUTH_SERVICE
    issuer: $AUTH_ISSUER
    rootcertbundle: $WORK/tg/auth/tokens/token.crt
EOF
  "$UP" restart distauth >/dev/null 2>"$WORK/distauth.err" ||
    { fail "auth-distribution: docker-registry restarts with token auth (rootcertbundle = token.crt)" "$(tail -c 300 "$WORK/distauth.err"; tail -c 300 "$D/registry.log")"; return; }
  req "${ACCEPT_ALL[@]}" "$R/v2/library/alpine/manifests/3.19"
  resp_is "auth-distribution: registry refuses the manifest without a token → 401" 401
  challenge_is "auth-distribution: its challenge points at Tollgate's realm" realm="$(tg_url auth)/token" service="$AUTH_SERVICE"
  T=$(tok auth "$ALICE" repository:library/alpine:pull)
  req "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $T" "$R/v2/library/alpine/manifests/3.19"
  resp_is "auth-distribution: docker-registry 2.8 accepts Tollgate's token → manifest 200" 200 sha="$ALPINE_DIGEST"
  [ "$RS" = 200 ] || info "registry says: $(grep -E 'level=(warning|error|info) msg="(error|invalid|token)' "$D/registry.log" | tail -2 | cut -c1-300 | tr '\n' ' ')"
  req -H "Authorization: Bearer $T" "$R/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "auth-distribution: … and the blob" 200 sha="$SMALL_BLOB"
  Tb=$(tok auth "$ALICE" repository:library/busybox:pull)
  req "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $Tb" "$R/v2/library/alpine/manifests/3.19"
  resp_is "auth-distribution: a busybox token on alpine → 401 (registry enforces the access claim)" 401
  run_cmd "auth-distribution: skopeo --src-creds alice against the registry (token from Tollgate's realm)" 120 \
    skopeo inspect --raw --tls-verify=false --creds "$ALICE" "docker://$RHOST/library/alpine:3.19"
  dg="sha256:$(sha256sum <"$WORK/cmd.out" | cut -d' ' -f1)"
  expect "auth-distribution: … manifest digest" "$ALPINE_DIGEST" "$dg"
  "$UP" stop distauth
}

# ---------------------------------------------------------------------------------------------
# cli_err NAME ARGS... (stdin from the caller) — the command must exit non-zero, print exactly
# one non-empty line on stderr, nothing on stdout, and leave the htpasswd file as it was.
cli_err() {
  local name="$1" rc before after n; shift
  before=$(sha256sum <"$WORK/tg/auth/htpasswd")
  tgc auth "$@"; rc=$?
  after=$(sha256sum <"$WORK/tg/auth/htpasswd")
  n=$(grep -c . "$WORK/cli.err")
  if [ $rc != 0 ] && [ $rc != 124 ] && [ "$n" = 1 ] && [ ! -s "$WORK/cli.out" ] && [ "$before" = "$after" ]; then
    pass "$name"; info "$(cat "$WORK/cli.err")"
  else
    fail "$name" "command: $CLI" "expected: non-zero exit, one line on stderr, empty stdout, htpasswd unchanged" \
      "got: $(cli_got $rc); stderr lines: $n; htpasswd $([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
  fi
}

check_auth_cli() {
  auth_up auth auth-cli || return
  cli_need auth-cli "tollgate user …" || return
  local U F rc
  U=$(tg_url auth) F="$WORK/tg/auth/htpasswd"

  cli_err "auth-cli: user add 'bad:name' → error" user add 'bad:name' --password-stdin <<<pw
  cli_err "auth-cli: user add 'bad name' (space) → error" user add 'bad name' --password-stdin <<<pw
  cli_err "auth-cli: user add with a control character → error" user add $'bad\tname' --password-stdin <<<pw
  cli_err "auth-cli: user add with an empty password (empty stdin) → error" user add gina --password-stdin </dev/null
  cli_err "auth-cli: user add with an empty password (a bare newline) → error" user add gina --password-stdin <<<''
  cli_err "auth-cli: user del nobody → error" user del nobody </dev/null
  cli_err "auth-cli: user passwd nobody → error" user passwd nobody --password-stdin <<<pw
  cli_err "auth-cli: user disable nobody → error" user disable nobody </dev/null
  cli_err "auth-cli: token create nobody → error" token create nobody --label x </dev/null
  cli_err "auth-cli: token revoke of an unknown id → error" token revoke no-such-token-id </dev/null

  tgc auth user add erin --password-stdin <<<erin-pw; rc=$?
  expect "auth-cli: user add erin --password-stdin" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  expect_match "auth-cli: erin's htpasswd line is bcrypt" '^erin:\$2[aby]\$[0-9]{2}\$.{53}$' "$(grep '^erin:' "$F")"
  within "auth-cli: the running server accepts erin within 2 s" 2 200 -u erin:erin-pw "$U/v2/"
  tgc auth user add frank --password-stdin --cost 12 <<<frank-pw; rc=$?
  expect_match "auth-cli: user add --cost 12 → \$2?\$12\$ hash" '^frank:\$2[aby]\$12\$' "$(grep '^frank:' "$F")" "exit $rc; $(cli_got $rc)"
  tgc auth user list --json; rc=$?
  expect "auth-cli: user list --json: an array with {name: erin, disabled: false} and alice" true \
    "$(jq 'type == "array" and any(.[]; . == {"name": "erin", "disabled": false}) and any(.[]; .name == "alice")' "$WORK/cli.out" 2>&1)" \
    "command: $CLI" "$(cli_got $rc)"
  tgc auth user list; rc=$?
  grep -qw erin "$WORK/cli.out"
  verdict "auth-cli: user list (text) names erin" $? "command: $CLI" "$(cli_got $rc)"
  tgc auth user del frank; tgc auth user del erin; rc=$?
  expect "auth-cli: user del erin" 0 "$rc" "$(cli_got $rc)"
  within "auth-cli: erin refused within 2 s of user del" 2 401 -u erin:erin-pw "$U/v2/"
}

# ---------------------------------------------------------------------------------------------
check_auth_restart() {
  auth_up auth auth-restart || return
  local U K T R P="" crt0 key0
  U=$(tg_url auth) K="$WORK/tg/auth/tokens"
  T=$(tok auth "$ALICE" repository:library/alpine:pull) R=$(refresh_for auth "$ALICE")
  has_cli && tgc auth token create alice --label restart-e2e && P=$(head -1 "$WORK/cli.out")
  crt0=$(sha256sum <"$K/token.crt") key0=$(sha256sum <"$K/token.key")
  tg_stop auth
  tg_start auth 2>"$WORK/auth-restart.err" ||
    { fail "auth-restart: the auth instance starts again" "$(tail -c 400 "$WORK/auth-restart.err")"; return; }
  [ "$crt0" = "$(sha256sum <"$K/token.crt")" ] && [ "$key0" = "$(sha256sum <"$K/token.key")" ]
  verdict "auth-restart: token.key and token.crt are reused, not regenerated" $? "got: $(ls -la --time-style=+%T "$K" | tail -n +2 | tr '\n' ' ')"
  bearer_get auth "$T" /v2/library/alpine/manifests/3.19
  resp_is "auth-restart: a token issued before the restart still works" 200
  post_token auth grant_type=refresh_token "refresh_token=$R" "service=$AUTH_SERVICE" client_id=docker \
    scope=repository:library/alpine:pull
  resp_is "auth-restart: a refresh token (docker's identity token) issued before the restart still works" 200
  if [ -n "$P" ]; then
    req -u "alice:$P" "$U/v2/"
    resp_is "auth-restart: a personal access token still works" 200
  fi
}

# ---------------------------------------------------------------------------------------------
check_auth_config() {
  auth_up auth auth-config || return
  local d="$WORK/auth-config" out rc i=0 c key yaml
  mkdir -p "$d"
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$WORK/tg/auth/config.yaml" 2>&1)
  rc=$?
  expect "auth-config: the auth instance's config passes 'config check'" 0 "$rc" "output: $(head -c 300 <<<"$out")"
  local cases=(
    "auth.bogus|auth: {bogus: 1}"
    "auth.anonymous|auth: {anonymous: maybe}"
    "auth.token.algorithm|auth: {token: {algorithm: HS256}}"
    "auth.token.ttl|auth: {token: {ttl: soon}}"
    "auth.lockout.window|auth: {lockout: {failures: 3, window: soon}}"
    "auth.lockout.failures|auth: {lockout: {failures: many, window: 1m}}"
  )
  for c in "${cases[@]}"; do
    i=$((i + 1)) key=${c%%|*} yaml=${c#*|}
    printf '%s\n' "$yaml" >"$d/bad$i.yaml"
    out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/bad$i.yaml" 2>&1)
    rc=$?
    if [ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "$key" <<<"$out"; then pass "auth-config: rejects '$yaml', names '$key'"
    else fail "auth-config: rejects '$yaml', names '$key'" "command: tollgate config check FILE with: $yaml" \
      "expected: non-zero exit and a problem naming '$key'" "got: exit $rc, output: $(head -c 300 <<<"$out" | tr '\n' ' ')"; fi
  done
  timeout 15 "$TOLLGATE_BIN" serve --config "$d/bad3.yaml" >"$d/serve.out" 2>&1
  rc=$?
  [ $rc != 0 ] && [ $rc != 124 ]
  verdict "auth-config: serve exits non-zero on a bad auth block" $? "command: tollgate serve --config <algorithm: HS256>" \
    "got: exit $rc; $(head -c 300 "$d/serve.out")"
}
