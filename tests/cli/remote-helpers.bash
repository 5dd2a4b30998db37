# Set-up shared by the fpga-remote suites: a server on a loopback port and a
# real sshd with keys made here. State (logs, pids, keys) goes to the test's
# directory, or the file's when called from setup_file.
R=$FPGA_BIN/fpga-remote

remote_state_dir() { echo "${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}"; }

# Starts `fpga-remote serve` with extra options; sets PORT and SPID (and
# SLOG, its stderr). Waits for its "listening on" line.
start_server() { # name [options...]
  local name=$1 T; shift
  T=$(remote_state_dir)
  SLOG=$T/$name.log
  : > "$SLOG"
  "$R" serve --listen 127.0.0.1:0 "$@" 2> "$SLOG" &
  SPID=$!
  echo "$SPID" >> "$T/servers"
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$SLOG" || true)
    [ -n "$PORT" ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$SLOG" >&2
  return 1
}

# Ends the servers and the sshd that start_server and start_sshd started.
stop_servers() {
  local T
  T=$(remote_state_dir)
  if [ -f "$T/servers" ]; then
    while read -r p; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done < "$T/servers"
    while read -r p; do wait "$p" 2>/dev/null || true; done < "$T/servers"
    rm -f "$T/servers"
  fi
  if [ -f "$T/sshd.pid" ]; then kill "$(cat "$T/sshd.pid")" 2>/dev/null || true; rm -f "$T/sshd.pid"; fi
}

# True when sshd can be started here (openssh-server, root).
sshd_possible() {
  command -v /usr/sbin/sshd >/dev/null && [ "$(id -u)" -eq 0 ]
}

# An sshd on a random loopback port with keys made here; an ssh_config whose
# host "testhost" reaches it; FPGA_REMOTE_SSH and FPGA_REMOTE_COMMAND set.
start_sshd() {
  command -v /usr/sbin/sshd >/dev/null || skip "no sshd (openssh-server)"
  [ "$(id -u)" -eq 0 ] || skip "sshd for a test needs root here (CI runs as root)"
  local T
  T=$(remote_state_dir)
  ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
  ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
  cp "$T/userkey.pub" "$T/authorized_keys"
  mkdir -p /run/sshd
  SSHPORT=$(( 20000 + RANDOM % 20000 ))
  cat > "$T/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $SSHPORT
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOC
  /usr/sbin/sshd -f "$T/sshd_config" -E "$T/sshd.log"
  for _ in $(seq 50); do [ -s "$T/sshd.pid" ] && break; sleep 0.05; done
  cat > "$T/ssh_config" <<EOC
Host testhost
  HostName 127.0.0.1
  Port $SSHPORT
  User $(id -un)
  IdentityFile $T/userkey
  IdentitiesOnly yes
  UserKnownHostsFile $T/known_hosts
  StrictHostKeyChecking accept-new
  LogLevel ERROR
  ControlMaster auto
  ControlPath $T/cm-%C
  ControlPersist 5
EOC
  export FPGA_REMOTE_SSH="ssh -F $T/ssh_config"
  export FPGA_REMOTE_COMMAND="$R"
}
