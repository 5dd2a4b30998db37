#!/usr/bin/env bats
# fpga-remote fpga-gzip against fpga-gzip, case by case: every row of the
# table below runs here (fpga-gzip ARGS) and through a server (fpga-remote
# HOST fpga-gzip ARGS) in two copies of the same directory of inputs, and
# must agree on the exit status, the bytes on standard output, standard
# error (the remote one's host prefix removed), and every file left (type,
# mode, links, size, bytes, and the time where the local tool kept one).
# Rows marked "refused:OPT" are what the remote path cannot do: it must exit
# 1 with a one-line error naming OPT before touching anything. One server
# (HTTP) for the file; the rows marked "ssh" run once more over a real sshd.

load ../helpers
load helpers

# group | fpga-gzip arguments | stdin (<FILE: the file; pipe:FILE: a pipe) | marks
CASES=$(cat <<'EOF'
compress | t1 | |
compress | -k t1 | | ssh
compress | -c t1 | |
compress | -1 -k t1 | |
compress | -9 -k t1 | |
compress | -11 -c t2 | |
compress | -12 -c t2 | |
compress | -b 16K -k t1 | | ssh
compress | -b 64 -c t1 | |
compress | --rsyncable -b 16K -k t1 | |
compress | -n -k t1 | |
compress | -N -k t1 | |
compress | -m -c t1 | |
compress | -S .xz -k t1 | |
compress | -S .xz -c t2 | |
compress | -v -k t1 | |
compress | -v -c t1 | |
compress | -q -k t1 | |
compress | -k t1 nosuch t2 | | ssh
compress | -k empty | |
compress | -c empty | |
compress | -c | <t1 |
compress | -v | <t1 |
compress | -cv - t2 | <t1 |
compress | | <t2 |
compress | | pipe:t1 |
compress | -c | pipe:empty |
compress | ex | |
compress | -q ex | |
compress | -f ex | |
compress | link | |
compress | -f -k link | |
compress | -c link | |
compress | hl | |
compress | -f -k hl | |
compress | suid | |
compress | -f suid | |
compress | -c suid | |
compress | fifo | |
compress | sticky | |
compress | dir | |
compress | g1.gz | |
compress | G1.GZ | |
compress | -f -k g1.gz | |
compress | ro/f | |
compress | -H -k t2 | |
compress | -U -c t2 | |
compress | -C note -c t2 | |
compress | -r dir | |
compress | -r -k -v dir | |
decompress | -r -d gdir | |
decompress | -r -t -v gdir | |
compress | -0 -k t2 | |
compress | -p 1 -c t1 | |
compress | -Y -k t2 | |
compress | -z -k t1 | | refused:-z
compress | --zl -k t1 | | refused:--zlib
compress | -kK t1 | | refused:-K
compress | --zip t1 | | refused:--zip
compress | --engine=zlib -c t1 | | refused:--engine
compress | --device=cpu -c t1 | | refused:--device
compress | --xclbin=x.xclbin -c t1 | | refused:--xclbin
compress | --list-devices | | refused:--list-devices
decompress | -d g1.gz | | ssh
decompress | -d -k g1.gz | |
decompress | -dc g1.gz | |
decompress | -dv g1.gz | |
decompress | -dcv g1.gz | |
decompress | -d gg.gz | |
decompress | -dc pg.gz | |
decompress | -d cat.gz | |
decompress | -dc pigzcat.gz | |
decompress | -d -N g1.gz | |
decompress | -d -N -f g1.gz | |
decompress | -dN named.gz | |
decompress | -d -n named.gz | |
decompress | -d -S .xz s1.xz | |
decompress | -d s1 | |
decompress | -d t1 | |
decompress | -d nosuch | |
decompress | -d nosuch.gz | |
decompress | -d ex2.gz | |
decompress | -df ex2.gz | |
decompress | -d -k g1.gz bad.gz gg.gz | | ssh
decompress | -d link.gz | |
decompress | -df link.gz | |
decompress | -d hl.gz | |
decompress | -d empty.gz | |
decompress | -dc empty.gz | |
decompress | -dc empty | |
decompress | -d | <g1.gz |
decompress | -d | pipe:gg.gz |
decompress | -dc | pipe:t2 |
decompress | -dcf t2 | |
decompress | -dcf notgz.gz | |
decompress | -d nz.gz | |
decompress | -d sh.gz | |
decompress | -d ro/f.gz | |
decompress | @fpga-gunzip -k g1.gz | |
decompress | @fpga-zcat g1.gz gg.gz | |
decompress | @fpga-zcat -f t2 g1.gz | |
decompress | @fpga-zcat | pipe:g1.gz |
decompress | -d G2.GZ | |
decompress | -d FILE.Z | |
corrupt | -d bad.gz | | ssh
corrupt | -dc bad.gz | | ssh
corrupt | -t bad.gz | |
corrupt | -d badg.gz | |
corrupt | -dc badg.gz | |
corrupt | -t badg.gz | |
corrupt | -dc badhdr.gz | |
corrupt | -dc badcrc.gz | |
corrupt | -dc trunc.gz | |
corrupt | -d trunc.gz | |
corrupt | -t trunc.gz | |
corrupt | -dc truncm.gz | |
corrupt | -t truncm.gz | |
corrupt | -dc truncg.gz | |
corrupt | -t truncg.gz | |
corrupt | -dc trail.gz | |
corrupt | -d trail.gz | |
corrupt | -t trail.gz | |
corrupt | -dcq trail.gz | |
corrupt | -dc zpad.gz | |
corrupt | -t zpad.gz | |
corrupt | -dc one.gz | |
corrupt | -dc | pipe:bad.gz |
corrupt | -dc g1.gz bad.gz gg.gz | |
corrupt | -dc trunc.gz badcrc.gz g1.gz | |
corrupt | -t notgz.gz | |
corrupt | -tf t2 | |
corrupt | -tv g1.gz trail.gz bad.gz gg.gz | |
corrupt | -t link.gz | |
corrupt | -tv | <g1.gz |
corrupt | -t link | |
corrupt | -dcf trail.gz | |
list | -l g1.gz | |
list | --list -v g1.gz gg.gz | |
list | -dlv g1.gz cat.gz pigzcat.gz | |
list | -l -N named.gz | |
list | -lv lzw.Z p.z z.zip z2.zip z.zz | |
list | -l bad.gz badg.gz trunc.gz truncm.gz | |
list | -l zpad.gz trail.gz one.gz | |
list | -lq g1.gz gg.gz | |
list | -l empty.gz empty | |
list | -l | <g1.gz |
list | -r -l gdir | |
list | -l /dev/null | |
list | -l link.gz | |
formats | -dc lzw.Z | |
formats | -d lzw.Z | |
formats | -t lzw.Z | |
formats | -dc p.z | |
formats | -d p.z | |
formats | -dc z.zip | |
formats | -d -S .zip z.zip | |
formats | -dc z2.zip | |
formats | -d -S .zip z2.zip | |
formats | -dc z.zz | |
formats | -dc | pipe:z.zz |
formats | -d -S .zz z.zz | |
formats | -dz z.zz | |
formats | -dK z.zip | |
formats | -dKc z2.zip | |
formats | -d a.tgz | |
formats | -dc gzlzw.gz | |
formats | -dc badlzw.Z | |
EOF
)

