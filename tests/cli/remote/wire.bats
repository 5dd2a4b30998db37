#!/usr/bin/env bats
# The wire stays as it was (docs/PROTOCOL.md): the requests this client
# sends and the answers this server gives are byte for byte the ones
# recorded in tests/cli/fixtures/wire (recorded with the release before the
# protocol's one encoder and decoder, remote_protocol.hpp, replaced the
# two ends' own codings), over the stdio framing; and, given the tools of an
# older build in FPGA_OLD_BIN (its fpga-remote, fpga-gzip), an old client
# against this server and this client against an old server, over SSH and
# HTTP, give those bytes and a local run's files. Recording:
# tests/cli/fixtures/wire-record.sh. A release that changes the version in
# /v1/health records the fixture again (the health answer names it).

load ../helpers
load helpers

WIRE=$FIXTURES/wire
RECORD=$FIXTURES/wire-record.sh

# The recorded gzip cases, as NAME.req and NAME.ans beside one another.
wire_cases() { (cd "$WIRE" && ls ./*.req | sed 's|^\./||; s|\.req$||'); }

# Every stream of DIR is the recorded one (and every recorded one is there).
same_as_recorded() { # dir
  local n bad=0
  for n in $(wire_cases); do
    for s in req ans; do
      if ! cmp "$WIRE/$n.$s" "$1/$n.$s"; then
        echo "$n.$s differs from the recording" >&2
        bad=1
      fi
    done
  done
  [ "$bad" -eq 0 ]
}

@test "the wire is the recorded one: this client's requests and this server's answers, byte for byte, for every gzip job" {
  [ "$(wire_cases | wc -l)" -ge 10 ]
  "$RECORD" new "$R" "$R"
  same_as_recorded new
  # The cases are what they say: a salvage, a foreign stream, an error.
  grep -aq '^POST /v1/gzip/decompress?salvage=1 ' "$WIRE/salvage.req"
  grep -aq '^422 [0-9]* application/json; salvage=' "$WIRE/salvage.ans"
  grep -aq '^POST /v1/gzip/compress?block=4096&comment=note&end=0&level=9&mtime=1614834367&name=t&rsyncable=1 ' "$WIRE/compress-options.req"
  grep -aq '"damage":6' "$WIRE/not-gzip.ans"
  grep -aq '^POST /v1/gzip/test?list=1 ' "$WIRE/list.req"
}

need_old() {
  [ -n "${FPGA_OLD_BIN:-}" ] || skip "FPGA_OLD_BIN (the tools of an older build) is not set"
  [ -x "$FPGA_OLD_BIN/fpga-remote" ] || skip "no fpga-remote in FPGA_OLD_BIN=$FPGA_OLD_BIN"
}

@test "an old client against this server, and this client against an old server (FPGA_OLD_BIN): the recorded bytes, over SSH" {
  need_old
  "$RECORD" old-client "$FPGA_OLD_BIN/fpga-remote" "$R"
  same_as_recorded old-client
  "$RECORD" old-server "$R" "$FPGA_OLD_BIN/fpga-remote"
  same_as_recorded old-server
}

@test "fpga-infer's requests and answers across builds (FPGA_OLD_BIN): old and new, both ways, the same bytes" {
  need_old
  need_numpy
  "$RECORD" old "$FPGA_OLD_BIN/fpga-remote" "$FPGA_OLD_BIN/fpga-remote" infer
  for pair in "old-client $FPGA_OLD_BIN/fpga-remote $R" "old-server $R $FPGA_OLD_BIN/fpga-remote" "new $R $R"; do
    set -- $pair
    "$RECORD" "$1" "$2" "$3" infer
    cmp old/infer.req "$1/infer.req"
    cmp old/infer.ans "$1/infer.ans"
  done
  grep -aq '^POST /v1/infer?crc=[0-9a-f]\{8\}&model=conv&scores=1 ' old/infer.req
}

@test "an old client against this HTTP server, and this client against an old one (FPGA_OLD_BIN): a local run's files and output" {
  need_old
  make_pair big.log 700
  "$OURS" -k -b 64K here/big.log
  "$OURS" -c -b 64K here/big.log > want.gz
  for way in old-client old-server; do
    if [ "$way" = old-client ]; then
      client=$FPGA_OLD_BIN/fpga-remote server=$R
    else
      client=$R server=$FPGA_OLD_BIN/fpga-remote
    fi
    R=$server start_server "$way" --device cpu
    rm -rf there && mkdir there && cp -p here/big.log there/
    (cd there && "$client" --chunk 128K "http://127.0.0.1:$PORT" fpga-gzip -k -b 64K big.log)
    cmp here/big.log.gz there/big.log.gz
    "$client" --chunk 128K "http://127.0.0.1:$PORT" fpga-gzip -dc want.gz | cmp - here/big.log
    run "$client" "http://127.0.0.1:$PORT" fpga-gzip -lv want.gz
    [ "$status" -eq 0 ]
    [ "$output" = "$("$OURS" -lv want.gz)" ]
    printf 'not gzip\n' > plain
    run "$client" "http://127.0.0.1:$PORT" fpga-gzip -dc plain
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: http://127.0.0.1:$PORT: plain: not in gzip format" ]
  done
}
