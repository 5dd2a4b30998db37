#!/usr/bin/env bats
# Tokens: 401 for a missing or wrong one, token files (newlines, empty,
# unreadable), and a server that refuses a non-loopback address without one.

load ../helpers
load helpers

@test "token: missing and wrong tokens get 401; the right one works; never on the command line" {
  echo 's3cret-token' > tok
  echo 'wrong' > bad
  start_server s1 --token-file tok
  make_text f 50
  run curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 401 ]
  run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' -X POST --data-binary @f "http://127.0.0.1:$PORT/v1/gzip/compress"
  [ "$output" = 401 ]
  run curl -s -w '%{http_code}' "http://127.0.0.1:$PORT/metrics"
  [[ "$output" == *401 ]]
  run "$R" http://127.0.0.1:$PORT fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"token is required"* ]]
  run "$R" --token-file bad http://127.0.0.1:$PORT fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"wrong token"* ]]
  "$R" --token-file tok http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
  FPGA_REMOTE_TOKEN=s3cret-token "$R" http://127.0.0.1:$PORT fpga-gzip -c f | "$OURS" -dc | cmp - f
  # Health stays open (load balancers), and says nothing secret.
  run curl -sf "http://127.0.0.1:$PORT/v1/health"
  [[ "$output" == *'"ready":true'* ]]
}

@test "token files: a trailing newline or CRLF is not part of the token; an empty file is an error" {
  echo tok > t
  start_server s1 --token-file t
  make_text f 30
  "$OURS" -c f > want.gz
  printf 'tok' > t1; printf 'tok\n' > t2; printf 'tok\r\n' > t3; printf 'tok\nsecond line\n' > t4
  for t in t1 t2 t3 t4; do
    "$R" --token-file $t http://127.0.0.1:$PORT fpga-gzip -c f | cmp - want.gz
  done
  : > empty; printf '\n' > blank
  for t in empty blank; do
    run "$R" --token-file $t http://127.0.0.1:$PORT fpga-gzip -c f
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: $t: the token file is empty" ]
  done
  run "$R" serve --token-file empty
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: empty: the token file is empty" ]
}

# As root every file is readable: the test runs the client and the server
# as nobody (what the unit's DynamicUser is) against a root-only file.
@test "a token file the user cannot read is one line naming it, client and server, nothing sent" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
  command -v setpriv >/dev/null || skip "no setpriv"
  d=$(mktemp -d /tmp/fr-audit.XXXXXX)
  cp "$R" "$d/fpga-remote"
  chmod 755 "$d" "$d/fpga-remote"
  echo tok > "$d/tok"
  chmod 600 "$d/tok"
  echo data > "$d/in"
  chmod 644 "$d/in"
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  run as_nobody "$d/fpga-remote" serve --listen 127.0.0.1:0 --token-file "$d/tok"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $d/tok: Permission denied" ]
  run as_nobody "$d/fpga-remote" --token-file "$d/tok" http://127.0.0.1:1 fpga-gzip -c "$d/in"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $d/tok: Permission denied" ]
  rm -rf "$d"
}

@test "serve refuses a non-loopback address without a token" {
  run "$R" serve --listen 0.0.0.0:0
  [ "$status" -eq 1 ]
  [[ "$output" == *"without a token"* ]]
  run "$R" serve --listen nonsense
  [ "$status" -eq 1 ]
  run "$R" serve --bogus
  [ "$status" -eq 1 ]
  [[ "$output" == *"unrecognized option '--bogus'"* ]]
  # A port in use and a bad certificate: one line each.
  start_server s1
  run "$R" serve --listen 127.0.0.1:$PORT
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: cannot listen on 127.0.0.1:$PORT: Address already in use" ]
  echo junk > bad.pem
  run "$R" serve --listen 127.0.0.1:0 --tls-cert bad.pem --tls-key bad.pem
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert missing.pem --tls-key bad.pem
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: missing.pem: "* ]]
}

@test "a missing or wrong token: the client says how to give one (--token-file, FPGA_REMOTE_TOKEN), for gzip and infer" {
  echo 's3cret-token' > tok
  echo 'wrong' > bad
  start_server s1 --token-file tok
  H=http://127.0.0.1:$PORT
  make_text f 50
  unset FPGA_REMOTE_TOKEN
  run "$R" "$H" fpga-gzip -c f
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: f: a token is required (Authorization: Bearer): give it with --token-file FILE or FPGA_REMOTE_TOKEN" ]
  run "$R" "$H" fpga-infer -q /dev/null
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: a token is required (Authorization: Bearer): give it with --token-file FILE or FPGA_REMOTE_TOKEN" ]
  run "$R" --token-file bad "$H" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: f: wrong token: the token of --token-file bad is not this server's" ]
  run env FPGA_REMOTE_TOKEN=wrong "$R" "$H" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $H: f: wrong token: the token of FPGA_REMOTE_TOKEN is not this server's" ]
  # A 401 is not a host that is down: not tried again, not sent on.
  [ "$(grep -c ' 401 ' "$SLOG")" -eq 4 ]
}
