#!/usr/bin/env bash
# checks_security_bounds.sh — nothing unbounded from upstream: blob downloads stop at the size a
# manifest declared or storage.max_blob_size, when nobody waits for them any more, and when
# storage.max_size (counting downloads in flight) can't hold them; a chunked endless manifest is
# refused; ranged reads never get unverified bytes; byte quotas reserve a bound for bodies
# without Content-Length. Uses fake_upstream.py kinds endless, endlessslow, slowlie, chunkgood,
# bigman. Sourced by run.sh.

# sb_fake DIR — start a fake upstream in DIR; prints its port.
sb_fake() {
  local fd="$1" i
  mkdir -p "$fd"; rm -f "$fd/port"
  python3 "$E2E_DIR/fake_upstream.py" --port-file "$fd/port" --log "$fd/requests.log" >"$fd/out.log" 2>&1 &
  echo $! >"$fd/pid"
  for i in $(seq 50); do [ -s "$fd/port" ] && break; sleep 0.1; done
  cat "$fd/port" 2>/dev/null
}

# sb_tmp_kib NAME — KiB in the instance's storage tmp/.
sb_tmp_kib() { du -sk "$WORK/tg/$1/data/tmp" 2>/dev/null | cut -f1; }

# sb_wait_tmp_empty NAME SECONDS — wait until tmp/ has no files; 0 if it did in time.
sb_wait_tmp_empty() {
  local i
  for i in $(seq $(($2 * 10))); do
    [ -z "$(find "$WORK/tg/$1/data/tmp" -type f 2>/dev/null | head -1)" ] && return 0
    sleep 0.1
  done
  return 1
}

