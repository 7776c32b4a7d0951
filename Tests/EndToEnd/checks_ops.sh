# checks_ops.sh — operational checks (crash); sourced by run.sh after checks_tenants.sh (it uses
# tgc and cli_got from checks_auth.sh). One function check_NAME per check.
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
