# Shared set-up for the fpga-remote suites: servers on loopback ports chosen
# by the kernel, stopped by teardown, and input pairs for local/remote runs.
load helpers

R=$FPGA_BIN/fpga-remote

# Starts `fpga-remote serve` with extra options; sets PORT and SPID (and
# SLOG, its stderr). Waits for its "listening on" line.
start_server() { # name [options...]
  local name=$1; shift
  SLOG=$BATS_TEST_TMPDIR/$name.log
  : > "$SLOG"
  "$R" serve --listen 127.0.0.1:0 "$@" 2> "$SLOG" &
  SPID=$!
  echo "$SPID" >> "$BATS_TEST_TMPDIR/servers"
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$SLOG" || true)
    [ -n "$PORT" ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$SLOG" >&2
  return 1
}

# Ends every server start_server started in this test (from teardown).
stop_servers() {
  if [ -f "$BATS_TEST_TMPDIR/servers" ]; then
    while read -r p; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done < "$BATS_TEST_TMPDIR/servers"
    while read -r p; do wait "$p" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/servers"
  fi
}

# Two inputs with the same name and time in two directories: one for the
# local run, one for the remote run.
make_pair() { # name kib
  mkdir -p here there
  make_text "here/$1" "$2"
  touch -d '2021-03-04 05:06:07' "here/$1"
  cp -p "here/$1" "there/$1"
}

# The value of one metric line of the server on PORT: metric 'name{labels}'.
metric() { # name-with-labels
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