check_security_fill_bounds() {
  local fd="$WORK/fake-sb-fill" fport n=sbfill m=sbcap U dg max s i t0 el
  fport=$(sb_fake "$fd") || { fail "security-fill-bounds: fake upstream starts" "$(cat "$fd/out.log")"; return; }
  dg=$(fake_digest endless)

  # 1. storage.max_blob_size bounds a body without Content-Length.
  tg_config $m "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}"
  sed -i "s|^storage: {path: \(.*\)}|storage: {path: \1, max_blob_size: 8MiB}|" "$WORK/tg/$m/config.yaml"
  if tg_start $m; then
    U=$(tg_url $m)
    t0=$(date +%s)
    REQ_TIMEOUT=30 req "$U/v2/bad.test/e2e/endless/blobs/$dg"; el=$(($(date +%s) - t0))
    if { [ "$RC" != 0 ] || [[ ! "$RS" =~ ^2 ]]; } && [ "$el" -lt 20 ] && [ "$(body_len)" -le $((8 * 1024 * 1024)) ]; then
      pass "security-fill-bounds: endless chunked blob stops at max_blob_size 8MiB (status=$RS curl_rc=$RC, ${el}s)"
    else
      fail "security-fill-bounds: endless chunked blob stops at max_blob_size 8MiB" "request: $REQ" \
        "expected: an incomplete or failed transfer within 20 s, at most 8 MiB" "got: $(got), $(body_len) bytes after ${el}s"
    fi
    grep -q "max_blob_size" "$WORK/tg/$m/tollgate.log" && pass "security-fill-bounds: the log says max_blob_size stopped it" ||
      fail "security-fill-bounds: the log says max_blob_size stopped it" "got: $(grep -i 'download' "$WORK/tg/$m/tollgate.log" | tail -2)"
    sb_wait_tmp_empty $m 10 && pass "security-fill-bounds: tmp/ empty after the capped download" ||
      fail "security-fill-bounds: tmp/ empty after the capped download" "got: $(ls -la "$WORK/tg/$m/data/tmp" | tail -n +2 | head -3)"

    # 2. a chunked endless manifest is refused (4 MiB manifest limit), cleanly and quickly.
    t0=$(date +%s)
    REQ_TIMEOUT=30 req -H "Accept: application/vnd.docker.distribution.manifest.v2+json" "$U/v2/bad.test/e2e/bigman/manifests/v1"
    el=$(($(date +%s) - t0))
    if [[ "$RS" =~ ^[45] ]] && [ "$el" -lt 15 ] && jq -e '.errors[0].message | test("larger than")' "$RB" >/dev/null 2>&1; then
      pass "security-fill-bounds: chunked 12.5 MiB manifest → $RS $(errcode) \"larger than …\" (${el}s)"
    else
      fail "security-fill-bounds: chunked 12.5 MiB manifest refused" "request: $REQ" \
        "expected: 4xx/5xx registry error mentioning 'larger than' within 15 s" "got: $(got) after ${el}s"
    fi
    tg_stop $m
  else
    fail "security-fill-bounds: instance with max_blob_size starts" "log: $(tail -c 400 "$WORK/tg/$m/tollgate.log")"
  fi

  # 3. storage.max_size counts downloads in flight; 4. abandoned downloads stop.
  tg_config $n "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}"
  sed -i "s|^storage: {path: \(.*\)}|storage: {path: \1, max_size: 40MiB}|" "$WORK/tg/$n/config.yaml"
  tg_start $n || { fail "security-fill-bounds: instance with max_size starts" "log: $(tail -c 400 "$WORK/tg/$n/tollgate.log")"; stop_pidfile "$fd/pid" fake_upstream.py; return; }
  U=$(tg_url $n)
  ( curl -s --max-time 30 -o /dev/null "$U/v2/bad.test/e2e/endless/blobs/$dg" ) & local cpid=$!
  max=0
  for i in $(seq 100); do
    s=$(sb_tmp_kib $n); [ "${s:-0}" -gt "$max" ] && max=$s
    kill -0 $cpid 2>/dev/null || break
    sleep 0.1
  done
  wait $cpid 2>/dev/null
  for i in $(seq 10); do s=$(sb_tmp_kib $n); [ "${s:-0}" -gt "$max" ] && max=$s; sleep 0.1; done
  if [ "$max" -le $((40 * 1024 + 64)) ]; then  # du counts tmp/ itself too
    pass "security-fill-bounds: endless download stops within max_size 40MiB (tmp/ peak $((max / 1024)) MiB)"
  else
    fail "security-fill-bounds: endless download stops within max_size 40MiB" \
      "request: curl $U/v2/bad.test/e2e/endless/blobs/$dg" "expected: tmp/ ≤ 40 MiB" "got: peak $((max / 1024)) MiB"
  fi
  grep -q "storage.max_size" "$WORK/tg/$n/tollgate.log" && pass "security-fill-bounds: the log says max_size had no room" ||
    fail "security-fill-bounds: the log says max_size had no room" "got: $(grep -i 'download' "$WORK/tg/$n/tollgate.log" | tail -2)"
  sb_wait_tmp_empty $n 10 && pass "security-fill-bounds: tmp/ empty after the refused download" ||
    fail "security-fill-bounds: tmp/ empty after the refused download" "got: $(ls -la "$WORK/tg/$n/data/tmp" | tail -n +2 | head -3)"

  # a slow endless download whose only client leaves after 1 s stops after the grace (5 s)
  curl -s --max-time 1 -o /dev/null "$U/v2/bad.test/e2e/endlessslow/blobs/$dg"
  t0=$(date +%s)
  sleep 1
  if [ -n "$(find "$WORK/tg/$n/data/tmp" -type f 2>/dev/null | head -1)" ] && sb_wait_tmp_empty $n 15; then
    pass "security-fill-bounds: an abandoned download stops (tmp/ empty $(($(date +%s) - t0 + 1)) s after the client left, peak < 40 MiB)"
  else
    fail "security-fill-bounds: an abandoned download stops" \
      "request: curl --max-time 1 $U/v2/bad.test/e2e/endlessslow/blobs/$dg (client leaves)" \
      "expected: a temporary file while it runs, gone within 15 s" "got: tmp: $(ls -la "$WORK/tg/$n/data/tmp" | tail -n +2 | head -3 | tr '\n' ' ')"
  fi
  grep -q "no client is waiting" "$WORK/tg/$n/tollgate.log" && pass "security-fill-bounds: the log says nobody waited" ||
    fail "security-fill-bounds: the log says nobody waited" "got: $(grep -i 'download' "$WORK/tg/$n/tollgate.log" | tail -2)"
  tg_stop $n
  stop_pidfile "$fd/pid" fake_upstream.py
}

check_security_range_unverified() {
  local fd="$WORK/fake-sb-range" fport n=sbrange U dg lie
  fport=$(sb_fake "$fd") || { fail "security-range-unverified: fake upstream starts" "$(cat "$fd/out.log")"; return; }
  tg_config $n "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}"
  tg_start $n || { fail "security-range-unverified: instance starts" "log: $(tail -c 400 "$WORK/tg/$n/tollgate.log")"; stop_pidfile "$fd/pid" fake_upstream.py; return; }
  U=$(tg_url $n) dg=$(fake_digest slowlie)
  REQ_TIMEOUT=30 req -H 'Range: bytes=0-65535' "$U/v2/bad.test/e2e/slowlie/blobs/$dg"
  lie=$(python3 -c 'import hashlib,sys; sys.stdout.buffer.write(hashlib.shake_256(b"tollgate-e2e-slowlie").digest(65536))' | sha256sum | cut -d' ' -f1)
  if { [ "$RC" != 0 ] || [[ ! "$RS" =~ ^2 ]]; } && [ "$(body_sha)" != "sha256:$lie" ]; then
    pass "security-range-unverified: Range during a lying slow fill → no complete 206 (status=$RS $(errcode 2>/dev/null | head -c 40), $(body_len) bytes)"
  else
    fail "security-range-unverified: Range during a lying slow fill never completes" "request: $REQ" \
      "expected: an error or an incomplete transfer, never the 64 KiB of unverified bytes" "got: $(got), $(body_len) bytes"
  fi
  [ "$RS" = 502 ] && [ "$(errcode)" = BAD_GATEWAY ] && pass "security-range-unverified: … answered 502 BAD_GATEWAY" ||
    fail "security-range-unverified: … answered 502 BAD_GATEWAY" "request: $REQ" "got: $(got)"
  # an honest slow fill: the ranged read waits for verification and gets the right bytes
  dg=$(fake_digest slow)
  REQ_TIMEOUT=30 req -H 'Range: bytes=100-199' "$U/v2/bad.test/e2e/slow/blobs/$dg"
  local want; want=$(python3 -c 'import hashlib,sys; sys.stdout.buffer.write(hashlib.shake_256(b"tollgate-e2e-slow").digest(4*1024*1024)[100:200])' | sha256sum | cut -d' ' -f1)
  if [ "$RS" = 206 ] && [ "$RC" = 0 ] && [ "$(body_sha)" = "sha256:$want" ] && [ "$(hdr content-range)" = "bytes 100-199/4194304" ]; then
    pass "security-range-unverified: Range during an honest slow fill → 206, verified bytes"
  else
    fail "security-range-unverified: Range during an honest slow fill → 206, verified bytes" "request: $REQ" \
      "expected: 206, Content-Range bytes 100-199/4194304, bytes 100..199 of the blob" "got: $(got), range=$(hdr content-range)"
  fi
  tg_stop $n
  stop_pidfile "$fd/pid" fake_upstream.py
}

