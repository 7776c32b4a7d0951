# checks_upgrade.sh — a newer Tollgate on the storage an older one left behind.
# Fixture: fixtures/storage-v7 (made by fixtures/make-storage.sh with the release of 2026-12-06
# before issue 12; schema v7-accounts): user `fixture` with a password, a personal access token and
# a plan override; library/busybox:latest pulled through (tag, links, manifest, blobs, usage).

check_upgrade_storage() {
  local fx="$E2E_DIR/fixtures/storage-v7" d="$WORK/tg/upgrade" port base
  # shellcheck disable=SC1091
  source "$fx/fixture.env"
  mkdir -p "$d"; cp -r "$fx/data" "$d/data"; cp "$fx/htpasswd" "$d/htpasswd"
  port=$(free_port); echo "$port" >"$d/port"; base="http://127.0.0.1:$port"
  # The upstream is unreachable: everything served comes from the old storage.
  cat >"$d/config.yaml" <<Y
listen: "127.0.0.1:$port"
storage: {path: "$d/data"}
upstreams:
  docker.io: {url: "http://127.0.0.1:9", manifest_ttl: 1s}
auth: {htpasswd: "$d/htpasswd", token: {key_dir: "$d/tokens"}}
Y
  if ! tg_start upgrade; then fail "upgrade-storage: the new binary starts on the old storage" "log: $d/tollgate.log"; return; fi
  pass "upgrade-storage: the new binary starts on the old storage (migrated in place)"
  local ver; ver=$(sqlite3 "$d/data/tollgate.sqlite" "select identifier from grdb_migrations order by rowid desc limit 1")
  expect_match "upgrade-storage: … schema migrated past v7" '^v(8|9|[1-9][0-9])' "$ver"

  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" "$base/v2/"
  expect "upgrade-storage: the old htpasswd user's password → 200" 200 "$RS" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:$FIXTURE_PAT" "$base/v2/"
  expect "upgrade-storage: the old personal access token → 200" 200 "$RS" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:wrong" "$base/v2/"
  expect "upgrade-storage: … a wrong password → 401" 401 "$RS" "$REQ" "$(got)"

  local accept='Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" -H "$accept" "$base/v2/library/busybox/manifests/$FIXTURE_MANIFEST"
  expect "upgrade-storage: manifest by digest from the old cache → 200 hit" "200 hit $FIXTURE_MANIFEST" \
    "$RS $(hdr x-cache) $(body_sha)" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" "$base/v2/library/busybox/blobs/$FIXTURE_LAYER"
  expect "upgrade-storage: layer from the old cache → 200, its digest" "200 $FIXTURE_LAYER" "$RS $(body_sha)" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" -H "$accept" "$base/v2/library/busybox/manifests/latest"
  expect "upgrade-storage: the old tag, upstream down → 200 stale, same manifest" "200 stale $FIXTURE_MANIFEST" \
    "$RS $(hdr x-cache) $(hdr docker-content-digest)" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" "$base/v2/_catalog"
  expect "upgrade-storage: the catalog lists the old repository" "docker.io/library/busybox" \
    "$(jq -r '.repositories | join(",")' "$RB" 2>/dev/null)" "$REQ" "$(got)"

  local out
  out=$("$TOLLGATE_BIN" usage "$FIXTURE_USER" --since "$FIXTURE_DAY" --json --config "$d/config.yaml" 2>&1)
  expect_match "upgrade-storage: tollgate usage keeps the old history (pulls on $FIXTURE_DAY)" '^[1-9]' \
    "$(jq -r '.[0].pulls // empty' <<<"$out" 2>/dev/null)" "output: $out"
  out=$("$TOLLGATE_BIN" token list "$FIXTURE_USER" --json --config "$d/config.yaml" 2>&1)
  expect "upgrade-storage: tollgate token list shows the old token" "fixture" \
    "$(jq -r '[.[] | select(.label == "fixture")] | .[0].label // empty' <<<"$out" 2>/dev/null)" "output: $out"
  req -I -u "$FIXTURE_USER:$FIXTURE_PASSWORD" -H "$accept" "$base/v2/library/busybox/manifests/$FIXTURE_MANIFEST"
  expect "upgrade-storage: the old plan override applies (RateLimit-Limit 123;w=21600)" "123;w=21600" \
    "$(hdr ratelimit-limit)" "$REQ" "$(got)"

  # Keys and sealed secrets survive a restart: the same signing key (kid), a bearer token issued
  # before still accepted, a user's upstream login still opened with the same vault key.
  out=$(printf 'up-secret\n' | "$TOLLGATE_BIN" upstream login "$FIXTURE_USER" docker.io --username up-user \
    --password-stdin --config "$d/config.yaml" 2>&1)
  expect "upgrade-storage: an upstream login stored beside the running server" 0 "$?" "output: $out"
  local kid token mode
  req "$base/token/jwks.json"; kid=$(jq -r '.keys[0].kid // empty' "$RB" 2>/dev/null)
  expect_match "upgrade-storage: the token server publishes its key (kid)" '^[A-Za-z0-9_-]{20,}$' "$kid" "$REQ" "$(got)"
  req -u "$FIXTURE_USER:$FIXTURE_PASSWORD" "$base/token?service=tollgate&scope=repository:library/busybox:pull"
  token=$(jq -r '.token // empty' "$RB" 2>/dev/null)
  mode=$(stat -c %a "$d/tokens/token.key" 2>/dev/null)
  expect "upgrade-storage: the signing key is kept mode 600" 600 "$mode" "ls: $(ls -l "$d/tokens" 2>&1)"
  tg_stop upgrade
  if ! tg_start upgrade; then fail "upgrade-storage: restarts" "log: $d/tollgate.log"; return; fi
  req "$base/token/jwks.json"
  expect "upgrade-storage: after a restart the same signing key (kid)" "$kid" \
    "$(jq -r '.keys[0].kid // empty' "$RB" 2>/dev/null)" "$REQ" "$(got)"
  req -H "Authorization: Bearer $token" "$base/v2/"
  expect "upgrade-storage: a bearer token issued before the restart → 200" 200 "$RS" "$REQ" "$(got)"
  out=$("$TOLLGATE_BIN" upstream list "$FIXTURE_USER" --config "$d/config.yaml" 2>&1)
  expect_match "upgrade-storage: the upstream login is listed after the restart" '^docker\.io	up-user	' "$out" "output: $out"
  expect "upgrade-storage: … and opened by the server (no 'ignoring stored upstream credentials')" 0 \
    "$(grep -c 'ignoring stored upstream credentials' "$d/tollgate.log")" "log: $d/tollgate.log"
  tg_stop upgrade
}
