# checks_ops.sh — operational checks: crash, tls, tls-reload, tls-clients, evict, cache-cli,
# crash-marker, shutdown, health, lock; sourced by run.sh after checks_tenants.sh (it uses tgc,
# cli_got, chal, chal_param, sk_digest from checks_auth.sh and resp_is, run_cmd, ctr_digest, al_ns,
# status_of from checks.sh). One function check_NAME per check; the ones after crash start below
# its code ("Operations checks beside crash").
#
# crash: "a kill -9 at any moment during pulls loses at most the transfers in flight". Its own
# instance `crash` (anonymous pulls without a token, the default unlimited plans, so usage is
# recorded, under the anonymous user ""). Each round: start the server, a few requests and a 1.3 s
# pause (so usage reaches SQLite), then concurrent cold pulls (skopeo and curl), a random 50–800 ms,
# and kill -9 by the pid file. While the server is down the check judges what the crash left: every
# stored blob hashes to its name, PRAGMA integrity_check is ok, the index is consistent (tags →
# manifest rows + links → files of their size), every client that finished got the right bytes, and
# the usage ledger holds at least what was on disk just before the kill (read with sqlite3 while the
# server ran, after the kill with `tollgate usage --json`). The next start must leave tmp/ empty.
# After the rounds: everything is pulled again through the mirror and compared with the digests the
# content was pushed with, the cache must then hold all of it, and after a clean SIGTERM the usage
# totals never went down and count every request of that last run.
#
# The cold content: every round has its own repository on the open "ghcr" upstream, crash/rN,
# pushed by this check with curl (an OCI image `v1` of a 1 MiB and an 8 MiB uncompressed layer, and
# a separate 32 MiB blob fetched twice at once: one single-flight fill, two readers). Each round also
# pulls the previous round's content (to finish what the kill interrupted) and hub's alpine, busybox,
# multi (--all) and the 64 MiB $BIG_BLOB (cold until a round lets it finish).
# E2E_CRASH_ROUNDS (default 8) sets the number of killed rounds.

# crash_push_blob REPO FILE — monolithic upload to ghcr (open registry); prints the digest.
crash_push_blob() {
  local repo="$1" f="$2" dg loc code
  dg="sha256:$(sha256sum <"$f" | cut -d' ' -f1)"
  loc=$(curl -sS --max-time 30 -X POST -D - -o /dev/null "$GHCR_URL/v2/$repo/blobs/uploads/" 2>/dev/null |
    tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [ -n "$loc" ] || { echo "POST $GHCR_URL/v2/$repo/blobs/uploads/ gave no Location" >&2; return 1; }
  case "$loc" in /*) loc="$GHCR_URL$loc" ;; esac
  case "$loc" in *\?*) loc="$loc&digest=$dg" ;; *) loc="$loc?digest=$dg" ;; esac
  code=$(curl -sS --max-time 120 -X PUT -H 'Content-Type: application/octet-stream' -T "$f" -o /dev/null \
    -w '%{http_code}' "$loc" 2>&1)
  [ "$code" = 201 ] || { echo "PUT $loc → $code" >&2; return 1; }
  echo "$dg"
}

# crash_push_round R — ghcr crash/rR: image v1 (config + 1 MiB + 8 MiB uncompressed tar layers) and a
# 32 MiB blob. Appends "KIND REF DIGEST SIZE" lines to $CR/expect.
crash_push_round() {
  local r="$1" repo="crash/r$1" dir="$CR/src/r$1" l1 l2 cfg data m mdg msz d
  mkdir -p "$dir/l1" "$dir/l2"
  head -c $((1 << 20)) /dev/urandom >"$dir/l1/a.bin" && tar -C "$dir/l1" -cf "$dir/l1.tar" a.bin || return 1
  head -c $((8 << 20)) /dev/urandom >"$dir/l2/b.bin" && tar -C "$dir/l2" -cf "$dir/l2.tar" b.bin || return 1
  head -c $((32 << 20)) /dev/urandom >"$dir/data.bin" || return 1
  l1=$(crash_push_blob "$repo" "$dir/l1.tar") && l2=$(crash_push_blob "$repo" "$dir/l2.tar") || return 1
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' \
    "$l1" "$l2" >"$dir/config.json"
  cfg=$(crash_push_blob "$repo" "$dir/config.json") && data=$(crash_push_blob "$repo" "$dir/data.bin") || return 1
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$cfg" "$(stat -c %s "$dir/config.json")" "$l1" "$(stat -c %s "$dir/l1.tar")" "$l2" "$(stat -c %s "$dir/l2.tar")" >"$dir/manifest.json"
  mdg="sha256:$(sha256sum <"$dir/manifest.json" | cut -d' ' -f1)" msz=$(stat -c %s "$dir/manifest.json")
  m=$(curl -sS --max-time 30 -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$dir/manifest.json" -o /dev/null -w '%{http_code}' "$GHCR_URL/v2/$repo/manifests/v1" 2>&1)
  [ "$m" = 201 ] || { echo "PUT $GHCR_URL/v2/$repo/manifests/v1 → $m" >&2; return 1; }
  {
    echo "image ghcr.io/$repo:v1 $mdg $msz"
    echo "blob ghcr.io/$repo $data $((32 << 20))"
    for d in "$l1" "$l2" "$cfg"; do echo "part ghcr.io/$repo $d"; done
  } >>"$CR/expect"
  rm -rf "$dir"   # only the digests are needed from here on
}

# crash_sql SQL — one query on the crash instance's index (separator '|'); a busy wait of 3 s.
crash_sql() { sqlite3 -cmd '.timeout 3000' "$CS/tollgate.sqlite" "$1" 2>&1; }

# crash_usage — "requests pulls bytes_sent" summed over the whole usage ledger (SQLite).
crash_usage() {
  crash_sql 'SELECT coalesce(sum(requests),0), coalesce(sum(pulls),0), coalesce(sum(bytes_sent),0) FROM usage_daily' | tr '|' ' '
}

# crash_cli_usage — the same totals from `tollgate usage --json` (server stopped or running).
crash_cli_usage() {
  tgc crash usage --json || { echo "error: $(cli_got $?)"; return; }
  jq -r '[([.[].requests] | add // 0), ([.[].pulls] | add // 0), ([.[].bytes_sent] | add // 0)] | map(tostring) | join(" ")' \
    "$WORK/cli.out" 2>/dev/null || echo "error: not JSON: $(head -c 200 "$WORK/cli.out")"
}

# usage_le A B — every component of triple A ≤ the same component of B (both "r p b").
usage_le() {
  local a=($1) b=($2) i
  [ ${#a[@]} = 3 ] && [ ${#b[@]} = 3 ] || return 1
  for i in 0 1 2; do
    [[ "${a[$i]}" =~ ^[0-9]+$ && "${b[$i]}" =~ ^[0-9]+$ ]] || return 1
    [ "${a[$i]}" -le "${b[$i]}" ] || return 1
  done
}

# crash_note LIST TEXT — append one problem line to $CR/LIST (judged once at the end).
crash_note() { printf '%s\n' "$2" >>"$CR/$1"; }

# crash_verify_blobs WHEN — hash every stored blob not yet verified with this size and mtime; a file
# whose bytes don't match its name is noted in $CR/bad.blobs with what else knows about it.
crash_verify_blobs() {
  local when="$1" f rel hex sum n=0 key
  while IFS= read -r f; do
    rel=${f#"$CS/blobs/"}
    key="$rel $(stat -c '%s %Y' "$f")"
    grep -qxF "$key" "$CR/verified" 2>/dev/null && continue
    n=$((n + 1))
    hex=${f##*/}
    if ! [[ "$rel" =~ ^sha256/([0-9a-f]{2})/([0-9a-f]{64})$ ]] || [ "${BASH_REMATCH[1]}" != "${hex:0:2}" ]; then
      crash_note bad.blobs "$when: unexpected file under blobs/: $rel ($(stat -c %s "$f") bytes)"
      continue
    fi
    sum=$(sha256sum <"$f" | cut -d' ' -f1)
    if [ "$sum" = "$hex" ]; then
      echo "$key" >>"$CR/verified"
    else
      crash_note bad.blobs "$when: blobs/$rel: $(stat -c '%s bytes, mtime %y' "$f") hashes to sha256:$sum; index rows: $(crash_sql "SELECT 'manifest ' || size FROM manifests WHERE digest = 'sha256:$hex' UNION ALL SELECT 'link ' || upstream || '/' || repository || ' ' || size FROM links WHERE digest = 'sha256:$hex'" | tr '\n' ';'); log: $(grep -F "$hex" "$WORK/tg/crash/tollgate.log" | grep -v ' access ' | tail -3 | tr '\n' ' ')"
    fi
  done < <(find "$CS/blobs" -type f 2>/dev/null | sort)
  VERIFIED_NOW=$n
}

# crash_verify_index WHEN — PRAGMA integrity_check; tags → manifest rows (+ link) → files of that
# size; manifest rows and links → files of their size.
crash_verify_index() {
  local when="$1" ic line what dg sz path fs
  ic=$(crash_sql 'PRAGMA integrity_check' | tr '\n' ' ')
  [ "$ic" = "ok " ] || crash_note bad.integrity "$when: PRAGMA integrity_check → ${ic:0:400}"
  # a tag: its digest must have a manifest row, a link in the tag's repository and a stored file
  while IFS='|' read -r what dg sz linked; do
    [ -n "$what" ] || continue
    if [ -z "$sz" ]; then crash_note bad.index "$when: tag $what → $dg: no manifests row"; continue; fi
    [ "$linked" = 1 ] || crash_note bad.index "$when: tag $what → $dg: manifest not linked to the tag's repository"
    path="$CS/blobs/sha256/${dg:7:2}/${dg:7}"
    fs=$(stat -c %s "$path" 2>/dev/null) || { crash_note bad.index "$when: tag $what → $dg: manifest file $path missing"; continue; }
    [ "$fs" = "$sz" ] || crash_note bad.index "$when: tag $what → $dg: manifest file has $fs bytes, the row says $sz"
  done < <(crash_sql "SELECT t.upstream || '/' || t.repository || ':' || t.tag || ' (' || t.audience || ')', t.digest, m.size,
      EXISTS (SELECT 1 FROM links l WHERE l.upstream = t.upstream AND l.repository = t.repository AND l.digest = t.digest AND l.audience = t.audience)
    FROM tags t LEFT JOIN manifests m ON m.digest = t.digest")
  while IFS='|' read -r what dg sz; do
    [ -n "$what" ] || continue
    path="$CS/blobs/sha256/${dg:7:2}/${dg:7}"
    fs=$(stat -c %s "$path" 2>/dev/null) || { crash_note bad.index "$when: $what $dg: file $path missing"; continue; }
    [ "$fs" = "$sz" ] || crash_note bad.index "$when: $what $dg: file has $fs bytes, the row says $sz"
  done < <(crash_sql "SELECT 'manifest', digest, size FROM manifests
    UNION ALL SELECT 'link ' || upstream || '/' || repository || ' (' || audience || ')', digest, size FROM links")
}

# crash_pull TAG WHAT... — start one client in the background, output under $CR/c/TAG.{out,rc,log}:
#   skopeo REF [--all]   skopeo copy docker://<mirror>/REF dir:…
#   blob PATH            curl GET <mirror>/v2/PATH
crash_pull() {
  local tag="$1" kind="$2" ref="$3" extra="${4:-}" o="$CR/c/$1"
  rm -rf "$o.out" "$o.rc" "$o.log"
  case "$kind" in
    skopeo)
      ( timeout 60 skopeo copy -q $extra --src-tls-verify=false "docker://$CH/$ref" "dir:$o.out" >"$o.log" 2>&1
        echo $? >"$o.rc" ) & ;;
    blob)
      ( curl -sS --max-time 60 -o "$o.out" -w '%{http_code}' "$CU/v2/$ref" >"$o.log" 2>&1
        echo $? >"$o.rc" ) & ;;
  esac
  CPIDS+=($!)
  echo "$tag $kind $ref" >>"$CR/c/launched.$ROUND"
}

# crash_judge_clients ROUND — a client that finished successfully, even in a killed round, must
# have the right bytes (skopeo checks blob digests itself; the manifest digest is checked here).
crash_judge_clients() {
  local tag kind ref o rc want st ok=0
  while read -r tag kind ref; do
    o="$CR/c/$tag"
    rc=$(cat "$o.rc" 2>/dev/null)
    case "$kind" in
      skopeo)
        [ "$rc" = 0 ] || continue
        want=$(awk -v r="$ref" '$1 == "image" && $2 == r { print $3 }' "$CR/expect")
        [ "sha256:$(sha256sum <"$o.out/manifest.json" | cut -d' ' -f1)" = "$want" ] && ok=$((ok + 1)) ||
          crash_note bad.clients "round $1: skopeo copy $ref exited 0 with manifest sha256:$(sha256sum <"$o.out/manifest.json" | cut -d' ' -f1), expected $want" ;;
      blob)
        st=$(grep -oE '[0-9]{3}$' "$o.log")
        [ "$rc" = 0 ] && [ "$st" = 200 ] || continue
        want=${ref##*/}
        [ "sha256:$(sha256sum <"$o.out" | cut -d' ' -f1)" = "$want" ] && ok=$((ok + 1)) ||
          crash_note bad.clients "round $1: curl GET $ref → 200, curl exit 0, but the $(stat -c %s "$o.out") bytes hash to sha256:$(sha256sum <"$o.out" | cut -d' ' -f1)" ;;
    esac
  done <"$CR/c/launched.$1"
  CLIENTS_OK=$ok
}

