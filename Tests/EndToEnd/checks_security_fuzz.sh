# checks_security_fuzz.sh — checks for what the fuzz targets of Fuzz/ (TokenForm, ForwardedFor)
# found; sourced by run.sh, one function check_security_NAME per check `security-NAME`. They share
# the instance "secfuzz": auth on (users of checks_auth.sh), lockout {failures: 3, window: 1m},
# `trusted_proxies: ["127.0.0.1"]` (curl's default source address is the trusted proxy).

# secfuzz_up CHECK — start "secfuzz" unless it runs.
secfuzz_up() {
  local d="$WORK/tg/secfuzz" up
  tg_alive secfuzz && return 0
  mkdir -p "$d"
  if [ ! -f "$d/htpasswd" ]; then
    : >"$d/htpasswd"
    for up in "${AUTH_USERS[@]}"; do htpasswd -B -C 10 -b "$d/htpasswd" "${up%%:*}" "${up#*:}" 2>/dev/null; done
  fi
  tg_config secfuzz "" 'trusted_proxies: ["127.0.0.1"]' "$(auth_yaml secfuzz 3 1m)"
  tg_start secfuzz 2>"$d/start.err" && return 0
  fail "$1: tollgate with auth and trusted_proxies starts" "command: $TOLLGATE_BIN serve --config $d/config.yaml" \
    "got: $(tail -c 600 "$d/start.err" | tr '\n' ' ')"
  return 1
}

# POST /token bodies are decoded byte by byte; a bad escape is a 400, not an empty value.
check_security_token_form() {
  secfuzz_up security-token-form || return
  local U; U=$(tg_url secfuzz)
  req --data-binary "grant_type=password&username=al%69ce&password=alice-pw&service=$AUTH_SERVICE&client_id=e2e" "$U/token"
  expect "security-token-form: POST /token with a percent-encoded username → 200 and a token" "200 yes" \
    "$RS $(jq -e '.access_token | length > 0' "$RB" >/dev/null 2>&1 && echo yes)" "request: $REQ" "got: $(got)"
  for body in "grant_type=password&username=alice&password=%zz" "grant_type=password&username=alice&password=%E2%82" \
    "grant_type=password&username=alice&password=%"; do
    req --data-binary "$body&service=$AUTH_SERVICE" "$U/token"
    expect "security-token-form: POST /token '$body' → 400 invalid_request" "400 invalid_request" \
      "$RS $(jq -r '.error // empty' "$RB" 2>/dev/null)" "request: $REQ" "got: $(got)"
  done
}

# Behind a trusted proxy, the address it appends is the client, whatever the client wrote before it.
check_security_forwarded_for() {
  secfuzz_up security-forwarded-for || return
  local U sts u; U=$(tg_url secfuzz)
  # 203.0.113.7 (as the proxy says) fails three logins with three users: that address is locked.
  sts=""; for u in dan rita colin; do req -H 'X-Forwarded-For: 203.0.113.7' -u "$u:wrong" "$U/v2/"; sts+="$RS "; done
  expect_match "security-forwarded-for: 3 wrong logins from X-Forwarded-For 203.0.113.7 → 401s" '^401 401 (401|429) $' "$sts"
  req -H 'X-Forwarded-For: 203.0.113.7' -u lena:lena-pw "$U/v2/"
  expect "security-forwarded-for: lena's right password from 203.0.113.7 → 429 (address locked)" 429 "$RS" "got: $(got)"
  # A client that ends its own header with U+0600 (which a String split joins with the next ',')
  # is still 203.0.113.7, not the proxy.
  req -H $'X-Forwarded-For: \xd8\x80, 203.0.113.7' -u lena:lena-pw "$U/v2/"
  expect "security-forwarded-for: 'X-Forwarded-For: <U+0600>, 203.0.113.7' is still the locked 203.0.113.7 → 429" 429 "$RS" \
    "request: $REQ" "got: $(got)"
  req -H 'X-Forwarded-For: 203.0.113.7x, 198.51.100.9' -u lena:lena-pw "$U/v2/"
  expect "security-forwarded-for: another address (198.51.100.9) → 200" 200 "$RS" "got: $(got)"
  tg_stop secfuzz
}
