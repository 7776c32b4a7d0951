# checks_user_import.sh — `tollgate user import FILE` / `user export` on the auth instance: files made
# by Apache's `htpasswd` (apache2-utils); all or nothing; imported users log in.

check_auth_import() {
  auth_up auth auth-import || return
  cli_need auth-import "tollgate user import" || return
  local U f rc
  U=$(tg_url auth) f="$WORK/import.htpasswd"
  rm -f "$f"
  htpasswd -c -B -C 5 -b "$f" imp-a imp-a-pw 2>/dev/null
  htpasswd -m -b "$f" imp-md5 md5-pw 2>/dev/null  # Apache MD5: not accepted
  htpasswd -B -C 5 -b "$f" imp-b imp-b-pw 2>/dev/null
  tgc auth user import "$f"; rc=$?
  expect "auth-import: a file with an MD5 line (htpasswd -m) → refused, exit 1" 1 "$rc" "command: $CLI" "$(cli_got $rc)"
  expect_match "auth-import: … naming its line (2) and user" 'htpasswd line 2 \(user imp-md5\): not a bcrypt hash' \
    "$(cat "$WORK/cli.err")" "command: $CLI"
  req -u imp-a:imp-a-pw "$U/v2/"
  expect "auth-import: … and nothing imported (imp-a → 401)" 401 "$RS" "$REQ" "$(got)"

  htpasswd -D "$f" imp-md5 2>/dev/null
  tgc auth user import "$f"; rc=$?
  expect "auth-import: the bcrypt file → imported, exit 0" 0 "$rc" "command: $CLI" "$(cli_got $rc)"
  expect_match "auth-import: … says what it added" '^imported 2 new user\(s\): imp-a imp-b' "$(cat "$WORK/cli.out")" \
    "command: $CLI"
  sleep 0.7  # the server reloads users at most every 500 ms
  req -u imp-a:imp-a-pw "$U/v2/"
  expect "auth-import: an imported user logs in (imp-a → 200)" 200 "$RS" "$REQ" "$(got)"
  req -u imp-b:imp-b-pw "$U/v2/"
  expect "auth-import: … the other one too (imp-b → 200)" 200 "$RS" "$REQ" "$(got)"
  req -u imp-b:wrong "$U/v2/"
  expect "auth-import: … with its own password only (wrong → 401)" 401 "$RS" "$REQ" "$(got)"

  tgc auth user import "$f"; rc=$?
  expect_match "auth-import: the same file again → refused (users exist), exit 1" '^1 .*imp-a\): user already exists' \
    "$rc $(cat "$WORK/cli.err")" "command: $CLI"
  tgc auth user export; rc=$?
  expect "auth-import: user export lists them with their hashes, exit 0" "0 $(grep '^imp-a:' "$f")" \
    "$rc $(grep '^imp-a:' "$WORK/cli.out")" "command: $CLI" "$(cli_got $rc)"
  tgc auth user del imp-a; tgc auth user del imp-b
  rm -f "$f"
}
