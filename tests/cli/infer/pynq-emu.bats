#!/usr/bin/env bats
# fpga-infer pynq-emu: the emulated Pynq-Z1 board with the BNN-PYNQ overlay
# (docs/PYNQ-EMULATION.md) as a foreground command: its usage errors, the
# file it writes, what it refuses to replace, stopping on SIGTERM and
# SIGINT, and runs from a small driver of the test's own that polls and
# never calls FUTEX_WAKE (the emulator still answers). The emulator's
# arithmetic and faults are tested in tests/unit/pynq_emu_test.cpp.

load ../helpers

EMU_PIDS=()

teardown() {
  local p
  for p in "${EMU_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${EMU_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  tmpfs_cleanup
}

# Starts the emulator in the background (stderr to emu.err) and waits (up
# to 30 s, polling) until its file says serving.
start_emu() { # args...
  "$INFER" pynq-emu "$@" 2> emu.err &
  EMU_PID=$!
  EMU_PIDS+=("$EMU_PID")
  local file=${*: -1} _
  for _ in $(seq 1 300); do
    [ "$(state_of "$file")" = 1 ] && return 0
    kill -0 "$EMU_PID" 2>/dev/null || { cat emu.err; return 1; }
    sleep 0.1
  done
  false
}

u32_at() { od -A n -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u64_at() { od -A n -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
state_of() { [ -s "$1" ] && u32_at "$1" 20; }
# Waits for the emulator started last and checks it exited 0.
stop_status() { # pid
  local st=0
  wait "$1" || st=$?
  [ "$st" -eq 0 ] || { echo "exit status $st"; cat emu.err; false; }
}

# One accelerator run from the contract alone: the argument registers,
# control = 1, then polling control for ap_done (or a fault), 20 s at most.
# Prints "done RUNS", "refused FAULT TEXT" or "timeout".
drive() { # file compute|word [in_off out_off n | layer pe line value]
  "$PY" - "$@" <<'EOF'
import mmap, struct, sys, time
path, kind = sys.argv[1], sys.argv[2]
args = [int(a, 0) for a in sys.argv[3:]]
f = open(path, "r+b")
m = mmap.mmap(f.fileno(), 0)
regs, pool_phys = struct.unpack_from("<Q", m, 24)[0], struct.unpack_from("<Q", m, 64)[0]
def put(off, v): struct.pack_into("<I", m, regs + off, v & 0xFFFFFFFF)
def get(off): return struct.unpack_from("<I", m, regs + off)[0]
if kind == "compute":
    put(0x28, 0)
    i, o = pool_phys + args[0], pool_phys + args[1]
    put(0x10, i); put(0x14, i >> 32); put(0x1C, o); put(0x20, o >> 32); put(0x5C, args[2])
else:
    put(0x28, 1); put(0x30, args[0]); put(0x38, args[1]); put(0x40, args[2]); put(0x48, 0)
    put(0x50, args[3]); put(0x54, args[3] >> 32)
put(0x00, 1)
end = time.time() + 20
while time.time() < end:
    c = get(0x00)
    if c & 2:
        print("done", struct.unpack_from("<I", m, 108)[0]); break
    fault = struct.unpack_from("<I", m, 112)[0]
    if not c & 1 and fault:
        print("refused", fault, m[120:376].split(b"\0")[0].decode()); break
    time.sleep(0.001)
else:
    print("timeout")
EOF
}

@test "pynq-emu: usage errors are one line and the Try line, exit 1" {
  run "$INFER" pynq-emu
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "fpga-infer: pynq-emu needs FILE" ]
  [ "${lines[1]}" = "Try 'fpga-infer --help' for more information." ]
  run "$INFER" pynq-emu a b
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: pynq-emu serves one FILE" ]
  run "$INFER" pynq-emu --overlay bnnW9 f
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: pynq-emu: unknown overlay 'bnnW9' (cnvW1A1, lfcW1A1)" ]
  run "$INFER" pynq-emu --fault lost-done=0 f
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: pynq-emu: --fault lost-done=0: lost-done needs a number from 1 (lost-done=N)" ]
  run "$INFER" pynq-emu --fault late=1 f
  [ "$status" -eq 1 ] && [[ "${lines[0]}" == "fpga-infer: pynq-emu: --fault 'late=1': unknown fault (lost-done=N, "* ]]
  run "$INFER" pynq-emu --fault refuse=1 --fault refuse=2 f
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: pynq-emu: --fault refuse=2: refuse is given twice" ]
  run "$INFER" pynq-emu --pool-mib 0 f
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: invalid MiB of pool '0'" ]
  run "$INFER" pynq-emu --scores f
  [ "$status" -eq 1 ] && [ "${lines[0]}" = "fpga-infer: unrecognized option '--scores'" ]
  [ ! -e f ]
}

@test "pynq-emu --help names the faults, fits 80 columns, and its options are documented" {
  run "$INFER" pynq-emu --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"Usage: fpga-infer pynq-emu [OPTION]... FILE"* ]]
  for f in lost-done wrong-score short-output flip-bit refuse; do [[ "$output" == *"  $f="* ]]; done
  [ -z "$(awk 'length($0) > 80' <<< "$output")" ]
  local o missing=""
  for o in $(grep -o -- '--[a-z][a-z-]*' <<< "$output" | sort -u); do
    grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$FPGA_SOURCE_DIR/man/fpga-infer.1" || missing="$missing man:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/bash/fpga-infer" || missing="$missing bash:$o"
    grep -q -- "$o\\b" "$FPGA_SOURCE_DIR/completions/zsh/_fpga-infer" || missing="$missing zsh:$o"
    grep -q -- "-l ${o#--}\\b" "$FPGA_SOURCE_DIR/completions/fish/fpga-infer.fish" || missing="$missing fish:$o"
  done
  [ -z "$missing" ] || { echo "missing:$missing"; false; }
  for f in lost-done wrong-score short-output flip-bit refuse; do
    grep -qF ".B ${f//-/\\-}=" "$FPGA_SOURCE_DIR/man/fpga-infer.1" || { echo "man: $f"; false; }
  done
}