check_crash() {
  local CR="$WORK/crash" CS="$WORK/tg/crash/data" CU CH ROUND rounds="${E2E_CRASH_ROUNDS:-8}" r i pid ms rc
  local pre post start_u tmpn tmpinfo killed_during=0 t0 mark final cli hub_imgs f before data
  local CPIDS VERIFIED_NOW CLIENTS_OK usage_seq=()
  t0=$(date +%s)
  mkdir -p "$CR/c" "$CR/src"
  : >"$CR/expect"; : >"$CR/verified"
  for f in bad.blobs bad.index bad.integrity bad.clients bad.tmp bad.kill bad.usage bad.start; do : >"$CR/$f"; done
  command -v sqlite3 >/dev/null || { fail "crash: sqlite3 is installed" "expected: the sqlite3 CLI (apt-get install sqlite3; scripts/test installs it)" "got: missing"; return; }

  # --- content: one cold repository per round on ghcr, plus hub's standard images
  for r in $(seq "$rounds"); do
    crash_push_round "$r" 2>>"$CR/push.err" || { fail "crash: push round $r's content to ghcr" "$(tail -c 400 "$CR/push.err")"; return; }
  done
  {
    echo "image library/alpine:3.19 $ALPINE_DIGEST"
    echo "image library/busybox:latest $BUSYBOX_DIGEST"
    echo "image library/multi:latest $MULTI_DIGEST"
    echo "blob bigdata/blob $BIG_BLOB $BIG_BLOB_SIZE"
  } >>"$CR/expect"
  info "pushed $rounds rounds of content to ghcr crash/r1..r$rounds in $(($(date +%s) - t0)) s"

  # rounds + 1 starts of one binary: use a private copy, so a rebuild of $TOLLGATE_BIN during the check
  # ("Text file busy", or a different binary from one round to the next) cannot interfere
  for i in 1 2 3 4 5 6 7 8 9 10; do
    before=$(stat -c '%s %Y' "$TOLLGATE_BIN" 2>/dev/null)
    cp "$TOLLGATE_BIN" "$CR/tollgate" 2>/dev/null && [ -n "$before" ] && [ "$(stat -c '%s %Y' "$TOLLGATE_BIN")" = "$before" ] && break
    sleep 3
  done
  TOLLGATE_BIN="$CR/tollgate"   # this check runs in a subshell: the others keep theirs
  tg_config crash
  tg_start crash 2>"$CR/start.err" || { fail "crash: fresh instance starts" "$(tail -c 400 "$CR/start.err")"; return; }
  CU=$(tg_url crash) CH=$(tg_host crash)
  hub_imgs=(library/alpine:3.19 library/busybox:latest)

  for r in $(seq "$rounds"); do
    ROUND=$r CPIDS=()
    : >"$CR/c/launched.$r"
    # a few requests, then a pause longer than the ledger's 1 s flush: usage is on disk before the kill
    curl -s -o /dev/null --max-time 10 "$CU/v2/"
    curl -s -o /dev/null --max-time 30 "${ACCEPT_ALL[@]}" "$CU/v2/library/alpine/manifests/3.19"
    sleep 1.3
    # cold: this round's image and 32 MiB blob (twice: a single-flight fill with two readers)
    crash_pull "r$r.img" skopeo "ghcr.io/crash/r$r:v1"
    data=$(awk -v r="ghcr.io/crash/r$r" '$1 == "blob" && $2 == r { print $3 }' "$CR/expect")
    crash_pull "r$r.data1" blob "ghcr.io/crash/r$r/blobs/$data"
    crash_pull "r$r.data2" blob "ghcr.io/crash/r$r/blobs/$data"
    # the previous round's content again (its kill may have interrupted it)
    if [ "$r" -gt 1 ]; then
      crash_pull "r$r.prev.img" skopeo "ghcr.io/crash/r$((r - 1)):v1"
      data=$(awk -v r="ghcr.io/crash/r$((r - 1))" '$1 == "blob" && $2 == r { print $3 }' "$CR/expect")
      crash_pull "r$r.prev.data" blob "ghcr.io/crash/r$((r - 1))/blobs/$data"
    fi
    # hub: the 64 MiB blob, an index with its children, two small images
    crash_pull "r$r.big" blob "bigdata/blob/blobs/$BIG_BLOB"
    crash_pull "r$r.multi" skopeo library/multi:latest --all
    for i in "${!hub_imgs[@]}"; do crash_pull "r$r.hub$i" skopeo "${hub_imgs[$i]}"; done

    ms=$((50 + RANDOM % 751))
    sleep "$(printf '0.%03d' "$ms")"
    pre=$(crash_usage)
    pid=$(cat "$WORK/tg/crash/pid")
    if ! tg_alive crash; then
      crash_note bad.kill "round $r: the server was not running at the kill ($ms ms); log tail: $(tail -c 400 "$WORK/tg/crash/tollgate.log" | tr '\n' ' ')"
    fi
    # (stderr off: bash's "Killed" job notice and a /proc race in pid_matches are noise here)
    {
      kill -9 "$pid"
      for i in $(seq 100); do tg_alive crash || break; sleep 0.05; done
      wait "$pid"; rc=$?
    } 2>/dev/null
    if tg_alive crash || [ "$rc" != 137 ]; then
      crash_note bad.kill "round $r: kill -9 $pid: process still there ($(tg_alive crash && echo yes || echo no)) or exit status $rc (expected 137)"
    fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CU/v2/" 2>/dev/null)" = 000 ] ||
      crash_note bad.kill "round $r: $CU/v2/ still answers after kill -9"
    rm -f "$WORK/tg/crash/pid"
    wait "${CPIDS[@]}" 2>/dev/null
    echo "--- round $r: kill -9 after $ms ms" >>"$WORK/tg/crash/tollgate.log"

    # --- what the crash left (server down)
    tmpn=$(find "$CS/tmp" -type f 2>/dev/null | wc -l)
    tmpinfo=$(find "$CS/tmp" -type f -printf '%s\n' 2>/dev/null | awk '{ printf "%s%.1f MiB", (NR > 1 ? ", " : ""), $1 / 1048576 }')
    [ "$tmpn" -gt 0 ] && killed_during=$((killed_during + 1))
    crash_verify_blobs "after kill $r"
    crash_verify_index "after kill $r"
    crash_judge_clients "$r"
    post=$(crash_cli_usage)
    usage_le "$pre" "$post" || crash_note bad.usage "round $r: usage [requests pulls bytes_sent] on disk just before kill -9: $pre; after it (tollgate usage --json): $post"
    usage_seq+=("$post")
    info "round $r: kill -9 after $ms ms; downloads in flight (tmp/): $tmpn${tmpinfo:+ ($tmpinfo)}; blobs hashed: $VERIFIED_NOW; clients done right: $CLIENTS_OK/$(wc -l <"$CR/c/launched.$r"); usage before/after: $pre / $post"

    # --- start again: tmp/ cleared, usage kept
    if ! tg_start crash 2>"$CR/start.err"; then
      crash_note bad.start "round $r: serve did not start after kill -9: $(tail -c 600 "$CR/start.err" | tr '\n' ' ')"
      break
    fi
    tmpn=$(find "$CS/tmp" -type f 2>/dev/null | wc -l)
    [ "$tmpn" = 0 ] || crash_note bad.tmp "after restart $r: tmp/ has $tmpn files: $(ls -l "$CS/tmp" | tail -n +2 | head -3 | tr '\n' ';')"
    start_u=$(crash_usage)
    usage_le "$post" "$start_u" || crash_note bad.usage "round $r: usage after kill $post, after the restart $start_u (went down)"
  done

  local per_kill="over $rounds kills"
  [ -s "$CR/bad.start" ] && { fail "crash: serve starts again after every kill -9" "$(cat "$CR/bad.start")"; return; }
  pass "crash: serve starts again after every kill -9 ($rounds rounds)"
  [ -s "$CR/bad.kill" ] && fail "crash: kill -9 (by pid file) ends the server each round" "$(head -5 "$CR/bad.kill")" ||
    pass "crash: kill -9 (by pid file) ends the server each round (exit 137, port closed)"
  info "kills during a download (files in tmp/): $killed_during of $rounds"
  [ "$killed_during" -gt 0 ]
  verdict "crash: at least one kill hit a download in flight" $? \
    "expected: some round's kill -9 left a partial download in tmp/ (otherwise this check proved little)" \
    "got: $killed_during of $rounds (kill delays 50–800 ms; raise E2E_CRASH_ROUNDS?)"
  [ -s "$CR/bad.tmp" ] && fail "crash: tmp/ is empty after each restart" "$(head -5 "$CR/bad.tmp")" ||
    pass "crash: tmp/ is empty after each restart ($per_kill)"

  # --- re-pull everything through the restarted server
  mark=$(tg_mark crash)
  ROUND=final CPIDS=()
  : >"$CR/c/launched.final"
  local bad_pull=() ref dg sz kind o st got_sha
  while read -r kind ref dg sz; do
    case "$kind" in
      image) o="$CR/c/final.${ref//[\/:]/_}"
             rm -rf "$o.out"
             if timeout 90 skopeo copy -q --all --src-tls-verify=false "docker://$CH/$ref" "dir:$o.out" >"$o.log" 2>&1 &&
                [ "sha256:$(sha256sum <"$o.out/manifest.json" | cut -d' ' -f1)" = "$dg" ]; then rm -rf "$o.out"
             else bad_pull+=("skopeo copy --all docker://$CH/$ref: expected exit 0 and manifest $dg; got $(tail -c 300 "$o.log" | tr '\n' ' ') manifest sha256:$(sha256sum <"$o.out/manifest.json" 2>/dev/null | cut -d' ' -f1)"); fi ;;
      blob) o="$CR/c/final.blob"
            st=$(curl -sS --max-time 90 -o "$o" -w '%{http_code}' "$CU/v2/$ref/blobs/$dg" 2>"$o.err")
            got_sha="sha256:$(sha256sum <"$o" | cut -d' ' -f1)"
            [ "$st" = 200 ] && [ "$got_sha" = "$dg" ] ||
              bad_pull+=("curl $CU/v2/$ref/blobs/$dg: expected 200 + those bytes; got $st, $(stat -c %s "$o") bytes hashing to $got_sha $(head -c 200 "$o.err")")
            rm -f "$o" ;;
    esac
  done <"$CR/expect"
  [ ${#bad_pull[@]} = 0 ] && pass "crash: after the kills every image ($(grep -c '^image' "$CR/expect")) and blob ($(grep -c '^blob' "$CR/expect")) is pulled again with the pushed digests" ||
    fail "crash: after the kills every image and blob is pulled again with the pushed digests" "${bad_pull[@]:0:5}"
  # and each tag resolves, cold or cached, to the pushed manifest (curl, full Accept)
  local bad_tag=()
  while read -r kind ref dg sz; do
    [ "$kind" = image ] || continue
    req "${ACCEPT_ALL[@]}" "$CU/v2/${ref%:*}/manifests/${ref##*:}"
    [ "$RS" = 200 ] && [ "$(body_sha)" = "$dg" ] && [ "$(hdr docker-content-digest)" = "$dg" ] || bad_tag+=("$REQ → $(got); expected $dg")
  done <"$CR/expect"
  [ ${#bad_tag[@]} = 0 ] && pass "crash: every tag resolves to its pushed manifest" ||
    fail "crash: every tag resolves to its pushed manifest" "${bad_tag[@]:0:5}"

  # --- the whole cache, once more (now complete)
  local missing=()
  while read -r kind ref dg sz; do
    [ -e "$CS/blobs/sha256/${dg:7:2}/${dg:7}" ] || missing+=("$kind $ref $dg")
  done <"$CR/expect"
  [ ${#missing[@]} = 0 ] && pass "crash: after the re-pull the cache holds every pushed manifest, layer, config and blob" ||
    fail "crash: after the re-pull the cache holds every pushed manifest, layer, config and blob" "missing files: ${missing[*]:0:5}"

  # --- clean stop, then the final judgement of disk and usage
  start_u=${usage_seq[-1]:-0 0 0}
  tg_stop crash
  crash_verify_blobs "after the final stop"
  crash_verify_index "after the final stop"
  final=$(crash_usage)
  cli=$(crash_cli_usage)
  usage_seq+=("$cli")

  [ -s "$CR/bad.blobs" ] && fail "crash: every stored blob hashes to its name (after each kill and at the end)" "$(head -5 "$CR/bad.blobs")" ||
    pass "crash: every stored blob hashes to its name (after each kill and at the end; $(wc -l <"$CR/verified") files)"
  [ -s "$CR/bad.integrity" ] && fail "crash: PRAGMA integrity_check is ok after each kill" "$(head -3 "$CR/bad.integrity")" ||
    pass "crash: PRAGMA integrity_check is ok after each kill and at the end"
  [ -s "$CR/bad.index" ] && fail "crash: the index is consistent: tag → manifest row + link + file, manifest rows and links → files of their size" "$(head -8 "$CR/bad.index")" ||
    pass "crash: the index is consistent: tag → manifest row + link + file, manifest rows and links → files of their size ($(crash_sql 'SELECT count(*) FROM tags') tags, $(crash_sql 'SELECT count(*) FROM links') links)"
  [ -s "$CR/bad.clients" ] && fail "crash: no client finished with wrong bytes in a killed round" "$(head -5 "$CR/bad.clients")" ||
    pass "crash: no client finished with wrong bytes in a killed round"

  local logbad
  logbad=$(grep -v ' access ' "$WORK/tg/crash/tollgate.log" |
    grep -E ' (error|critical) |damaged blob|stored manifest is damaged|damaged=[1-9]' | head -5)
  [ -z "$logbad" ] && pass "crash: the server log has no errors and reports no damaged blob or manifest after the kills" ||
    fail "crash: the server log has no errors and reports no damaged blob or manifest after the kills" \
      "log: $WORK/tg/crash/tollgate.log" "$logbad"

  # usage: never lower than what was on disk before a kill, never down across restarts, > 0 at the end
  [ -s "$CR/bad.usage" ] && fail "crash: usage on disk before each kill -9 is all there after it and after the restart" "$(head -5 "$CR/bad.usage")" ||
    pass "crash: usage on disk before each kill -9 is all there after it and after the restart"
  local seq_ok=0 prev="0 0 0" u
  for u in "${usage_seq[@]}"; do usage_le "$prev" "$u" || seq_ok=1; prev=$u; done
  [[ "$cli" =~ ^[1-9][0-9]*\  ]] || seq_ok=1
  verdict "crash: tollgate usage --json [requests pulls bytes_sent] never decreases across the restarts and ends > 0" $seq_ok \
    "sequence after each kill and after the final SIGTERM: $(printf '[%s] ' "${usage_seq[@]}")"
  expect "crash: tollgate usage --json totals = the SQLite ledger's" "$final" "$cli" \
    "command: tollgate usage --json --config $WORK/tg/crash/config.yaml vs. sums over usage_daily"
  # the final (clean) life: every request it logged is in the ledger after SIGTERM
  local logged counted
  logged=$(alc crash "$mark")
  counted=$(( ${cli%% *} - ${start_u%% *} ))
  info "final life: $logged access lines; usage requests +$counted (from ${start_u%% *} after the last kill)"
  [ "$counted" -ge "$logged" ] 2>/dev/null
  verdict "crash: after the clean SIGTERM the ledger has every request of the final run" $? \
    "expected: usage requests grew by ≥ $logged (the access lines since the last start)" "got: +$counted"
  info "crash check: $(($(date +%s) - t0)) s"
}

# =============================================================================================
# Operations checks beside `crash`: built-in TLS (tls, tls-reload, tls-clients), the cache's size
# limit and maintenance commands (evict, cache-cli), the clean-shutdown marker (crash-marker),
# graceful shutdown (shutdown), /healthz + /readyz (health) and the storage lock (lock).
#
# Every instance here is the check's own (or shared by the TLS checks: `tls`, started on first use,
# so each check can run alone), runs a private copy of the binary (ops_bin: a rebuild of
# $TOLLGATE_BIN during the run can't interfere with restarts), and is stopped by its pid file.
# The test PKI (ops_pki) is made once per run with openssl: a CA and two server certificates
# (EC P-256, SAN IP:127.0.0.1 + DNS:localhost) with the subjects CN=tollgate-a and CN=tollgate-b.

# ops_bin — set OPS (scratch folder), OPS_PKI, OPS_CA, and use a private copy of $TOLLGATE_BIN (made
# once per run; retried while it is being rebuilt). Every ops check calls it first.
ops_bin() {
  local i before
  OPS="$WORK/ops" OPS_PKI="$WORK/ops/pki" OPS_CA="$WORK/ops/pki/ca.crt"
  mkdir -p "$OPS"
  if [ ! -x "$OPS/tollgate" ]; then
    for i in 1 2 3 4 5 6 7 8 9 10; do
      before=$(stat -c '%s %Y' "$TOLLGATE_BIN" 2>/dev/null)
      if cp "$TOLLGATE_BIN" "$OPS/tollgate.$$" 2>/dev/null && [ -n "$before" ] &&
         [ "$(stat -c '%s %Y' "$TOLLGATE_BIN" 2>/dev/null)" = "$before" ]; then
        mv "$OPS/tollgate.$$" "$OPS/tollgate"
        break
      fi
      rm -f "$OPS/tollgate.$$"
      sleep 3
    done
  fi
  [ -x "$OPS/tollgate" ] && TOLLGATE_BIN="$OPS/tollgate"   # checks run in subshells: only this one's
}

# ops_pki — $OPS_PKI/{ca,a,b}.{crt,key} and certdir/ca.crt (skopeo/podman --cert-dir); once per run.
ops_pki() {
  local n
  [ -s "$OPS_PKI/b.crt" ] && return 0
  mkdir -p "$OPS_PKI/certdir"
  (
    cd "$OPS_PKI" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 \
      -subj '/CN=tollgate-e2e-ca' -addext 'basicConstraints=critical,CA:TRUE' \
      -addext 'keyUsage=critical,keyCertSign,cRLSign' || exit 1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
    for n in a b; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" -out "$n.csr" -subj "/CN=tollgate-$n" &&
        openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out "$n.crt" || exit 1
    done
    cp ca.crt certdir/ca.crt
  ) >"$OPS/pki.log" 2>&1
}

# ops_config NAME [STORAGE_EXTRA] [TOP_YAML] [AUTH_YAML] — tg_config (standard upstreams, default
# auth unless AUTH_YAML) plus ", STORAGE_EXTRA" inside `storage: {…}` and TOP_YAML at the end.
ops_config() {
  local name="$1" st="${2:-}" top="${3:-}" auth="${4:-}" f="$WORK/tg/$1/config.yaml"
  tg_config "$name" "" "" "$auth"
  [ -n "$st" ] && sed -i "s|^storage: {path: \"\\([^\"]*\\)\"}|storage: {path: \"\\1\", $st}|" "$f"
  [ -n "$top" ] && printf '%s\n' "$top" >>"$f"
  return 0
}

# ops_tls_config NAME HTTP2 [AUTH_YAML] — ops_config + tls: {certificate, key} = $WORK/tg/NAME/tls.{crt,key}
# (copies of a.crt/a.key) and no public_url (its default is the thing under test).
ops_tls_config() {
  local d="$WORK/tg/$1"
  ops_config "$1" "" "tls: {certificate: \"$d/tls.crt\", key: \"$d/tls.key\", http2: $2}" "${3:-}"
  sed -i '/^public_url:/d' "$d/config.yaml"
  cp "$OPS_PKI/a.crt" "$d/tls.crt" && cp "$OPS_PKI/a.key" "$d/tls.key"
}

ops_is_tls() { grep -q '^tls:' "$WORK/tg/$1/config.yaml" 2>/dev/null; }
ops_url() { if ops_is_tls "$1"; then echo "https://127.0.0.1:$(cat "$WORK/tg/$1/port")"; else tg_url "$1"; fi; }
ops_port() { cat "$WORK/tg/$1/port"; }

# ops_start NAME — start `serve` in the background (a child of this check's shell, so ops_term can
# read its exit status) and wait (≤ 30 s) for /healthz → 200, over TLS with the test CA if configured.
ops_start() {
  local d="$WORK/tg/$1" url i code tls=()
  "$TOLLGATE_BIN" serve --config "$d/config.yaml" >>"$d/tollgate.log" 2>&1 &
  echo $! >"$d/pid"
  url="$(ops_url "$1")/healthz"
  ops_is_tls "$1" && tls=(--cacert "$OPS_CA")
  for i in $(seq 300); do
    code=$(curl -s -o /dev/null "${tls[@]}" -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)
    [ "$code" = 200 ] && return 0
    tg_alive "$1" || break
    sleep 0.1
  done
  echo "tollgate $1 did not answer $url within 30 s (or exited); log tail:" >&2
  tail -20 "$d/tollgate.log" >&2
  return 1
}

# ops_wait_exit NAME PID SECONDS — wait for PID (a child) to end; sets OPS_RC (exit status, "running"
# if it did not end) and OPS_SECS (seconds waited, 0.1 resolution, counted from OPS_T0 if set).
ops_wait_exit() {
  local i t0="${OPS_T0:-$(date +%s.%N)}"
  OPS_RC=running
  for i in $(seq $(($3 * 10))); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
  if ! kill -0 "$2" 2>/dev/null; then wait "$2" 2>/dev/null; OPS_RC=$?; rm -f "$WORK/tg/$1/pid"; fi
  OPS_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# ops_term NAME [SECONDS] — SIGTERM by the pid file, then ops_wait_exit (default 15 s).
ops_term() {
  local pid; pid=$(cat "$WORK/tg/$1/pid" 2>/dev/null)
  OPS_T0=$(date +%s.%N)
  [ -n "$pid" ] && tg_alive "$1" && kill -TERM "$pid"
  ops_wait_exit "$1" "$pid" "${2:-15}"
  OPS_T0=
}

# ops_kill9 NAME — kill -9 by the pid file; waits until it is gone.
ops_kill9() {
  local pid; pid=$(cat "$WORK/tg/$1/pid" 2>/dev/null)
  { [ -n "$pid" ] && tg_alive "$1" && kill -9 "$pid"; ops_wait_exit "$1" "$pid" 10; } 2>/dev/null
}

# ops_file NAME DIGEST — where the instance stores a blob.
ops_file() { echo "$WORK/tg/$1/data/blobs/sha256/${2:7:2}/${2:7}"; }

# ops_flip FILE OFFSET — invert one byte in place (a stored blob made to lie about its digest).
ops_flip() {
  python3 -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2]); f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 0xFF]))' "$1" "$2"
}

# ops_log_wait NAME MARK REGEX SECONDS — until a log line since MARK matches (grep -E); 0 if found.
ops_log_wait() {
  local i
  for i in $(seq $(($4 * 10))); do
    tg_since "$1" "$2" | grep -qE -- "$3" && return 0
    sleep 0.1
  done
  return 1
}

# ops_stats NAME — `tollgate cache stats --json` into $WORK/cli.out; 0 if it printed JSON.
ops_stats() { tgc "$1" cache stats --json && jq -e . "$WORK/cli.out" >/dev/null 2>&1; }
# ops_disk NAME — "FILES BYTES" under blobs/
ops_disk() { find "$WORK/tg/$1/data/blobs" -type f -printf '%s\n' 2>/dev/null | awk '{ n++; s += $1 } END { printf "%d %d", n, s }'; }

# ops_get NAME PATH [curl args] — GET (with the CA for a TLS instance) into $RB via req.
ops_get() {
  local name="$1" path="$2" tls=(); shift 2
  ops_is_tls "$name" && tls=(--cacert "$OPS_CA")
  req "${tls[@]}" "$@" "$(ops_url "$name")$path"
}

# run_fails_with NAME SECONDS REGEX CMD... — the command must fail and its output match REGEX (grep -E).
run_fails_with() {
  local name="$1" t="$2" re="$3" rc
  shift 3
  timeout "$t" "$@" >"$WORK/cmd.out" 2>&1
  rc=$?
  if [ $rc != 0 ] && [ $rc != 124 ] && grep -qE -- "$re" "$WORK/cmd.out"; then pass "$name"; return 0; fi
  fail "$name" "command: $(printf '%q ' "$@")" "expected: non-zero exit, output matching /$re/" \
    "got: exit $rc$([ $rc = 124 ] && echo " (timed out after ${t}s)"); output tail: $(tail -c 400 "$WORK/cmd.out" | tr '\n' ' ')"
  return 1
}

# ---------------------------------------------------------------------------------------------
# TLS: instance `tls` (auth.anonymous: false, user alice / alice-pw, http2: true, no public_url),
# shared by tls, tls-reload and tls-clients.

ops_tls_up() {
  ops_bin
  ops_pki || { fail "$1: (setup) test CA and certificates made with openssl" "log: $(tail -c 400 "$OPS/pki.log")"; return 1; }
  tg_alive tls && return 0
  local d="$WORK/tg/tls"
  ops_tls_config tls true "auth:
  anonymous: false
  htpasswd: \"$d/htpasswd\"
  token: {key_dir: \"$d/tokens\"}"
  printf 'alice-pw\n' | timeout 30 "$TOLLGATE_BIN" user add alice --password-stdin --cost 4 --config "$d/config.yaml" >/dev/null 2>&1
  ops_start tls 2>"$OPS/tls.start.err" ||
    { fail "$1: (setup) TLS instance starts and answers https://…/healthz with the test CA" "$(tail -c 600 "$OPS/tls.start.err")"; return 1; }
}

# ops_subject PORT — the subject of the certificate a new TLS connection gets (verified with the CA).
ops_subject() {
  timeout 5 openssl s_client -connect "127.0.0.1:$1" -servername localhost -CAfile "$OPS_CA" </dev/null 2>/dev/null |
    sed -n 's/^subject= *//p' | head -1
}

check_tls() {
  ops_tls_up tls || return
  local d="$WORK/tg/tls" U P H out rc rc2 v tok i c name key label yaml
  U=$(ops_url tls) P=$(ops_port tls) H="127.0.0.1:$(ops_port tls)"

  # --- configuration: the tls block is checked like every other key; serve refuses bad files
  out=$(timeout 20 "$TOLLGATE_BIN" config check "$d/config.yaml" 2>&1)
  expect "tls: config check accepts tls: {certificate, key, http2: true}" 0 $? "output: $out"
  local cases=(
    "a tls block without key|tls.key|tls: {certificate: \"$OPS_PKI/a.crt\"}"
    "http2: maybe|tls.http2|tls: {certificate: \"$OPS_PKI/a.crt\", key: \"$OPS_PKI/a.key\", http2: maybe}"
    "an unknown key in tls|tls.bogus|tls: {certificate: \"$OPS_PKI/a.crt\", key: \"$OPS_PKI/a.key\", bogus: 1}"
  )
  i=0
  for c in "${cases[@]}"; do
    i=$((i + 1)); name=${c%%|*}; c=${c#*|}; key=${c%%|*}; yaml=${c#*|}
    printf '%s\n' "$yaml" >"$OPS/tlsbad$i.yaml"
    out=$(timeout 20 "$TOLLGATE_BIN" config check "$OPS/tlsbad$i.yaml" 2>&1); rc=$?
    [ $rc != 0 ] && [ $rc != 124 ] && grep -qF -- "$key" <<<"$out"
    verdict "tls: config check rejects $name, naming '$key'" $? "command: tollgate config check FILE with: $yaml" \
      "expected: non-zero exit naming '$key'" "got: exit $rc, output: $(head -c 300 <<<"$out" | tr '\n' ' ')"
  done
  # serve with files it cannot use: exit 1 at once, one line naming the key (like password_file).
  # SWIFT_BACKTRACE=enable=no: a crash is reported by its exit status without a 5 s backtrace.
  local bad=(
    "a missing certificate file|tls\.certificate|certificate: \"$OPS/nonexistent.crt\", key: \"$OPS_PKI/a.key\""
    "a certificate with another certificate's key|tls\.[a-z]+|certificate: \"$OPS_PKI/a.crt\", key: \"$OPS_PKI/b.key\""
  )
  i=0
  for c in "${bad[@]}"; do
    i=$((i + 1)); name=${c%%|*}; c=${c#*|}; key=${c%%|*}; yaml=${c#*|}
    printf 'listen: "127.0.0.1:%s"\nstorage: {path: "%s"}\nupstreams: {docker.io: {url: "%s"}}\nauth: {htpasswd: "%s", token: {key_dir: "%s"}}\ntls: {%s}\n' \
      "$(free_port)" "$OPS/tlsbad-data$i" "$HUB_URL" "$OPS/tlsbad-htpasswd" "$OPS/tlsbad-tokens" "$yaml" >"$OPS/tlsserve$i.yaml"
    { SWIFT_BACKTRACE=enable=no timeout 20 "$TOLLGATE_BIN" serve --config "$OPS/tlsserve$i.yaml" >"$OPS/tlsserve$i.out" 2>&1; } 2>/dev/null
    rc=$?
    out=$(grep -v -E '^[0-9T:+-]+ (trace|debug|info|notice|warning) ' "$OPS/tlsserve$i.out")
    [ $rc = 1 ] && [ "$(grep -c . <<<"$out")" = 1 ] && grep -qE -- "$key" <<<"$out"
    rc2=$?
    label=${key//\\/}; [ "$label" = 'tls.[a-z]+' ] && label='tls.key or tls.certificate'
    verdict "tls: serve with $name exits 1 at once with one line naming $label" $rc2 \
      "command: tollgate serve --config FILE with tls: {$yaml}" \
      "expected: exit 1 and one error line (besides log lines) naming $label" \
      "got: exit $rc$([ $rc = 124 ] && echo ' (still running after 20 s)')$([ $rc -gt 128 ] && [ $rc != 124 ] && echo " (killed by signal $((rc - 128)))"); non-log output ($(grep -c . <<<"$out") lines): $(head -c 400 <<<"$out" | tr '\n' '|')"
  done

  # --- protocol
  v=$(curl -sS --max-time 10 --cacert "$OPS_CA" -o /dev/null -w '%{http_code} %{http_version} %{ssl_verify_result}' "$U/v2/" 2>&1)
  expect "tls: GET https://$H/v2/ with the test CA → 401 over HTTP/2, certificate verified" "401 2 0" "$v" "request: curl --cacert ca.crt $U/v2/"
  v=$(curl -sS --max-time 10 --cacert "$OPS_CA" --http1.1 -o /dev/null -w '%{http_code} %{http_version}' "$U/v2/" 2>&1)
  expect "tls: the same with --http1.1 → 401 over HTTP/1.1" "401 1.1" "$v"
  for v in 1.2 1.3; do
    out=$(curl -sS --max-time 10 --cacert "$OPS_CA" --tlsv$v --tls-max $v -o /dev/null -w '%{http_code}' "$U/v2/" 2>&1)
    expect "tls: TLS $v only (curl --tlsv$v --tls-max $v) → 401" 401 "$out"
  done
  out=$(timeout 10 openssl s_client -connect "$H" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null 2>&1); rc=$?
  [ $rc != 0 ] && grep -q 'alert protocol version' <<<"$out"
  verdict "tls: a TLS 1.1 ClientHello is refused by the server (alert protocol version)" $? \
    "command: openssl s_client -connect $H -tls1_1 -cipher DEFAULT@SECLEVEL=0" "expected: handshake failure, the server's 'alert protocol version'" \
    "got: exit $rc; $(grep -E 'alert|Protocol|Cipher is|error' <<<"$out" | head -3 | tr '\n' ' ')"
  out=$(timeout 10 openssl s_client -connect "$H" -servername localhost -CAfile "$OPS_CA" -alpn h2,http/1.1 </dev/null 2>&1)
  expect "tls: ALPN h2,http/1.1 → h2; verify ok; subject CN=tollgate-a" "ALPN protocol: h2|Verify return code: 0 (ok)|subject=CN = tollgate-a" \
    "$(grep -E '^ALPN protocol|^ *Verify return code|^subject=' <<<"$out" | sed 's/^ *//' | sort -u | paste -sd'|')" \
    "command: openssl s_client -connect $H -CAfile ca.crt -alpn h2,http/1.1"
  v=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://$H/v2/" 2>/dev/null); rc=$?
  [ "$v" = 000 ] || [ -z "$v" ]
  verdict "tls: plain HTTP to the TLS port gets no HTTP response" $? "request: curl http://$H/v2/" "expected: no response (000)" "got: $v (curl exit $rc)"
  curl -sS --max-time 10 -o /dev/null "$U/v2/" 2>"$OPS/noca.err"; rc=$?
  expect "tls: curl without the test CA fails certificate verification (exit 60)" 60 "$rc" "stderr: $(head -c 200 "$OPS/noca.err")"

  # --- public_url defaults to https://<listen>: the token realm
  ops_get tls /v2/library/alpine/manifests/3.19 "${ACCEPT_ALL[@]}"
  expect "tls: challenge realm is https://$H/token (public_url's default with tls)" "https://$H/token" \
    "$(chal_param "$(chal)" realm)" "request: $REQ" "response: $(got)" "challenge: $(chal)"

  # --- authenticated pulls over HTTP/2: Basic, and a token from /token
  ops_get tls /v2/library/alpine/manifests/3.19 "${ACCEPT_ALL[@]}" -u alice:alice-pw
  resp_is "tls: manifest GET with Basic alice over TLS" 200 sha="$ALPINE_DIGEST" digest="$ALPINE_DIGEST"
  tok=$(curl -sS --max-time 30 --cacert "$OPS_CA" -G -u alice:alice-pw --data-urlencode service=tollgate \
    --data-urlencode 'scope=repository:library/busybox:pull' "$U/token" 2>/dev/null | jq -r '.token // empty' 2>/dev/null)
  [ -n "$tok" ]
  verdict "tls: GET https://$H/token (Basic alice) gives a token" $? "request: curl --cacert ca.crt -u alice:… $U/token?service=tollgate&scope=repository:library/busybox:pull"
  v=$(curl -sS --max-time 30 --cacert "$OPS_CA" "${ACCEPT_ALL[@]}" -H "Authorization: Bearer $tok" -o "$OPS/tls.bb" \
    -w '%{http_code} %{http_version}' "$U/v2/library/busybox/manifests/latest" 2>&1)
  expect "tls: busybox manifest with the Bearer token over HTTP/2 → 200, right digest" "200 2 $BUSYBOX_DIGEST" \
    "$v sha256:$(sha256sum <"$OPS/tls.bb" | cut -d' ' -f1)"
  v=$(curl -sS --max-time 30 --cacert "$OPS_CA" -H "Authorization: Bearer $tok" -o "$OPS/tls.bbl" \
    -w '%{http_code} %{http_version}' "$U/v2/library/busybox/blobs/$BUSYBOX_LAYER" 2>&1)
  expect "tls: busybox layer with the Bearer token over HTTP/2 → 200, right digest" "200 2 $BUSYBOX_LAYER" \
    "$v sha256:$(sha256sum <"$OPS/tls.bbl" | cut -d' ' -f1)"

  # --- http2: false → HTTP/1.1 only (ALPN offers no h2)
  ops_tls_config tlsh1 false
  if ops_start tlsh1 2>"$OPS/tlsh1.start.err"; then
    v=$(curl -sS --max-time 10 --cacert "$OPS_CA" -o /dev/null -w '%{http_code} %{http_version}' "$(ops_url tlsh1)/v2/" 2>&1)
    expect "tls: http2: false → curl gets HTTP/1.1 (anonymous instance: /v2/ 200)" "200 1.1" "$v"
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$(ops_port tlsh1)" -CAfile "$OPS_CA" -alpn h2 </dev/null 2>&1)
    expect_match "tls: http2: false → ALPN h2 not negotiated" 'No ALPN negotiated' "$(grep -E 'ALPN' <<<"$out" | head -1)"
    ops_term tlsh1
  else
    fail "tls: http2: false instance starts" "$(tail -c 400 "$OPS/tlsh1.start.err")"
  fi
}

check_tls_reload() {
  ops_tls_up tls-reload || return
  local d="$WORK/tg/tls" U P M s v cpid i ok pid
  U=$(ops_url tls) P=$(ops_port tls) pid=$(cat "$d/pid")
  # start from pair a (a previous run of this check left b)
  if [ "$(ops_subject "$P")" != "CN = tollgate-a" ]; then
    cp "$OPS_PKI/a.crt" "$d/tls.crt.new" && cp "$OPS_PKI/a.key" "$d/tls.key.new" &&
      mv "$d/tls.key.new" "$d/tls.key" && mv "$d/tls.crt.new" "$d/tls.crt" && kill -HUP "$pid" && sleep 1
  fi
  expect "tls-reload: new connections get CN=tollgate-a before the reload" "CN = tollgate-a" "$(ops_subject "$P")" \
    "command: openssl s_client -connect 127.0.0.1:$P -CAfile ca.crt"

  # a slow HTTP/2 transfer (64 MiB at 16 MB/s, ~4 s) on a connection made with pair a
  ( curl -sS -v --max-time 60 --cacert "$OPS_CA" -u alice:alice-pw --limit-rate 16M -o "$OPS/reload.slow" \
      -w '%{http_code} %{http_version} %{size_download}\n' "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" >"$OPS/reload.slow.res" 2>"$OPS/reload.slow.err"
    echo $? >"$OPS/reload.slow.rc" ) &
  cpid=$!
  sleep 1.2
  M=$(tg_mark tls)
  # renewal as a deploy hook does it: new files renamed into place, then SIGHUP
  cp "$OPS_PKI/b.crt" "$d/tls.crt.new" && cp "$OPS_PKI/b.key" "$d/tls.key.new" &&
    mv "$d/tls.key.new" "$d/tls.key" && mv "$d/tls.crt.new" "$d/tls.crt"
  kill -HUP "$pid"
  ok=1
  for i in $(seq 30); do [ "$(ops_subject "$P")" = "CN = tollgate-b" ] && { ok=0; break; }; sleep 0.1; done
  verdict "tls-reload: after kill -HUP new connections get CN=tollgate-b (within 3 s)" $ok \
    "expected: subject CN = tollgate-b" "got: $(ops_subject "$P")" "log: $(tg_since tls "$M" | grep -v ' access ' | tail -3 | tr '\n' ' ')"
  ops_log_wait tls "$M" 'TLS certificate reloaded' 3
  verdict "tls-reload: the log says 'TLS certificate reloaded'" $? "log since the HUP: $(tg_since tls "$M" | grep -v ' access ' | tail -3 | tr '\n' ' ')"
  v=$(curl -sS -v --max-time 10 --cacert "$OPS_CA" -u alice:alice-pw -o /dev/null -w '%{http_code} %{http_version}' "$U/v2/" 2>"$OPS/reload.new.err")
  expect "tls-reload: a new request verifies CN=tollgate-b with the CA → 200 over HTTP/2" "200 2 CN=tollgate-b" \
    "$v $(grep -oE 'subject: CN=[a-z-]+' "$OPS/reload.new.err" | head -1 | sed 's/subject: //')"

  wait "$cpid"
  v="$(cat "$OPS/reload.slow.res" 2>/dev/null | tr -d '\n') rc=$(cat "$OPS/reload.slow.rc" 2>/dev/null) sha256:$(sha256sum <"$OPS/reload.slow" | cut -d' ' -f1) $(grep -oE 'subject: CN=[a-z-]+' "$OPS/reload.slow.err" | head -1 | sed 's/subject: //')"
  expect "tls-reload: the HTTP/2 transfer started before the HUP (pair a) completes intact" \
    "200 2 $BIG_BLOB_SIZE rc=0 $BIG_BLOB CN=tollgate-a" "$v" "curl stderr: $(grep -vE '^[*<>{}]' "$OPS/reload.slow.err" | tail -2 | tr '\n' ' ')"

  # a broken new certificate file: logged, the old pair (b) stays
  M=$(tg_mark tls)
  echo 'not a certificate' >"$d/tls.crt.new" && mv "$d/tls.crt.new" "$d/tls.crt"
  kill -HUP "$pid"
  ops_log_wait tls "$M" 'TLS certificate not reloaded' 3
  verdict "tls-reload: a garbage certificate file → log 'TLS certificate not reloaded'" $? \
    "log since the HUP: $(tg_since tls "$M" | grep -v ' access ' | tail -3 | tr '\n' ' ')"
  expect "tls-reload: … and new connections still get CN=tollgate-b" "CN = tollgate-b" "$(ops_subject "$P")"
  v=$(curl -sS --max-time 10 --cacert "$OPS_CA" -u alice:alice-pw -o /dev/null -w '%{http_code}' "$U/v2/" 2>&1)
  expect "tls-reload: … and requests still work" 200 "$v"

  # a certificate with a key that is not its own (valid PEM files, wrong pair): must be refused as well
  M=$(tg_mark tls)
  cp "$OPS_PKI/a.crt" "$d/tls.crt.new" && mv "$d/tls.crt.new" "$d/tls.crt"   # tls.key is still b's
  kill -HUP "$pid"
  ops_log_wait tls "$M" 'TLS certificate (not )?reloaded' 3
  s=$(ops_subject "$P")
  v=$(curl -sS --max-time 10 --cacert "$OPS_CA" -u alice:alice-pw -o /dev/null -w '%{http_code}' "$U/v2/" 2>"$OPS/reload.mm.err")
  [ "$s" = "CN = tollgate-b" ] && [ "$v" = 200 ] && tg_since tls "$M" | grep -q 'TLS certificate not reloaded'
  verdict "tls-reload: a.crt with b.key (mismatched pair) → 'not reloaded', CN=tollgate-b and requests keep working" $? \
    "command: cp a.crt tls.crt (tls.key = b.key); kill -HUP $pid; openssl s_client …; curl --cacert ca.crt -u alice:… $U/v2/" \
    "expected: log 'TLS certificate not reloaded', subject CN = tollgate-b, status 200" \
    "got: subject '${s:-<no certificate: handshake failed>}', status $v ($(head -c 160 "$OPS/reload.mm.err" | tr '\n' ' ')); log: $(tg_since tls "$M" | grep -v ' access ' | tail -2 | tr '\n' ' ')"

  # put pair b back (so that a failure above does not break tls-clients)
  M=$(tg_mark tls)
  cp "$OPS_PKI/b.crt" "$d/tls.crt.new" && cp "$OPS_PKI/b.key" "$d/tls.key.new" &&
    mv "$d/tls.key.new" "$d/tls.key" && mv "$d/tls.crt.new" "$d/tls.crt"
  kill -HUP "$pid"
  ops_log_wait tls "$M" 'TLS certificate reloaded' 3
  v=$(curl -sS --max-time 10 --cacert "$OPS_CA" -u alice:alice-pw -o /dev/null -w '%{http_code}' "$U/v2/" 2>&1)
  expect "tls-reload: the right pair b again + HUP → requests work (CN=tollgate-b)" "200 CN = tollgate-b" "$v $(ops_subject "$P")"
}

check_tls_clients() {
  ops_tls_up tls-clients || return
  local H U M D dg env n P="$HARNESS/clients/podman.sh" C="$HARNESS/clients/containerd.sh" S="$HARNESS/clients/docker.sh"
  local CD="$OPS_PKI/certdir" sk="$OPS/sk"
  H="127.0.0.1:$(ops_port tls)" U=$(ops_url tls)
  rm -rf "$sk"; mkdir -p "$sk"

  # --- skopeo: --src-cert-dir with ca.crt; --src-creds, and login + authfile
  run_fails_with "tls-clients: skopeo without the CA fails certificate verification" 60 'x509|certificate' \
    skopeo copy -q --src-creds alice:alice-pw "docker://$H/library/alpine:3.19" "dir:$sk/noca"
  if run_cmd "tls-clients: skopeo copy --src-cert-dir (ca.crt) --src-creds alice docker://$H/library/alpine:3.19" 120 \
      skopeo copy -q --src-cert-dir "$CD" --src-creds alice:alice-pw "docker://$H/library/alpine:3.19" "dir:$sk/alpine"; then
    expect "tls-clients: skopeo alpine digest" "$ALPINE_DIGEST" "$(sk_digest "$sk/alpine")"
  fi
  run_fails_with "tls-clients: skopeo login with a wrong password fails" 60 'invalid username/password|unauthorized' \
    skopeo login --cert-dir "$CD" --authfile "$sk/auth.json" -u alice -p wrong-pw "$H"
  if run_cmd "tls-clients: skopeo login --cert-dir --authfile -u alice $H" 60 \
      skopeo login --cert-dir "$CD" --authfile "$sk/auth.json" -u alice -p alice-pw "$H"; then
    if run_cmd "tls-clients: skopeo copy --src-cert-dir --authfile docker://$H/library/multi:latest --all" 120 \
        skopeo copy -q --all --src-cert-dir "$CD" --authfile "$sk/auth.json" "docker://$H/library/multi:latest" "dir:$sk/multi"; then
      expect "tls-clients: skopeo multi (index) digest" "$MULTI_DIGEST" "$(sk_digest "$sk/multi")"
    fi
  fi
  run_fails_with "tls-clients: skopeo copy with the CA but no credentials fails (auth on)" 60 'unauthorized|authentication required|invalid username' \
    skopeo copy -q --src-cert-dir "$CD" "docker://$H/library/busybox:latest" "dir:$sk/nocreds"

  # --- podman: registries.conf mirror for docker.io without `insecure`, --cert-dir, login to the mirror host
  if D=$("$P" new); then
    echo "podman $D" >>"$WORK/daemons"
    # the docker.io location is a closed loopback port: a mirror failure can't fall through to the internet
    printf 'unqualified-search-registries = ["docker.io"]\n[[registry]]\nprefix = "docker.io"\nlocation = "127.0.0.1:9"\n[[registry.mirror]]\nlocation = "%s"\n' "$H" >"$D/registries.conf"
    run_fails_with "tls-clients: podman pull without the CA fails certificate verification" 60 'x509|certificate' \
      "$P" do "$D" pull -q --creds alice:alice-pw "$H/library/alpine:3.19"
    if run_cmd "tls-clients: podman login --cert-dir -u alice $H" 60 "$P" do "$D" login --cert-dir "$CD" -u alice -p alice-pw "$H"; then
      M=$(tg_mark tls)
      if run_cmd "tls-clients: podman pull --cert-dir docker.io/library/busybox:latest via the TLS mirror" 120 \
          "$P" do "$D" pull -q --cert-dir "$CD" docker.io/library/busybox:latest; then
        expect "tls-clients: podman busybox digest" "$BUSYBOX_DIGEST" \
          "$(timeout 30 "$P" do "$D" image inspect --format '{{.Digest}}' docker.io/library/busybox:latest 2>&1)"
      fi
      n=$(alc tls "$M" path '/v2/library/busybox/manifests/(latest|sha256:[0-9a-f]+)' status 200 user alice)
      [ "${n:-0}" -ge 1 ]
      verdict "tls-clients: the mirror's access log shows podman's pull as alice" $? \
        "expected: access line path=/v2/library/busybox/manifests/… status=200 user=alice" "got: $(al tls "$M" | head -4 | tr '\n' ' ')"
    fi
    "$P" rm "$D"
  else
    fail "tls-clients: private podman" "podman.sh new failed"
  fi

  # --- containerd: hosts.toml with ca = the test CA, direct and as docker.io mirror; --user alice
  if env=$(timeout 60 "$C" start 2>"$OPS/ctr.err"); then
    eval "$env"
    echo "containerd $CTR_DIR" >>"$WORK/daemons"
    mkdir -p "$CTR_DIR/certs.d/$H" "$CTR_DIR/certs.d/docker.io" "$CTR_DIR/noca.d/$H"
    printf 'server = "https://%s"\n\n[host."https://%s"]\n  capabilities = ["pull", "resolve"]\n  ca = "%s"\n' "$H" "$H" "$OPS_CA" >"$CTR_DIR/certs.d/$H/hosts.toml"
    printf 'server = "http://127.0.0.1:9"\n\n[host."https://%s"]\n  capabilities = ["pull", "resolve"]\n  ca = "%s"\n' "$H" "$OPS_CA" >"$CTR_DIR/certs.d/docker.io/hosts.toml"
    printf 'server = "https://%s"\n\n[host."https://%s"]\n  capabilities = ["pull", "resolve"]\n' "$H" "$H" >"$CTR_DIR/noca.d/$H/hosts.toml"
    run_fails_with "tls-clients: ctr pull with a hosts.toml without ca fails certificate verification" 60 'x509|certificate' \
      /usr/bin/ctr -a "$CTR_DIR/containerd.sock" images pull --snapshotter native --hosts-dir "$CTR_DIR/noca.d" --user alice:alice-pw "$H/library/alpine:3.19"
    if run_cmd "tls-clients: ctr pull --hosts-dir (ca = ca.crt) --user alice $H/library/alpine:3.19" 120 \
        "$C" pull "$CTR_DIR" --user alice:alice-pw "$H/library/alpine:3.19"; then
      expect "tls-clients: ctr direct pull digest" "$ALPINE_DIGEST" "$(ctr_digest "$H/library/alpine:3.19")"
    fi
    M=$(tg_mark tls)
    if run_cmd "tls-clients: ctr pull docker.io/library/multi:latest via the TLS mirror (hosts.toml ca)" 120 \
        "$C" pull "$CTR_DIR" --user alice:alice-pw docker.io/library/multi:latest; then
      expect "tls-clients: ctr mirror pull digest" "$MULTI_DIGEST" "$(ctr_digest docker.io/library/multi:latest)"
    fi
    n=$(al_ns tls "$M" docker.io | status_of | grep -c '^200$')
    [ "${n:-0}" -ge 1 ]
    verdict "tls-clients: containerd's mirror requests carried ?ns=docker.io and got 200" $? "got: $(al tls "$M" | head -4 | tr '\n' ' ')"
    timeout 30 "$C" stop "$CTR_DIR"
  else
    fail "tls-clients: private containerd starts" "$(tail -c 300 "$OPS/ctr.err")"
  fi

  # --- Docker engine: docker login + pull over HTTPS. dockerd treats 127.0.0.0/8 as an insecure registry
  # whatever it is told (certs.d is not read, the certificate is not verified), so this shows that its
  # TLS client works with Tollgate, not that it checks the CA.
  if env=$(timeout 90 "$S" start 2>"$OPS/dockerd.err"); then
    eval "$env"
    echo "docker $DOCKERD_DIR" >>"$WORK/daemons"
    run_fails_with "tls-clients: docker pull $H/… before login fails (unauthorized)" 120 'unauthorized|authentication required' \
      docker pull -q "$H/library/alpine:3.19"
    if run_cmd "tls-clients: docker login $H -u alice" 60 docker login "$H" -u alice -p alice-pw; then
      if run_cmd "tls-clients: docker pull $H/library/multi:latest" 180 docker pull -q "$H/library/multi:latest"; then
        expect_match "tls-clients: docker pull digest" "(^| )$(re_escape "$H")/library/multi@$MULTI_DIGEST( |$)" \
          "$(timeout 30 docker inspect --format '{{join .RepoDigests " "}}' "$H/library/multi:latest" 2>&1)"
      fi
      grep -qF "Trying to pull $H/library/multi from https://$H" "$DOCKERD_DIR/dockerd.log"
      verdict "tls-clients: dockerd pulled from https://$H (its log)" $? \
        "expected: dockerd.log line 'Trying to pull $H/library/multi from https://$H v2'" \
        "got: $(grep -F 'Trying to pull' "$DOCKERD_DIR/dockerd.log" | tail -2 | tr '\n' ' ')"
    fi
    timeout 60 "$S" stop "$DOCKERD_DIR"
  else
    fail "tls-clients: private dockerd starts" "$(tail -c 300 "$OPS/dockerd.err")"
  fi
}

# ---------------------------------------------------------------------------------------------
# ops_pull NAME LABEL REF [skopeo args] — skopeo copy docker://<instance>/REF (plain HTTP) into
# dir:$OPS/sk-NAME/LABEL; its exit status (the caller compares sk_digest).
ops_pull() {
  local name="$1" label="$2" ref="$3" dir="$OPS/sk-$1/$2"
  shift 3
  rm -rf "$dir"; mkdir -p "$OPS/sk-$name"
  timeout 120 skopeo copy -q --src-tls-verify=false "$@" "docker://$(tg_host "$name")/$ref" "dir:$dir" >"$OPS/sk-$name/$label.log" 2>&1
}

# ops_digests DIR — the config and layer digests of the image skopeo copied into DIR (one a line)
ops_digests() { jq -r '.config.digest, .layers[].digest' "$1/manifest.json" 2>/dev/null; }

# ops_present NAME DIGEST... — the digests whose file is missing (empty output: all present)
ops_missing() { local n="$1" g; shift; for g in "$@"; do [ -e "$(ops_file "$n" "$g")" ] || echo "$g"; done; }
ops_present() { local n="$1" g; shift; for g in "$@"; do [ -e "$(ops_file "$n" "$g")" ] && echo "$g"; done; }

# ops_hot NAME SECONDS DIGEST... — in the background, GET these busybox blobs (and busybox:latest) every
# 0.5 s for at most SECONDS; sets OPS_HOT (its pid; kill it when done).
ops_hot() {
  local name="$1" secs="$2" U i g; shift 2
  U=$(ops_url "$name")
  (
    for i in $(seq $((secs * 2))); do
      for g in "$@"; do curl -s -o /dev/null --max-time 5 "$U/v2/library/busybox/blobs/$g"; done
      curl -s -o /dev/null --max-time 5 "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
      sleep 0.5
    done
  ) >/dev/null 2>&1 &
  OPS_HOT=$!
}

# evict: storage.max_size 40MiB. The 64 MiB blob is pulled first (least recently used), then alpine,
# busybox, multi --all; busybox stays hot. The server must evict the big blob (not before 10 s after
# its use), stop below 95 % of max_size (the cold alpine blobs stay), keep the hot blobs and the tagged
# manifests, and fetch the evicted blob again when asked.
check_evict() {
  ops_bin
  local U H t_req t_gone i gone=1 line ev_ts ev_bytes bbc al_parts=() miss re g0 g1 disk max=41943040 sk
  # Downloads in flight count toward max_size, so the 64 MiB blob is cached under max_size: 80MiB
  # first; the instance then restarts with max_size: 40MiB, which the janitor enforces.
  ops_config evict "max_size: 80MiB"
  ops_start evict 2>"$OPS/evict.start.err" || { fail "evict: instance with max_size: 80MiB starts" "$(tail -c 600 "$OPS/evict.start.err")"; return; }
  U=$(ops_url evict) H=$(tg_host evict) sk="$OPS/sk-evict"
  re=$(re_escape "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB")

  t_req=$(date +%s)
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  resp_is "evict: GET the 64 MiB blob (cold) → 200, right bytes" 200 sha="$BIG_BLOB"
  ops_pull evict alpine library/alpine:3.19 && [ "$(sk_digest "$sk/alpine")" = "$ALPINE_DIGEST" ] &&
    ops_pull evict busybox library/busybox:latest && [ "$(sk_digest "$sk/busybox")" = "$BUSYBOX_DIGEST" ] &&
    ops_pull evict multi library/multi:latest --all && [ "$(sk_digest "$sk/multi")" = "$MULTI_DIGEST" ]
  verdict "evict: skopeo copies alpine, busybox, multi --all through it" $? "logs: $(tail -c 300 "$sk"/*.log 2>/dev/null | tr '\n' ' ')"
  bbc=$(jq -r .config.digest "$sk/busybox/manifest.json" 2>/dev/null)
  mapfile -t al_parts < <(ops_digests "$sk/alpine")
  ops_stats evict && info "after the pulls: $(jq -c '{blobs, bytes, max_size}' "$WORK/cli.out")"
  ops_term evict
  ops_config evict "max_size: 40MiB"
  ops_start evict 2>"$OPS/evict.start.err" || { fail "evict: instance restarted with max_size: 40MiB" "$(tail -c 600 "$OPS/evict.start.err")"; return; }

  # busybox hot; wait (≤ 30 s) for the big blob to go
  ops_hot evict 40 "$BUSYBOX_LAYER" "$bbc"
  for i in $(seq 60); do
    [ -e "$(ops_file evict "$BIG_BLOB")" ] || { gone=0; break; }
    sleep 0.5
  done
  t_gone=$(date +%s)
  sleep 2.5   # the next access-time flush, so that stats are current
  verdict "evict: the cold 64 MiB blob is evicted (its file is gone) within 30 s" $gone \
    "expected: $(ops_file evict "$BIG_BLOB") removed" "got: still there after $((t_gone - t_req)) s; stats: $(jq -c . "$WORK/cli.out" 2>/dev/null)"
  line=$(grep -F 'cache evicted' "$WORK/tg/evict/tollgate.log" | head -1)
  ev_ts=$(date -d "$(awk '{print $1}' <<<"$line")" +%s 2>/dev/null || echo 0)
  ev_bytes=$(grep -oE 'bytes=[0-9]+' <<<"$line" | head -1 | cut -d= -f2)
  [ -n "$line" ] && [ "${ev_bytes:-0}" -ge "$BIG_BLOB_SIZE" ]
  verdict "evict: the log says 'cache evicted' with bytes ≥ the big blob's size" $? "got: ${line:-<no such line>}"
  [ "$ev_ts" -ge $((t_req + 9)) ]
  verdict "evict: not before 10 s after the big blob's last use" $? \
    "expected: the 'cache evicted' line ≥ $((t_req + 10)) (request at $t_req; 1 s resolution)" "got: $ev_ts ($((ev_ts - t_req)) s after the request)"
  info "evicted $((ev_ts - t_req)) s after the big blob was requested: ${line#* tollgate: }"

  if ops_stats evict; then
    disk=$(ops_disk evict)
    expect "evict: cache stats --json: max_size 40 MiB, bytes ≤ 95 % of it, = the files under blobs/" \
      "max_size=$max ok blobs,bytes=$disk" \
      "max_size=$(jq -r .max_size "$WORK/cli.out") $(jq -r --argjson m $max 'if .bytes <= $m * 95 / 100 then "ok" else "bytes=\(.bytes)" end' "$WORK/cli.out") blobs,bytes=$(jq -r '"\(.blobs) \(.bytes)"' "$WORK/cli.out")" \
      "command: $CLI"
  else
    fail "evict: cache stats --json" "command: $CLI" "got: $(cli_got $?)"
  fi
  miss=$(ops_missing evict "$BUSYBOX_LAYER" "$bbc")
  verdict "evict: the hot busybox layer and config are kept" "$([ -z "$miss" ]; echo $?)" "missing: $miss"
  miss=$(ops_missing evict "$ALPINE_DIGEST" "$BUSYBOX_DIGEST" "$MULTI_DIGEST")
  verdict "evict: the tagged manifests (alpine:3.19, busybox:latest, multi:latest) are kept" "$([ -z "$miss" ]; echo $?)" "missing: $miss"
  miss=$(ops_missing evict "${al_parts[@]}")
  verdict "evict: eviction stopped below 95 %: the cold alpine config and layers (used after the big blob) are kept" \
    "$([ -z "$miss" ] && [ ${#al_parts[@]} = 3 ]; echo $?)" "missing: ${miss:-none} (of ${#al_parts[@]})" \
    "log: $(grep -F 'cache evicted' "$WORK/tg/evict/tollgate.log" | tr '\n' ' ')"
  kill "$OPS_HOT" 2>/dev/null; wait "$OPS_HOT" 2>/dev/null

  # a blob larger than the whole cache can't be downloaded into it: 503, nothing left in tmp/
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  [ "$RS" = 503 ] && [ "$(errcode)" = UNAVAILABLE ] && jq -e '.errors[0].message | test("max_size")' "$RB" >/dev/null 2>&1
  verdict "evict: the evicted 64 MiB blob asked again under max_size 40MiB → 503 UNAVAILABLE naming max_size" $? \
    "request: $REQ" "got: $(got)"
  ops_term evict
}

# cache-cli: `tollgate cache stats|prune|verify` beside a running server (instance `cachecli`, no max_size).
check_cache_cli() {
  ops_bin
  local U H sk t_cold out rc n disk j big_f bbc al_parts=() tool_parts=() miss left re g0 g1 dmg
  ops_config cachecli
  ops_start cachecli 2>"$OPS/cachecli.start.err" || { fail "cache-cli: instance starts" "$(tail -c 600 "$OPS/cachecli.start.err")"; return; }
  U=$(ops_url cachecli) H=$(tg_host cachecli) sk="$OPS/sk-cachecli"
  local keys='["blobs","bytes","max_size","hit_ratio","bytes_sent_30d","cache_bytes_30d","by_upstream","top_repositories","damaged"]'

  # --- empty cache
  if ops_stats cachecli; then
    expect "cache-cli: stats --json on an empty cache: every key; 0 blobs, 0 bytes, max_size null, damaged 0" \
      "missing=[] blobs=0 bytes=0 max_size=null damaged=0 by_upstream=[]" \
      "$(jq -r --argjson k "$keys" '"missing=\($k - keys | tojson) blobs=\(.blobs) bytes=\(.bytes) max_size=\(.max_size) damaged=\(.damaged) by_upstream=\(.by_upstream | tojson)"' "$WORK/cli.out")" \
      "command: $CLI"
  else
    fail "cache-cli: stats --json on an empty cache" "command: $CLI" "got: $(cli_got $?)"
  fi
  # --- refusals: exit 1, one line on stderr, nothing on stdout
  local cases=(
    "no option and no storage.max_size|max-size|"
    "--max-size lots|--max-size|--max-size lots"
    "--older-than soon|--older-than|--older-than soon"
  )
  local c name want args
  for c in "${cases[@]}"; do
    name=${c%%|*}; c=${c#*|}; want=${c%%|*}; args=${c#*|}
    tgc cachecli cache prune $args; rc=$?
    [ $rc = 1 ] && [ ! -s "$WORK/cli.out" ] && [ "$(grep -c . "$WORK/cli.err")" = 1 ] && grep -qF -- "$want" "$WORK/cli.err"
    verdict "cache-cli: prune with $name → exit 1, one stderr line naming $want" $? "command: $CLI" "got: $(cli_got $rc)"
  done

  # --- content: the 64 MiB blob twice (a miss, then a hit), alpine, busybox, ghcr org/tool
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"; resp_is "cache-cli: (content) the 64 MiB blob, cold" 200 sha="$BIG_BLOB"
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"; resp_is "cache-cli: (content) the 64 MiB blob again, a hit" 200 sha="$BIG_BLOB" xcache=hit
  ops_pull cachecli alpine library/alpine:3.19 && [ "$(sk_digest "$sk/alpine")" = "$ALPINE_DIGEST" ] &&
    ops_pull cachecli busybox library/busybox:latest && [ "$(sk_digest "$sk/busybox")" = "$BUSYBOX_DIGEST" ] &&
    ops_pull cachecli tool ghcr.io/org/tool:v1 && [ "$(sk_digest "$sk/tool")" = "$TOOL_DIGEST" ]
  verdict "cache-cli: (content) skopeo copies alpine, busybox, ghcr.io/org/tool:v1" $? "logs: $(tail -c 300 "$sk"/*.log 2>/dev/null | tr '\n' ' ')"
  t_cold=$(date +%s)
  bbc=$(jq -r .config.digest "$sk/busybox/manifest.json" 2>/dev/null)
  mapfile -t al_parts < <(ops_digests "$sk/alpine")
  mapfile -t tool_parts < <(ops_digests "$sk/tool")
  ops_hot cachecli 40 "$BUSYBOX_LAYER" "$bbc"
  sleep 2.5   # access times (2 s) and usage (1 s) flushed

  if ops_stats cachecli; then
    disk=$(ops_disk cachecli)
    j="$WORK/cli.out"
    expect "cache-cli: stats --json blobs and bytes = the files under blobs/" "$disk" "$(jq -r '"\(.blobs) \(.bytes)"' "$j")" "command: $CLI"
    expect "cache-cli: stats --json by_upstream: docker.io and ghcr.io, adding up to blobs and bytes" \
      "docker.io,ghcr.io $(jq -r '"\(.blobs) \(.bytes)"' "$j")" \
      "$(jq -r '"\([.by_upstream[].name] | sort | join(",")) \([.by_upstream[].blobs] | add) \([.by_upstream[].bytes] | add)"' "$j")" \
      "by_upstream: $(jq -c .by_upstream "$j")"
    expect "cache-cli: stats --json top_repositories: docker.io/bigdata/blob first with the big blob's size; ghcr.io/org/tool listed" \
      "docker.io/bigdata/blob $BIG_BLOB_SIZE tool=1" \
      "$(jq -r '"\(.top_repositories[0].name) \(.top_repositories[0].bytes) tool=\([.top_repositories[] | select(.name == "ghcr.io/org/tool")] | length)"' "$j")" \
      "top_repositories: $(jq -c .top_repositories "$j")"
    expect "cache-cli: stats --json traffic: bytes_sent_30d ≥ 2 × 64 MiB, cache_bytes_30d ≥ 64 MiB, hit_ratio = cache/sent, damaged 0" \
      "sent ok, cache ok, ratio ok, damaged 0" \
      "$(jq -r --argjson b "$BIG_BLOB_SIZE" '"sent \(if .bytes_sent_30d >= 2 * $b then "ok" else .bytes_sent_30d end), cache \(if .cache_bytes_30d >= $b then "ok" else .cache_bytes_30d end), ratio \(if .hit_ratio != null and .hit_ratio > 0 and .hit_ratio <= 1 and ((.hit_ratio - .cache_bytes_30d / .bytes_sent_30d) | fabs) < 0.001 then "ok" else .hit_ratio end), damaged \(.damaged)"' "$j")" \
      "stats: $(jq -c 'del(.by_upstream, .top_repositories)' "$j")"
  else
    fail "cache-cli: stats --json" "command: $CLI" "got: $(cli_got $?)"
  fi
  tgc cachecli cache stats; rc=$?
  [ $rc = 0 ] && grep -q 'blobs' "$WORK/cli.out" && grep -qF 'docker.io/bigdata/blob' "$WORK/cli.out"
  verdict "cache-cli: stats (text) → exit 0, shows blobs and the top repository" $? "command: $CLI" "got: $(cli_got $rc)"
  tgc cachecli cache verify; rc=$?
  [ $rc = 0 ] && grep -qE '^[0-9]+ blobs .* checked, 0 damaged$' "$WORK/cli.out"
  verdict "cache-cli: verify on a sound cache → exit 0, 'N blobs (…) checked, 0 damaged'" $? "command: $CLI" "got: $(cli_got $rc)"
  tgc cachecli cache prune --older-than 1d; rc=$?
  [ $rc = 0 ] && grep -qE '^evicted 0 blobs, ' "$WORK/cli.out"
  verdict "cache-cli: prune --older-than 1d → evicted 0 blobs (everything was used today)" $? "command: $CLI" "got: $(cli_got $rc)"

  # --- past the 10 s grace for the cold content (busybox stays hot)
  for n in $(seq 20); do [ $(($(date +%s) - t_cold)) -ge 11 ] && break; sleep 0.5; done
  disk=$(find "$WORK/tg/cachecli/data/blobs" -type f | sort | md5sum)
  tgc cachecli cache prune --max-size 0 --dry-run; rc=$?
  out=$(cat "$WORK/cli.out")
  [ $rc = 0 ] && [[ "$out" =~ ^would\ evict\ ([0-9]+)\ blobs,\ .+\;\ cache\ .+\ →\ .+$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
    [ "$(find "$WORK/tg/cachecli/data/blobs" -type f | sort | md5sum)" = "$disk" ]
  verdict "cache-cli: prune --max-size 0 --dry-run → 'would evict N blobs, X; cache A → B' (N > 0), no file removed" $? "command: $CLI" "got: $(cli_got $rc)"
  tgc cachecli cache prune --max-size 0; rc=$?
  out=$(cat "$WORK/cli.out")
  [ $rc = 0 ] && [[ "$out" =~ ^evicted\ ([0-9]+)\ blobs,\ .+\;\ cache\ .+\ →\ .+$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
  verdict "cache-cli: prune --max-size 0 → exit 0, 'evicted N blobs, X; cache A → B' (N > 0)" $? "command: $CLI" "got: $(cli_got $rc)"
  info "prune: $out"
  left=$(ops_present cachecli "$BIG_BLOB" "${al_parts[@]}" "${tool_parts[@]}")
  verdict "cache-cli: … the cold blobs are gone (64 MiB blob, alpine's and tool's config and layers)" "$([ -z "$left" ]; echo $?)" "still there: $left"
  miss=$(ops_missing cachecli "$BUSYBOX_LAYER" "$bbc")
  verdict "cache-cli: … blobs used in the last 10 s are kept (hot busybox layer and config)" "$([ -z "$miss" ]; echo $?)" "missing: $miss"
  miss=$(ops_missing cachecli "$ALPINE_DIGEST" "$BUSYBOX_DIGEST" "$TOOL_DIGEST")
  verdict "cache-cli: … manifests a cached tag points at are kept (alpine:3.19, busybox:latest, tool:v1)" "$([ -z "$miss" ]; echo $?)" "missing: $miss"
  kill "$OPS_HOT" 2>/dev/null; wait "$OPS_HOT" 2>/dev/null

  # --- the running server fetches pruned content again
  re=$(re_escape "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB")
  g0=$(up_count hub GET "$re" '2[0-9][0-9]')
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  resp_is "cache-cli: after prune the server fetches the 64 MiB blob again → 200, right bytes, X-Cache: miss" 200 sha="$BIG_BLOB" xcache=miss
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "cache-cli: … and a pruned alpine layer → 200, right bytes" 200 sha="$SMALL_BLOB"
  req "$U/v2/ghcr.io/org/tool/blobs/${tool_parts[1]}"
  resp_is "cache-cli: … and a pruned ghcr layer → 200, right bytes" 200 sha="${tool_parts[1]}"

  # --- verify: one flipped byte in the stored 64 MiB blob while the server runs
  big_f=$(ops_file cachecli "$BIG_BLOB")
  for n in $(seq 50); do [ -e "$big_f" ] && break; sleep 0.1; done
  if [ -e "$big_f" ]; then
    ops_flip "$big_f" 1000000
    tgc cachecli cache verify; rc=$?
    [ $rc = 1 ] && grep -qF "$BIG_BLOB" "$WORK/cli.err" && grep -qE 'checked, 1 damaged' "$WORK/cli.out" && [ ! -e "$big_f" ] &&
      ls "$WORK/tg/cachecli/data/damaged/" 2>/dev/null | grep -qF "${BIG_BLOB:7}"
    verdict "cache-cli: verify finds the flipped byte: exit 1, stderr names the digest, file moved to <storage>/damaged/" $? \
      "command: $CLI" "got: $(cli_got $rc); blobs file $([ -e "$big_f" ] && echo present || echo gone); damaged/: $(ls "$WORK/tg/cachecli/data/damaged/" 2>/dev/null | tr '\n' ' ')"
    dmg=$(ls "$WORK/tg/cachecli/data/damaged/" 2>/dev/null | grep -c .)
    ops_stats cachecli
    expect "cache-cli: stats --json damaged = the files in damaged/" "$dmg" "$(jq -r .damaged "$WORK/cli.out" 2>/dev/null)" "command: $CLI"
    req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
    resp_is "cache-cli: the damaged blob through the server → 200, intact bytes, X-Cache: miss" 200 sha="$BIG_BLOB" bodylen="$BIG_BLOB_SIZE" xcache=miss
    g1=$(up_count hub GET "$re" '2[0-9][0-9]')
    expect "cache-cli: hub served the 64 MiB blob twice more (after prune, after verify)" 2 "$((g1 - g0))"
  else
    fail "cache-cli: verify finds a flipped byte" "got: the re-fetched blob never appeared at $big_f"
  fi
  ops_term cachecli
}

# cache-rm: `tollgate cache rm UPSTREAM[/REPO[:TAG]]` beside a running server (instance `cacherm`):
# a tag's own content goes (an image's manifest, config and layers; an index's child manifests), what
# other tags use stays; the running server drops what it remembered at once and asks the upstream
# again within manifest_ttl; a repository and a whole upstream go the same way; bad scopes are
# refused with one line; every order is in the audit log. (The console's buttons: console-browser.)
check_cache_rm() {
  ops_bin
  local U sk rc out n al_parts=() bb_parts=() tool_parts=() mu_children=() left miss re m0 m1 c name want arg
  ops_config cacherm
  ops_start cacherm 2>"$OPS/cacherm.start.err" || { fail "cache-rm: instance starts" "$(tail -c 600 "$OPS/cacherm.start.err")"; return; }
  U=$(ops_url cacherm) sk="$OPS/sk-cacherm"
  ops_pull cacherm alpine library/alpine:3.19 && [ "$(sk_digest "$sk/alpine")" = "$ALPINE_DIGEST" ] &&
    ops_pull cacherm busybox library/busybox:latest && ops_pull cacherm tool ghcr.io/org/tool:v1 &&
    ops_pull cacherm multi library/multi:latest --all
  verdict "cache-rm: (content) skopeo copies alpine:3.19, busybox, ghcr.io/org/tool:v1, multi:latest --all" $? \
    "logs: $(tail -c 300 "$sk"/*.log 2>/dev/null | tr '\n' ' ')"
  mapfile -t al_parts < <(ops_digests "$sk/alpine")
  mapfile -t bb_parts < <(ops_digests "$sk/busybox")
  mapfile -t tool_parts < <(ops_digests "$sk/tool")
  mapfile -t mu_children < <(jq -r '.manifests[].digest' "$sk/multi/manifest.json" 2>/dev/null)
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "cache-rm: (before) alpine:3.19 by tag within manifest_ttl → hit" 200 sha="$ALPINE_DIGEST" xcache=hit

  # --- a tag
  tgc cacherm cache rm docker.io/library/alpine:3.19; rc=$?
  out=$(head -1 "$WORK/cli.out")
  [ $rc = 0 ] && [[ "$out" =~ ^evicted\ docker.io/library/alpine:3.19:\ 1\ tag\ record\(s\),\ ([0-9]+)\ blob\(s\),\ .+$ ]] &&
    [ "${BASH_REMATCH[1]}" = $((1 + ${#al_parts[@]})) ]
  verdict "cache-rm: rm docker.io/library/alpine:3.19 → 'evicted …: 1 tag record(s), $((1 + ${#al_parts[@]})) blob(s), …' (manifest, config, layers)" $? \
    "command: $CLI" "got: $(cli_got $rc)"
  grep -qE "^the running server \(pid $(cat "$WORK/tg/cacherm/pid")\) has applied it$" "$WORK/cli.out"
  verdict "cache-rm: … and says once the running server (its pid) has applied it" $? "got: $(cli_got $rc)"
  left=$(ops_present cacherm "$ALPINE_DIGEST" "${al_parts[@]}")
  verdict "cache-rm: … alpine's manifest, config and layers are gone from disk" "$([ -z "$left" ]; echo $?)" "still there: $left"
  miss=$(ops_missing cacherm "$BUSYBOX_DIGEST" "${bb_parts[@]}" "$TOOL_DIGEST" "${tool_parts[@]}" "$MULTI_DIGEST")
  verdict "cache-rm: … busybox, ghcr.io/org/tool and multi stay" "$([ -z "$miss" ]; echo $?)" "missing: $miss"
  re=$(re_escape "/v2/library/alpine/manifests/3.19")
  m0=$(up_count hub GET "$re" '2[0-9][0-9]')
  req "${ACCEPT_ALL[@]}" "$U/v2/library/alpine/manifests/3.19"
  resp_is "cache-rm: the running server asks hub again at once (within manifest_ttl) → 200, X-Cache: miss" 200 sha="$ALPINE_DIGEST" xcache=miss
  m1=$(up_count hub GET "$re" '2[0-9][0-9]')
  expect "cache-rm: … hub served alpine:3.19 once more" 1 "$((m1 - m0))"
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "cache-rm: … and an evicted alpine layer → 200, right bytes, X-Cache: miss" 200 sha="$SMALL_BLOB" xcache=miss
  req "${ACCEPT_ALL[@]}" "$U/v2/library/busybox/manifests/latest"
  resp_is "cache-rm: … busybox:latest is still a hit" 200 sha="$BUSYBOX_DIGEST" xcache=hit
  grep 'eviction order applied' "$WORK/tg/cacherm/tollgate.log" | grep -qF 'scope=docker.io/library/alpine:3.19' 
  verdict "cache-rm: the server's log says it applied the order" $? "log: $(grep -i evict "$WORK/tg/cacherm/tollgate.log" | tail -3 | tr '\n' ' ')"

  # --- an index: its child manifests go with it
  tgc cacherm cache rm docker.io/library/multi:latest; rc=$?
  left=$(ops_present cacherm "$MULTI_DIGEST" "${mu_children[@]}")
  [ $rc = 0 ] && [ ${#mu_children[@]} -ge 2 ] && [ -z "$left" ]
  verdict "cache-rm: rm docker.io/library/multi:latest → the index and its ${#mu_children[@]} child manifests are gone" $? \
    "got: $(cli_got $rc); still there: $left"

  # --- a whole upstream, then a repository
  tgc cacherm cache rm ghcr.io; rc=$?
  out=$(cat "$WORK/cli.out")
  left=$(ops_present cacherm "$TOOL_DIGEST" "${tool_parts[@]}")
  [ $rc = 0 ] && [[ "$out" == "evicted ghcr.io: 1 tag record(s), $((1 + ${#tool_parts[@]})) blob(s), "* ]] && [ -z "$left" ]
  verdict "cache-rm: rm ghcr.io → everything of ghcr.io gone ($((1 + ${#tool_parts[@]})) blobs)" $? "got: $(cli_got $rc); still there: $left"
  req "${ACCEPT_ALL[@]}" "$U/v2/ghcr.io/org/tool/manifests/v1"
  resp_is "cache-rm: … ghcr.io/org/tool:v1 → 200 from ghcr again (X-Cache: miss)" 200 sha="$TOOL_DIGEST" xcache=miss
  tgc cacherm cache rm docker.io/library/busybox; rc=$?
  left=$(ops_present cacherm "$BUSYBOX_DIGEST" "${bb_parts[@]}")
  [ $rc = 0 ] && grep -qF "evicted docker.io/library/busybox: 1 tag record(s)" "$WORK/cli.out" && [ -z "$left" ]
  verdict "cache-rm: rm docker.io/library/busybox (a repository) → its tag and content gone" $? "got: $(cli_got $rc); still there: $left"
  tgc cacherm cache rm docker.io/library/busybox; rc=$?
  [ $rc = 0 ] && grep -qF "evicted docker.io/library/busybox: 0 tag record(s), 0 blob(s)" "$WORK/cli.out"
  verdict "cache-rm: the same again → exit 0, nothing left to evict" $? "got: $(cli_got $rc)"

  # --- refusals: exit 1, one line on stderr, nothing on stdout, nothing logged
  local cases=(
    "an uppercase repository|not a repository name|docker.io/Library/alpine"
    "an unknown upstream|no such upstream|nosuch.example/a/b"
    "a digest|not by digest|docker.io/library/alpine@sha256:$(printf '%064d' 0)"
    "a bad tag|is not a tag|docker.io/library/alpine:-x"
    "nothing before the slash|no upstream name|/library/alpine"
  )
  for c in "${cases[@]}"; do
    name=${c%%|*}; c=${c#*|}; want=${c%%|*}; arg=${c#*|}
    tgc cacherm cache rm "$arg"; rc=$?
    [ $rc = 1 ] && [ ! -s "$WORK/cli.out" ] && [ "$(grep -c . "$WORK/cli.err")" = 1 ] && grep -qF -- "$want" "$WORK/cli.err"
    verdict "cache-rm: rm with $name → exit 1, one stderr line ('$want')" $? "command: $CLI" "got: $(cli_got $rc)"
  done
  tgc cacherm cache rm; rc=$?
  [ $rc != 0 ] && [ ! -s "$WORK/cli.out" ]
  verdict "cache-rm: rm without a scope → usage error, non-zero exit" $? "got: $(cli_got $rc)"

  tgc cacherm audit --json; rc=$?
  expect "cache-rm: the audit log lists the five orders (actor cli)" \
    "docker.io/library/alpine:3.19 docker.io/library/multi:latest ghcr.io docker.io/library/busybox docker.io/library/busybox cli" \
    "$(jq -r '[.[] | select(.action == "cache.evict")] | (map(.target) | join(" ")) + " " + (map(.actor) | unique | join(","))' "$WORK/cli.out" 2>/dev/null)" \
    "command: $CLI" "got: $(cli_got $rc)"
  ops_term cacherm
}

# crash-marker: SIGTERM leaves <storage>/clean-shutdown and the next start checks nothing; after
# kill -9 the start re-hashes, in the background, the blobs written since the last clean stop
# (README.md, "Cache size, eviction and checks"); a blob damaged while the server was down is moved
# aside and fetched again. The content pulled before the clean stop is back-dated by an hour
# (touch -d), so that it is plainly older than that stop (the server allows 5 s of slack).
check_crash_marker() {
  ops_bin
  local S="$WORK/tg/marker/data" U M big_f old_f line g
  ops_config marker
  ops_start marker 2>"$OPS/marker.start.err" || { fail "crash-marker: instance starts" "$(tail -c 600 "$OPS/marker.start.err")"; return; }
  U=$(ops_url marker)
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"; resp_is "crash-marker: (content) an alpine layer" 200 sha="$SMALL_BLOB"
  req "$U/v2/library/busybox/blobs/$BUSYBOX_LAYER"; resp_is "crash-marker: (content) the busybox layer" 200 sha="$BUSYBOX_LAYER"
  for g in "$SMALL_BLOB" "$BUSYBOX_LAYER"; do touch -d '-1 hour' "$(ops_file marker "$g")"; done
  old_f=$(ops_file marker "$SMALL_BLOB")

  ops_term marker
  [ "$OPS_RC" = 0 ] && [ -f "$S/clean-shutdown" ]
  verdict "crash-marker: SIGTERM → exit 0 and <storage>/clean-shutdown exists" $? "got: exit $OPS_RC after $OPS_SECS s; $S: $(ls "$S" | tr '\n' ' ')"
  M=$(tg_mark marker)
  ops_start marker 2>"$OPS/marker.start.err" || { fail "crash-marker: starts after SIGTERM" "$(tail -c 600 "$OPS/marker.start.err")"; return; }
  sleep 2
  ! tg_since marker "$M" | grep -qE 'no clean-shutdown marker|stored blobs checked'
  verdict "crash-marker: the start after a clean stop checks no blobs" $? "log: $(tg_since marker "$M" | grep -E 'marker|checked' | tr '\n' ' ')"

  # new content after the clean stop, then a crash
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"; resp_is "crash-marker: (content) the 64 MiB blob, after the clean stop" 200 sha="$BIG_BLOB"
  big_f=$(ops_file marker "$BIG_BLOB")
  for line in $(seq 50); do [ -e "$big_f" ] && break; sleep 0.1; done
  ops_kill9 marker
  expect "crash-marker: kill -9 (exit 137)" 137 "$OPS_RC"
  M=$(tg_mark marker)
  ops_start marker 2>"$OPS/marker.start.err" || { fail "crash-marker: starts after kill -9" "$(tail -c 600 "$OPS/marker.start.err")"; return; }
  ops_log_wait marker "$M" 'stored blobs checked' 30
  line=$(tg_since marker "$M" | grep -E 'stored blobs checked' | head -1)
  tg_since marker "$M" | grep -q 'no clean-shutdown marker: checking stored blobs' && [[ "$line" =~ damaged=0 ]]
  verdict "crash-marker: after kill -9 the log says 'no clean-shutdown marker: checking stored blobs', then 'stored blobs checked … damaged=0'" $? \
    "log: $(tg_since marker "$M" | grep -v ' access ' | tail -4 | tr '\n' ' ')"
  expect_match "crash-marker: … and re-hashes only the blob written since the last clean stop (checked=1, not the 2 older ones)" \
    '(^|[ ,{"])checked"?[=:] ?"?1([^0-9]|$)' "${line:-<no 'stored blobs checked' line>}" \
    "the 64 MiB blob was stored after the last clean stop; the alpine and busybox layers an hour before it"

  # damaged while the server was down: a blob written since the last clean stop, one byte flipped
  ops_kill9 marker
  ops_flip "$big_f" 1000000
  M=$(tg_mark marker)
  ops_start marker 2>"$OPS/marker.start.err" || { fail "crash-marker: starts after kill -9 with a damaged blob" "$(tail -c 600 "$OPS/marker.start.err")"; return; }
  ops_log_wait marker "$M" 'stored blobs checked' 30
  line=$(tg_since marker "$M" | grep -E 'stored blobs checked' | head -1)
  tg_since marker "$M" | grep 'damaged blob moved aside' | grep -qF "$BIG_BLOB" && [[ "$line" =~ damaged=1 ]] &&
    [ ! -e "$big_f" ] && ls "$S/damaged/" 2>/dev/null | grep -qF "${BIG_BLOB:7}"
  verdict "crash-marker: a blob damaged while down → 'damaged blob moved aside' (its digest), damaged=1, file in <storage>/damaged/" $? \
    "log: $(tg_since marker "$M" | grep -v ' access ' | tail -4 | tr '\n' ' ')" "damaged/: $(ls "$S/damaged/" 2>/dev/null | tr '\n' ' ')"
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  resp_is "crash-marker: the moved-aside blob is fetched again → 200, intact, X-Cache: miss" 200 sha="$BIG_BLOB" xcache=miss
  req "$U/v2/library/alpine/blobs/$SMALL_BLOB"
  resp_is "crash-marker: the sound alpine layer is still served" 200 sha="$SMALL_BLOB"
  [ -e "$old_f" ]
  verdict "crash-marker: … and still stored" $? "got: $old_f missing"
  ops_term marker
  [ "$OPS_RC" = 0 ] && [ -f "$S/clean-shutdown" ]
  verdict "crash-marker: the final SIGTERM writes the marker again" $? "got: exit $OPS_RC; $(ls "$S" | tr '\n' ' ')"
}

# shutdown: shutdown_timeout: 3s. Two rounds of: two 64 MiB transfers at 2 MB/s, SIGTERM 1.5 s in →
# new requests refused with 503 while draining, exit 0 after ~3 s, both transfers cut, their access lines
# written, and `tollgate usage --json` afterwards grew by exactly the bytes those lines report
# (flushed at shutdown; two rounds because a lost record is a race). Then SIGTERM with short
# transfers running: they complete whole (curl, and a slow reader with a small TCP window).
check_shutdown() {
  ops_bin
  local U P M pid u0 u1 v rc r j got size sha8 sha32 res_py lines logged got_sum
  local exits=() drain=() cuts=() alines=() usage=() bad
  ops_config shutdown "" "shutdown_timeout: 3s"
  ops_start shutdown 2>"$OPS/shutdown.start.err" || { fail "shutdown: instance starts" "$(tail -c 600 "$OPS/shutdown.start.err")"; return; }
  U=$(ops_url shutdown) P=$(ops_port shutdown)
  req "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB"
  resp_is "shutdown: (content) the 64 MiB blob into the cache" 200 sha="$BIG_BLOB"
  sha8="sha256:$(head -c 8388608 "$RB" | sha256sum | cut -d' ' -f1)"
  sha32="sha256:$(head -c 33554432 "$RB" | sha256sum | cut -d' ' -f1)"
  # control: the slow reader used below, without a shutdown
  v=$(timeout 30 python3 "$E2E_DIR/slow_get.py" 127.0.0.1 "$P" "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 4000000 0-8388607 2>&1)
  expect "shutdown: (control) slow reader (64 KiB window, 4 MB/s), Range 0-8388607, no shutdown → all 8 MiB" "206 8388608 8388608 $sha8" "$v"
  sleep 1.3   # usage flushed

  # --- long transfers cut by the timeout
  for r in 1 2; do
    if [ $r = 2 ]; then
      ops_start shutdown 2>"$OPS/shutdown.start.err" || { fail "shutdown: restarts (round 2)" "$(tail -c 600 "$OPS/shutdown.start.err")"; return; }
    fi
    u0=
    tgc shutdown usage --json && u0=$(jq '[.[].bytes_sent] | add // 0' "$WORK/cli.out" 2>/dev/null)
    M=$(tg_mark shutdown)
    local cps=()
    for j in 1 2; do
      ( curl -sS --max-time 60 --limit-rate 2M -o /dev/null -w '%{http_code} %{size_download}' \
          "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" >"$OPS/sd.cut$r$j.res" 2>"$OPS/sd.cut$r$j.err"; echo $? >"$OPS/sd.cut$r$j.rc" ) &
      cps+=($!)
    done
    sleep 1.5
    pid=$(cat "$WORK/tg/shutdown/pid")
    OPS_T0=$(date +%s.%N)
    kill -TERM "$pid"
    sleep 0.5
    v=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$U/v2/" 2>/dev/null)
    drain+=("${v:-000}")
    ops_wait_exit shutdown "$pid" 15; OPS_T0=
    wait "${cps[@]}"
    exits+=("$OPS_RC/$OPS_SECS")
    got_sum=0
    for j in 1 2; do
      read -r got size <"$OPS/sd.cut$r$j.res"; rc=$(cat "$OPS/sd.cut$r$j.rc")
      cuts+=("$got:${size:-0}:$rc")
      got_sum=$((got_sum + ${size:-0}))
    done
    lines=$(al shutdown "$M" path "$(re_escape "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB")")
    logged=$(grep -oE '(^|[ ,{"])bytes"?[=:] ?"?[0-9]+' <<<"$lines" | grep -oE '[0-9]+$' | awk '{ s += $1 } END { print s + 0 }')
    alines+=("$(grep -c . <<<"$lines"):$logged:$got_sum")
    u1=
    tgc shutdown usage --json && u1=$(jq '[.[].bytes_sent] | add // 0' "$WORK/cli.out" 2>/dev/null)
    usage+=("${u0:-?}→${u1:-?} (+$((${u1:-0} - ${u0:-0})); access lines say $logged)")
    [ -n "$u0" ] && [ -n "$u1" ] && [ $((u1 - u0)) = "$logged" ] || bad+=" $r"
  done
  expect "shutdown: while draining, a new request is refused: 503 UNAVAILABLE (2 rounds)" "503 503" "${drain[*]}"
  bad=; for v in "${exits[@]}"; do awk -v s="${v#*/}" 'BEGIN { exit !(s >= 2.5 && s <= 6) }' && [ "${v%/*}" = 0 ] || bad=1; done
  verdict "shutdown: SIGTERM during two 64 MiB transfers at 2 MB/s → exit 0 after shutdown_timeout (2.5–6 s; 2 rounds)" "${bad:-0}" \
    "got (exit/seconds): ${exits[*]}"
  bad=; for v in "${cuts[@]}"; do IFS=: read -r got size rc <<<"$v"; [ "$got" = 200 ] && [ "$rc" != 0 ] && [ "$size" -gt 0 ] && [ "$size" -lt "$BIG_BLOB_SIZE" ] || bad=1; done
  verdict "shutdown: the transfers are cut (200, a short body, curl error; 4 transfers)" "${bad:-0}" "got (status:bytes:curl exit): ${cuts[*]}"
  bad=; for v in "${alines[@]}"; do IFS=: read -r j logged got_sum <<<"$v"; [ "$j" = 2 ] && [ "$logged" -ge "$got_sum" ] && [ "$logged" -lt $((2 * BIG_BLOB_SIZE)) ] || bad=1; done
  verdict "shutdown: the cut transfers' access lines are written (2 per round, bytes ≥ what curl got)" "${bad:-0}" "got (lines:bytes logged:bytes received): ${alines[*]}"
  bad=0; for v in "${usage[@]}"; do [[ "$v" =~ \(\+([0-9]+)\;\ access\ lines\ say\ ([0-9]+)\) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || bad=1; done
  verdict "shutdown: tollgate usage --json afterwards counts the cut transfers' bytes (flushed at shutdown; each round)" $bad \
    "expected: bytes_sent grows by the bytes of the cut transfers' access lines" "got: ${usage[*]}"

  # --- short transfers: SIGTERM 0.2 s into them; they end well within the timeout and must arrive whole
  ops_start shutdown 2>"$OPS/shutdown.start.err" || { fail "shutdown: restarts" "$(tail -c 600 "$OPS/shutdown.start.err")"; return; }
  M=$(tg_mark shutdown)
  ( timeout 30 python3 "$E2E_DIR/slow_get.py" 127.0.0.1 "$P" "/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" 4000000 0-8388607 >"$OPS/sd.py" 2>&1 ) &
  local ppid=$! cpid
  ( curl -sS --max-time 60 --limit-rate 20M -r 0-33554431 -o "$OPS/sd.short" -w '%{http_code} %{size_download}' \
      "$U/v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB" >"$OPS/sd.short.res" 2>"$OPS/sd.short.err"; echo $? >"$OPS/sd.short.rc" ) &
  cpid=$!
  # SIGTERM once both transfers are under way (python's start can take longer than 0.3 s on a
  # loaded machine): both clients connected and past their first bytes, at most 3 s.
  local i
  for i in $(seq 30); do
    sleep 0.1
    [ "$(ss -Htn state established "( dport = :$P )" 2>/dev/null | wc -l)" -ge 2 ] && break
  done
  sleep 0.2
  pid=$(cat "$WORK/tg/shutdown/pid")
  OPS_T0=$(date +%s.%N)
  kill -TERM "$pid"
  ops_wait_exit shutdown "$pid" 15; OPS_T0=
  wait "$cpid" "$ppid"
  awk -v s="$OPS_SECS" 'BEGIN { exit !(s <= 3.5) }' && [ "$OPS_RC" = 0 ]
  verdict "shutdown: SIGTERM with short transfers running → exit 0 once they are done (≤ 3.5 s)" $? "got: exit $OPS_RC after $OPS_SECS s"
  expect "shutdown: curl --limit-rate 20M -r 0-33554431 (≈1.6 s) running at SIGTERM completes whole" \
    "206 33554432 rc=0 $sha32" \
    "$(cat "$OPS/sd.short.res") rc=$(cat "$OPS/sd.short.rc") sha256:$(sha256sum <"$OPS/sd.short" | cut -d' ' -f1)" \
    "curl stderr: $(head -c 200 "$OPS/sd.short.err")"
  res_py=$(cat "$OPS/sd.py")
  expect "shutdown: a slow reader (64 KiB TCP window, 4 MB/s, 8 MiB ≈ 2.1 s) running at SIGTERM gets all its bytes" \
    "206 8388608 8388608 $sha8" "$res_py" \
    "request: python3 slow_get.py 127.0.0.1 $P /v2/$BIG_BLOB_REPO/blobs/$BIG_BLOB 4000000 0-8388607 (the control above got all of it without a shutdown)" \
    "server exit after $OPS_SECS s; access lines: $(al shutdown "$M" | grep -oE 'status=[0-9]+ bytes=[0-9]+ duration_ms=[0-9.]+[^ ]* upstream=[^ ]+ cache=[^ ]+' | tr '\n' ';')"
}

# health: /healthz and /readyz; /readyz → 503 when the storage takes no write (root ignores
# permissions, so tmp/ is replaced by a regular file for a moment).
check_health() {
  ops_bin
  local S="$WORK/tg/health/data" U
  ops_config health
  ops_start health 2>"$OPS/health.start.err" || { fail "health: instance starts" "$(tail -c 600 "$OPS/health.start.err")"; return; }
  U=$(ops_url health)
  req "$U/healthz"; resp_is "health: GET /healthz → 200" 200; expect "health: /healthz body is ok" ok "$(tr -d '\n' <"$RB")"
  req "$U/readyz"; resp_is "health: GET /readyz → 200" 200; expect "health: /readyz body is ready" ready "$(tr -d '\n' <"$RB")"
  mv "$S/tmp" "$S/tmp.e2e" && touch "$S/tmp"
  req "$U/readyz"
  resp_is "health: /readyz with tmp/ not a directory → 503" 503
  expect_match "health: … its body names the problem" 'storage' "$(body_snip)"
  req "$U/healthz"; resp_is "health: … while /healthz stays 200" 200
  rm -f "$S/tmp" && mv "$S/tmp.e2e" "$S/tmp"
  req "$U/readyz"; resp_is "health: storage writable again → /readyz 200" 200
  ops_term health
}

# lock: a second serve on the same storage (another port) exits 1 at once naming the first's pid;
# the first keeps serving and its tmp/ is not emptied; after the first stops, the second may start.
check_lock() {
  ops_bin
  local S="$WORK/tg/lock/data" U pid out rc t0 secs
  ops_config lock
  ops_start lock 2>"$OPS/lock.start.err" || { fail "lock: instance starts" "$(tail -c 600 "$OPS/lock.start.err")"; return; }
  U=$(ops_url lock) pid=$(cat "$WORK/tg/lock/pid")
  echo sentinel >"$S/tmp/e2e-sentinel"
  ops_config lock2
  sed -i "s|^storage: .*|storage: {path: \"$S\"}|" "$WORK/tg/lock2/config.yaml"
  t0=$(date +%s.%N)
  timeout 20 "$TOLLGATE_BIN" serve --config "$WORK/tg/lock2/config.yaml" >"$OPS/lock2.out" 2>&1; rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  out=$(grep -F 'is in use by another tollgate serve' "$OPS/lock2.out")
  [ $rc = 1 ] && awk -v s="$secs" 'BEGIN { exit !(s < 5) }' && [[ "$out" == *"storage $S is in use by another tollgate serve (pid $pid)"* ]]
  verdict "lock: a second serve on the same storage exits 1 at once: 'storage … is in use by another tollgate serve (pid $pid)'" $? \
    "command: tollgate serve --config lock2.yaml (port $(ops_port lock2), storage $S)" "got: exit $rc after $secs s; output: $(tail -c 400 "$OPS/lock2.out" | tr '\n' ' ')"
  req "$(ops_url lock2)/v2/"; expect "lock: … and its port is not listening" 000 "$RS"
  req "$U/v2/"; resp_is "lock: the first keeps serving" 200
  [ -f "$S/tmp/e2e-sentinel" ]
  verdict "lock: the first's tmp/ was not emptied" $? "got: tmp/: $(ls "$S/tmp" | tr '\n' ' ')"
  ops_term lock
  ops_start lock2 2>"$OPS/lock2.start.err"
  verdict "lock: after the first stops (SIGTERM), a serve on that storage starts" $? "$(tail -c 400 "$OPS/lock2.start.err")"
  ops_term lock2
}
