#!/usr/bin/env bats
# fpga-remote's command line: --help and --version, usage errors, empty
# option values, credentials never on a command line, files named by options
# checked before any work.

load ../helpers
load helpers

@test "--help and --version" {
  run "$R" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-remote"* ]]
  [[ "$output" == *"serve"* ]]
  run "$R" --version
  [[ "$output" == "fpga-remote (fpga-tools) "* ]]
  run "$R" serve --version
  [[ "$output" == "fpga-remote (fpga-tools) "* ]]
}

@test "usage errors: missing host, unknown tool, bad host, options not served" {
  run "$R"
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing HOST"* ]]
  run "$R" http://127.0.0.1:1 ls
  [ "$status" -eq 1 ]
  [[ "$output" == *"unknown TOOL 'ls'"* ]]
  run "$R" http://127.0.0.1 fpga-gzip x
  [ "$status" -eq 1 ]
  [[ "$output" == *"give the port"* ]]
  run "$R" '-oProxyCommand=x' fpga-gzip x
  [ "$status" -eq 1 ]
  run "$R" 'host;rm' fpga-gzip x
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a host name"* ]]
  run "$R" http://127.0.0.1:1 fpga-gzip --device cpu x
  [ "$status" -eq 1 ]
  [[ "$output" == *"--device is not served remotely: the server picks its devices itself"* ]]
  run "$R" http://127.0.0.1:1 fpga-gzip -z x
  [ "$status" -eq 1 ]
  [[ "$output" == *"gzip only"* ]]
}

# A file option given an empty value (--token-file="$UNSET") was silently
# no option at all: no token sent, the HOST operand used instead of --hosts.
@test "an empty value for an option is a usage error naming the option, not the option left out" {
  make_text f 10
  for opt in --hosts --token-file --cacert --cert --key --remote-command; do
    for form in "$opt=" "$opt ''"; do
      eval "run \"\$R\" $form http://127.0.0.1:1 fpga-gzip -c f"
      echo "$form: $status $output"
      [ "$status" -eq 1 ]
      [ "${lines[0]}" = "fpga-remote: option '$opt' needs a value" ]
      [[ "${lines[1]}" == "Try 'fpga-remote --help'"* ]]
    done
  done
  for opt in --token-file --models --tls-cert --listen; do
    run "$R" serve "$opt="
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "fpga-remote: option '$opt' needs a value" ]
  done
}

@test "credentials never on a command line: no --token option; the token is in no process's arguments" {
  echo 'tok-in-a-file' > tok
  make_text f 30
  run "$R" --token tok-in-a-file http://127.0.0.1:1 fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"unrecognized option '--token'"* ]]
  run "$R" serve --token tok-in-a-file
  [ "$status" -eq 1 ]
  FPGA_REMOTE_TEST_JOB_DELAY_MS=800 start_server s1 --token-file tok
  # While a request is in flight, neither process shows the token.
  "$R" --token-file tok http://127.0.0.1:$PORT fpga-gzip -c f > r.gz &
  cpid=$!
  for _ in $(seq 100); do curl -s -H 'Authorization: Bearer tok-in-a-file' "http://127.0.0.1:$PORT/metrics" | grep -q '^fpga_remote_busy_slots 1' && break; sleep 0.05; done
  ! tr '\0' ' ' < /proc/$cpid/cmdline | grep -q tok-in-a-file
  ! tr '\0' ' ' < /proc/$SPID/cmdline | grep -q tok-in-a-file
  wait "$cpid"
  "$OURS" -dc r.gz | cmp - f
}

@test "--cacert: a missing file, or one without certificates, is one line naming it before any work" {
  start_server s1
  make_text f 20
  run "$R" --cacert nope.pem https://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: nope.pem: No such file or directory" ]
  [ -e f ]
  [ ! -e f.gz ]
  echo 'not a certificate' > junk.pem
  run "$R" --cacert junk.pem https://127.0.0.1:$PORT fpga-gzip f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: junk.pem: "* ]]
  [[ "$output" != *"no host could do the work"* ]]
  [ -e f ]
  [ ! -e f.gz ]
  # No request reached the server.
  ! grep -q 'POST' "$SLOG"
}

@test "an unknown option gets the words of every other tool: unrecognized option, invalid option, the Try line" {
  # fpga-split's own messages are the model, its name replaced.
  for args in "--bogus" "--bogus=1" "-J" "--token=t"; do
    want=$("$FPGA_BIN/fpga-split" $args 2>&1 | sed 's/fpga-split/fpga-remote/g') || true
    run "$R" $args http://127.0.0.1:1 fpga-gzip f
    [ "$status" -eq 1 ]
    [ "$output" = "$want" ] || { echo "$args: $output, want $want"; false; }
    run "$R" serve $args
    [ "$status" -eq 1 ]
    [ "$output" = "$want" ] || { echo "serve $args: $output, want $want"; false; }
  done
  [[ "$want" == *"Try 'fpga-remote --help' for more information." ]]
  # -q and --quiet are options of fpga-remote itself (failover notices).
  run "$R" -q http://127.0.0.1:1 ls
  [[ "$output" == *"unknown TOOL 'ls'"* ]]
  run "$R" --quiet http://127.0.0.1:1 ls
  [[ "$output" == *"unknown TOOL 'ls'"* ]]
}