@test "pynq-emu: the file's header, and SIGTERM sets state stopped and exits 0" {
  start_emu --pool-mib 3 board
  [ "$(head -c 15 board)" = FPGAIO-PYNQ-EMU ]
  [ "$(u32_at board 16)" = 1 ]                                    # version
  [ "$(u64_at board 24)" = 4096 ] && [ "$(u64_at board 32)" = 65536 ]
  [ "$(u64_at board 40)" = $((0x43C00000)) ]
  [ "$(u64_at board 48)" = 69632 ] && [ "$(u64_at board 56)" = $((3 << 20)) ]
  [ "$(u64_at board 64)" = $((0x18000000)) ]
  [ "$(dd if=board bs=1 skip=72 count=7 2>/dev/null)" = cnvW1A1 ]
  [ "$(u32_at board 104)" = "$EMU_PID" ]
  [ "$(stat -c %s board)" = $((69632 + (3 << 20))) ]
  grep -q "^fpga-infer: board: serving cnvW1A1 (pool 3 MiB at 0x18000000); SIGTERM or SIGINT stops$" emu.err
  kill -TERM "$EMU_PID"
  stop_status "$EMU_PID"
  [ "$(state_of board)" = 2 ]
  grep -q "^fpga-infer: board: stopped after 0 parameter words and 0 batches (0 images), 0 refused$" emu.err
}

@test "pynq-emu: SIGINT stops it too; -q says nothing; lfcW1A1 names its overlay" {
  start_emu -q --overlay lfcW1A1 board
  [ "$(dd if=board bs=1 skip=72 count=7 2>/dev/null)" = lfcW1A1 ]
  kill -INT "$EMU_PID"
  stop_status "$EMU_PID"
  [ "$(state_of board)" = 2 ]
  [ ! -s emu.err ]
}

@test "pynq-emu: runs from a driver that polls and never wakes it; faults from --fault" {
  start_emu --pool-mib 1 --fault refuse=2 board
  run drive board word 0 0 0 0x5
  [ "$output" = "done 1" ] || { echo "$output"; false; }
  run drive board compute 0 8192 1
  [ "$output" = "done 2" ] || { echo "$output"; false; }
  run drive board compute 0 8192 1
  [ "$output" = "refused 2 compute run 2: refused on purpose (--fault refuse=2)" ] || { echo "$output"; false; }
  run drive board compute 0 8192 2
  [ "$output" = "done 3" ] || { echo "$output"; false; }
  run drive board compute $((1 << 20)) 0 1
  [ "$output" = "refused 1 compute run 4: the input buffer (0x18100000, 1 image of 3072 bytes) is not wholly inside the pool (0x18000000, 1 MiB)" ] || { echo "$output"; false; }
  run drive board word 18 0 0 1
  [ "$output" = "refused 1 parameter word 2: targetLayer 18 is beyond cnvW1A1's 9 layers (0-17)" ] || { echo "$output"; false; }
  kill -TERM "$EMU_PID"
  stop_status "$EMU_PID"
  grep -q "stopped after 1 parameter word and 2 batches (3 images), 3 refused$" emu.err || { cat emu.err; false; }
}

@test "pynq-emu: an existing file that is not an emulator's is kept without -f, replaced with it" {
  echo "keep me" > notes
  run "$INFER" pynq-emu notes
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: notes: exists and is not an emulator's file; not overwritten (use -f)" ]
  [ "$(cat notes)" = "keep me" ]
  start_emu -f --pool-mib 1 notes
  [ "$(head -c 15 notes)" = FPGAIO-PYNQ-EMU ]
}

@test "pynq-emu: an emulator's file from before is reused; a served one, a directory or a link is refused" {
  start_emu --pool-mib 1 board
  local first=$EMU_PID
  run "$INFER" pynq-emu --pool-mib 2 board
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-infer: board: another emulator serves this file (process $first)" ]
  [ "$(u64_at board 56)" = $((1 << 20)) ]
  kill -TERM "$first"
  wait "$first"
  start_emu --pool-mib 2 board   # stopped: served again, resized, no -f needed
  [ "$(u64_at board 56)" = $((2 << 20)) ]
  [ "$(state_of board)" = 1 ]
  mkdir dir
  run "$INFER" pynq-emu -f dir
  [ "$status" -eq 1 ] && [ "$output" = "fpga-infer: dir: not a regular file; the emulator serves a file of its own" ]
  ln -s board link
  run "$INFER" pynq-emu -f link
  [ "$status" -eq 1 ] && [ "$output" = "fpga-infer: link: a symbolic link; the emulator serves a file it creates" ]
  run "$INFER" pynq-emu nowhere/board
  [ "$status" -eq 1 ] && [[ "$output" == "fpga-infer: nowhere/board: cannot open: No such file or directory" ]]
  [ ! -e nowhere ]
}