check_security_quota_unknown_length() {
  local fd="$WORK/fake-sb-quota" fport n=sbquota U dg d="$WORK/sbquota" used ok=0 refused=0 i st
  fport=$(sb_fake "$fd") || { fail "security-quota-unknown-length: fake upstream starts" "$(cat "$fd/out.log")"; return; }
  mkdir -p "$d"
  tg_config $n "" "  bad.test: {url: \"http://127.0.0.1:$fport\"}" \
    "$(printf 'auth:\n  htpasswd: "%s/htpasswd"\n  token: {key_dir: "%s/tokens"}' "$WORK/tg/$n" "$WORK/tg/$n")" \
    "plans: {small: {bytes_per_day: 4MiB, concurrent_transfers: 5}}
default_plan: small"
  sed -i "s|^storage: {path: \(.*\)}|storage: {path: \1, max_blob_size: 3MiB}|" "$WORK/tg/$n/config.yaml"
  : >"$WORK/tg/$n/htpasswd"
  "$TOLLGATE_BIN" user add frank --password-stdin --cost 4 --config "$WORK/tg/$n/config.yaml" <<<"frank-pw" >/dev/null 2>&1 ||
    { fail "security-quota-unknown-length: (setup) user add frank" ""; stop_pidfile "$fd/pid" fake_upstream.py; return; }
  tg_start $n || { fail "security-quota-unknown-length: instance starts" "log: $(tail -c 400 "$WORK/tg/$n/tollgate.log")"; stop_pidfile "$fd/pid" fake_upstream.py; return; }
  U=$(tg_url $n) dg=$(fake_digest good)
  local pids=()
  for i in 1 2 3; do
    ( curl -s --max-time 30 -u frank:frank-pw -o "$d/b$i" -w '%{http_code}' "$U/v2/bad.test/r$i/chunkgood/blobs/$dg" >"$d/s$i" ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  for i in 1 2 3; do
    st=$(cat "$d/s$i")
    [ "$st" = 200 ] && [ "sha256:$(sha256sum <"$d/b$i" | cut -d' ' -f1)" = "$dg" ] && ok=$((ok + 1))
    [ "$st" = 429 ] && refused=$((refused + 1))
  done
  used=$(curl -s -u frank:frank-pw "$U/usage" | jq -r '.current.bytes_per_day.used // empty' 2>/dev/null)
  if [ "$ok" = 1 ] && [ "$refused" = 2 ]; then
    pass "security-quota-unknown-length: 3 parallel 3 MiB chunked downloads, 4 MiB/day → 1 served, 2 × 429"
  else
    fail "security-quota-unknown-length: 3 parallel 3 MiB chunked downloads, 4 MiB/day → 1 served, 2 × 429" \
      "request: 3 × curl $U/v2/bad.test/rN/chunkgood/blobs/$dg (no Content-Length upstream; max_blob_size 3MiB)" \
      "expected: one 200 with the blob, two 429" "got: statuses $(cat "$d/s1") $(cat "$d/s2") $(cat "$d/s3"), $ok intact"
  fi
  if [ -n "$used" ] && [ "$used" -le $((4 * 1024 * 1024)) ] && [ "$used" -ge $((3 * 1024 * 1024)) ]; then
    pass "security-quota-unknown-length: bytes_per_day used $used ≤ 4 MiB (settled to the bytes sent)"
  else
    fail "security-quota-unknown-length: bytes_per_day used ≤ 4 MiB" "request: curl $U/usage" \
      "expected: 3 MiB ≤ used ≤ 4 MiB" "got: used=$used"
  fi
  tg_stop $n
  stop_pidfile "$fd/pid" fake_upstream.py
}