# The inputs every row starts from (in $FX), with the time of 2021.
make_fixtures() {
  local fx=$1
  mkdir -p "$fx" && cd "$fx" || return 1
  make_text t1 48; make_text t2 16; : > empty
  printf 'plain text, not gzip\n' > notgz.gz
  # In no format, with an existing output: the format is the error.
  cp notgz.gz nz.gz; cp t2 nz; printf '\037' > sh.gz; cp t2 sh
  "$OURS" -c -b 8K t1 > g1.gz
  cp g1.gz G1.GZ; cp g1.gz G2.GZ; cp g1.gz s1.xz; cp g1.gz a.tgz
  gzip -c t1 > gg.gz
  pigz -c -b 32 t1 > pg.gz
  { pigz -c t2; pigz -c t1; } > pigzcat.gz
  cat g1.gz gg.gz > cat.gz
  cp t2 fresh; "$OURS" -c fresh > named.gz; rm fresh
  "$OURS" -c empty > empty.gz
  # Damage: a byte of deflate data, a header, a CRC; cuts inside a member,
  # at a member boundary (no end marker), and of a foreign stream.
  local n
  flip() { # file offset
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\x$(printf %02x $(( b ^ 0x55 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
  }
  n=$(stat -c %s g1.gz)
  cp g1.gz bad.gz; flip bad.gz $(( n / 2 ))
  cp g1.gz badhdr.gz; flip badhdr.gz 3
  cp g1.gz badcrc.gz; flip badcrc.gz $(( n - 45 ))
  head -c $(( n / 2 + 7 )) g1.gz > trunc.gz
  head -c $(( n - 36 )) g1.gz > truncm.gz
  cp gg.gz badg.gz; flip badg.gz $(( $(stat -c %s gg.gz) / 2 ))
  head -c $(( $(stat -c %s gg.gz) / 2 )) gg.gz > truncg.gz
  { cat g1.gz; printf 'garbage after the members'; } > trail.gz
  { cat g1.gz; head -c 1000 /dev/zero; } > zpad.gz
  { cat g1.gz; printf 'x'; } > one.gz
  # The other formats fpga-gzip reads.
  compress -c t2 > lzw.Z
  cp lzw.Z FILE.Z
  { cat lzw.Z; } > badlzw.Z; printf '\xff\xff\xff' | dd of=badlzw.Z bs=1 seek=40 conv=notrunc 2>/dev/null
  { gzip -c t2; cat lzw.Z; } > gzlzw.gz
  python3 "$FIXTURES/pack.py" < t2 > p.z
  zip -q z.zip t2
  zip -q z2.zip t2 empty
  pigz -z -c t2 > z.zz
  # File rules: links, set-user-ID, sticky, a FIFO, a directory, existing
  # outputs, a directory nobody may write to (immutable for root).
  ln -s t1 link; ln -s g1.gz link.gz
  cp t2 hl; ln hl hl2; cp g1.gz hl.gz; ln hl.gz hl2.gz
  cp t2 suid; chmod 4755 suid
  cp t2 sticky; chmod 1644 sticky
  mkfifo fifo
  mkdir dir; cp t2 dir/a; cp t2 dir/b
  mkdir -p gdir/sub; cp g1.gz gdir/a.gz; cp t2 gdir/c; cp gg.gz gdir/sub/d.gz; cp bad.gz gdir/sub/e.gz
  cp t2 ex; cp g1.gz ex.gz
  cp g1.gz ex2.gz; cp t2 ex2
  mkdir ro; cp t2 ro/f; cp g1.gz ro/f.gz
  find . -exec touch -h -d '2021-03-04 05:06:07' {} +
}

setup_file() {
  # Every row copies the inputs twice: on tmpfs where there is one (20 times
  # faster than a loaded disk), else beside the test.
  SHM=$BATS_FILE_TMPDIR
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then SHM=$(mktemp -d /dev/shm/remote-parity.XXXXXX); fi
  FX=$SHM/fx
  make_fixtures "$FX"
  cd "$BATS_FILE_TMPDIR"
  start_server parity
  export SHM FX PORT SPID
}

teardown_file() {
  remote_teardown
  case $SHM in /dev/shm/remote-parity.*) rm -rf "$SHM" ;; esac
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  remote_teardown
  for d in "$BATS_TEST_TMPDIR"/c*/[LR]/ro; do [ -d "$d" ] && chattr -i "$d" 2>/dev/null; done
  rm -rf "$SHM/$BATS_TEST_NUMBER".c*
}

# A directory nobody may write to: immutable, since root ignores modes.
protect() { # dir...
  chmod a-w "$@"
  [ "$UID" -ne 0 ] || chattr +i "$@" 2>/dev/null || true
}

# Runs a command in DIR with the row's standard input, bounded in time.
invoke() { # dir stdin cmd...
  local dir=$1 in=$2
  shift 2
  cd "$dir" || return 99
  case $in in
    '') timeout 20 "$@" < /dev/null ;;
    '<'*) timeout 20 "$@" < "${in#<}" ;;
    'pipe:'*) cat "${in#pipe:}" | timeout 20 "$@" ;;
  esac
}

# What a directory holds: per entry its type, mode, links, size, symlink
# target, and time unless the run made it just now; and every file's bytes.
snapshot() { # dir
  (cd "$1" && find . -mindepth 1 -printf '%y %m %n %s %Ts %p %l\n' \( -type f -exec md5sum {} + \) |
    awk -v start="$START" 'NF >= 6 { if ($5 >= start) $5 = "new"; if ($1 == "d") { $4 = "-"; $5 = "-" } } { print }' |
    LC_ALL=C sort)
}

# The remote messages, as the local tool's: program name and host removed.
# Read in this shell into NORM (a sed a side, in process substitutions,
# cost more than many rows' own runs).
normalise() { # file host
  local line
  NORM=""
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      "fpga-remote: $2: "*) line="PROG: ${line#"fpga-remote: $2: "}" ;;
      "fpga-remote: "*) line="PROG: ${line#fpga-remote: }" ;;
      "fpga-gzip: "* | "fpga-gunzip: "* | "fpga-zcat: "*) line="PROG: ${line#*: }" ;;
    esac
    NORM+=$line$'\n'
  done < "$1"
}

# The trees L and R of the current directory (a row's): what differs
# (snapshot's lines, each after the side it is in), nothing when they
# agree. One find over both and one sort, not a snapshot and its five
# processes a side.
trees_differ() {
  find L R -mindepth 1 -printf '%y %m %n %s %Ts %p %l\n' \( -type f -exec md5sum {} + \) |
    awk -v start="$START" '
      NF >= 6 { if ($5 >= start) $5 = "new"; if ($1 == "d") { $4 = "-"; $5 = "-" }
                side = substr($6, 1, 1); $6 = "./" substr($6, 3); print side, $0; next }
      { side = substr($2, 1, 1); sub(/^[LR]\//, "./", $2); print side, $0 }' |
    LC_ALL=C sort -k2 | uniq -u -f1
}

# Runs one row locally and through HOST; prints what differs; false then.
check_case() { # host args stdin marks
  local host=$1 args=$2 in=$3 marks=$4 d lrc rrc bad=0
  CASE_N=$(( ${CASE_N:-0} + 1 ))
  # (The unwritable directory needs a disk: tmpfs has no immutable flag,
  # and root ignores modes.)
  d=$SHM/$BATS_TEST_NUMBER.c$CASE_N
  [[ "$args" != *ro/* ]] || d=$BATS_TEST_TMPDIR/c$CASE_N
  mkdir -p "$d"
  cp -a "$FX" "$d/L"
  cp -a "$FX" "$d/R"
  # (ro/ is made unwritable for the rows that name it; no other row goes in.)
  [[ "$args" != *ro/* ]] || protect "$d/L/ro" "$d/R/ro"
  START=${EPOCHSECONDS:-$(date +%s)}
  [[ "$marks" != *refused:* ]] || snapshot "$d/R" > "$d/before"
  # "@fpga-zcat ARGS": the tool by that name (fpga-gunzip, fpga-zcat).
  local tool=fpga-gzip
  if [[ "$args" == @* ]]; then tool=${args%% *}; args=${args#"$tool"}; tool=${tool#@}; fi
  # shellcheck disable=SC2086
  (invoke "$d/L" "$in" "$FPGA_BIN/$tool" $args) > "$d/l.out" 2> "$d/l.err" && lrc=0 || lrc=$?
  # shellcheck disable=SC2086
  (invoke "$d/R" "$in" "$R" --chunk 8K "$host" "$tool" $args) > "$d/r.out" 2> "$d/r.err" && rrc=0 || rrc=$?
  [[ "$args" != *ro/* ]] || chattr -i "$d/L/ro" "$d/R/ro" 2>/dev/null || true
  if [[ "$marks" == *refused:* ]]; then
    local opt=${marks#*refused:}
    opt=${opt%% *}
    if [ "$rrc" -ne 1 ] || [ -s "$d/r.out" ] || ! head -1 "$d/r.err" | grep -q -- "^fpga-remote: .*$opt" ||
       [ "$(grep -vc '^Try ' "$d/r.err")" -ne 1 ] || [ "$(snapshot "$d/R")" != "$(cat "$d/before")" ]; then
      echo "== $args: not refused cleanly (status $rrc):"; cat "$d/r.err"
      return 1
    fi
    return 0
  fi
  if [ "$lrc" != "$rrc" ]; then echo "== $args [$in]: status: local $lrc, remote $rrc"; bad=1; fi
  if ! cmp -s "$d/l.out" "$d/r.out"; then
    echo "== $args [$in]: stdout differs: local $(stat -c %s "$d/l.out") bytes, remote $(stat -c %s "$d/r.out")"
    bad=1
  fi
  # (Both empty: nothing to normalise.)
  if [ -s "$d/l.err" ] || [ -s "$d/r.err" ]; then
    local lnorm
    normalise "$d/l.err" ""; lnorm=$NORM
    normalise "$d/r.err" "$host"
    if [ "$lnorm" != "$NORM" ]; then
      echo "== $args [$in]: stderr differs:"; diff <(printf %s "$lnorm") <(printf %s "$NORM") || true; bad=1
    fi
  fi
  local differ
  differ=$(cd "$d" && trees_differ)
  if [ -n "$differ" ]; then
    echo "== $args [$in]: files differ:"; echo "$differ"; bad=1
  fi
  [ "$bad" -eq 0 ] && rm -rf "$d"
  return "$bad"
}

# Runs the rows of GROUP (or, with "ssh", the rows marked ssh) through HOST.
run_rows() { # host group|ssh
  local host=$1 want=$2 group args in marks failed=0 rows=0
  while IFS='|' read -r group args in marks; do
    trim group args in marks
    if [ "$want" = ssh ]; then [[ "$marks" == *ssh* ]] || continue
    else [ "$group" = "$want" ] || continue; fi
    rows=$((rows + 1))
    local t0=$EPOCHREALTIME
    check_case "$host" "$args" "$in" "$marks" || failed=$((failed + 1))
    [ -z "${PARITY_TIMES:-}" ] || echo "$args: $(echo "$EPOCHREALTIME - $t0" | bc) s" >&3
  done <<< "$CASES"
  echo "$rows rows, $failed differ"
  [ "$rows" -gt 0 ] && [ "$failed" -eq 0 ]
}

@test "compress: every row as fpga-gzip (status, stdout, stderr, files, times)" {
  run_rows "http://127.0.0.1:$PORT" compress
}

@test "decompress and test: every row as fpga-gzip" {
  run_rows "http://127.0.0.1:$PORT" decompress
}

@test "corrupt, cut and padded input: the same status, message and salvaged output as fpga-gzip" {
  run_rows "http://127.0.0.1:$PORT" corrupt
}

@test "compress (.Z), pack, zip and zlib input: decoded remotely as fpga-gzip decodes it" {
  run_rows "http://127.0.0.1:$PORT" formats
}

@test "-l: the same table, sizes and CRC-32 as fpga-gzip -l" {
  run_rows "http://127.0.0.1:$PORT" list
}

@test "over SSH: the rows marked ssh, through a real sshd" {
  sshd_possible || skip "sshd for a test needs root and openssh-server"
  start_sshd
  run_rows testhost ssh
}

# ---- What a run leaves when it is stopped: nothing but its inputs ---------

# Starts the client in the background on a slow server and waits until a
# request is in flight; sets CPID.
start_slow_client() { # args...
  # (A background job of a script starts with SIGINT ignored: undo that.)
  env --default-signal=INT "$R" --jobs 1 --chunk "${CHUNK:-64K}" "http://127.0.0.1:$PORT" fpga-gzip "$@" 2> "$BATS_TEST_TMPDIR/client.err" &
  CPID=$!
  for _ in $(seq 200); do grep -q 'POST /v1/gzip/' "$SLOG" && return 0; sleep 0.05; done
  return 1
}

@test "no partial output: SIGINT and SIGTERM of the client, a server killed mid-transfer" {
  # Every job holds its slot 300 ms: a 640 KiB file in 64 KiB requests
  # takes about 3 s, so each signal lands mid-run.
  FPGA_REMOTE_TEST_JOB_DELAY_MS=300 start_server slow --slots 1
  mkdir w && cd w
  make_text big 640
  touch -d '2021-03-04 05:06:07' big
  "$OURS" -k -b 64K big
  cp -p big big.orig
  mv big.gz big.want.gz
  for sig in INT TERM; do
    sleep 0.4
    : > "$SLOG"
    start_slow_client -b 64K big
    kill -$sig "$CPID"
    rc=0; wait "$CPID" || rc=$?
    [ "$rc" -eq $(( 128 + $(kill -l $sig) )) ]
    [ "$(ls -A | LC_ALL=C sort | tr '\n' ' ')" = "big big.orig big.want.gz " ]
    cmp big big.orig
    # Decompressing to a file, the same.
    sleep 0.4  # (the request of the killed client ends and is logged)
    : > "$SLOG"
    mkdir d
    cp -p big.want.gz d/big.gz
    (cd d && CHUNK=1K start_slow_client -d big.gz && echo "$CPID" > ../cpid)
    kill -$sig "$(cat cpid)"
    for _ in $(seq 100); do kill -0 "$(cat cpid)" 2>/dev/null || break; sleep 0.05; done
    [ "$(ls -A d)" = big.gz ]
    cmp d/big.gz big.want.gz
    rm -r d cpid
  done
  # The only server killed with a request in flight: exit 1, one message
  # naming the host, the input kept, no output.
  : > "$SLOG"
  start_slow_client -b 64K big
  kill -9 "$SPID"
  rc=0; wait "$CPID" || rc=$?
  [ "$rc" -eq 1 ]
  grep -q "no host could do the work; tried http://127.0.0.1:$PORT (" "$BATS_TEST_TMPDIR/client.err"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/client.err")" -eq 1 ]
  [ "$(ls -A | LC_ALL=C sort | tr '\n' ' ')" = "big big.orig big.want.gz " ]
  cmp big big.orig
}

@test "--progress: a progress line on standard error, as fpga-gzip draws it; output unchanged" {
  FPGA_REMOTE_TEST_JOB_DELAY_MS=150 start_server slow --slots 1
  mkdir w && cd w
  make_text big 640
  "$OURS" -c -b 64K big > want.gz
  "$R" --jobs 1 --chunk 64K "http://127.0.0.1:$PORT" fpga-gzip --progress -b 64K -c big > got.gz 2> err
  cmp want.gz got.gz
  # "big: 128.0 KiB of 640.0 KiB ( 20%), ... /s, 0:01 left", redrawn with
  # \r, and cleared at the end.
  grep -aq $'\rbig: [0-9.]* KiB of 640.0 KiB ( *[0-9]*%), .*/s' err
  [ "$(tail -c 1 err)" = $'\r' ]
  # -d too; never with -q's silence of -v alone, never without a terminal.
  "$R" --jobs 1 --chunk 64K "http://127.0.0.1:$PORT" fpga-gzip --progress -dc want.gz 2> err | cmp - big
  grep -aq $'\rwant.gz: ' err
  # (Four requests in flight, not one: ten jobs of 150 ms each one after
  # the other are 1.5 s of waiting that -v's line does not need.)
  "$R" --chunk 64K "http://127.0.0.1:$PORT" fpga-gzip -v -c big 2> err > /dev/null
  [ "$(cat err)" = "big:	$("$OURS" -v -c big 2>&1 >/dev/null | cut -f2)" ]
}
