#!/usr/bin/env bats
# The armhf programs (make armhf) themselves: static ARM EABI5 hard-float
# executables whose needs (glibc symbol versions, kernel) every supported
# PYNQ image meets; host names resolve without glibc's shared NSS modules;
# the NEON path gives BNN-PYNQ's published scores. Run under qemu-user:
# nothing here ran on a board.

load ../helpers

ARMHF_BIN=${FPGA_ARMHF_BIN:-$FPGA_SOURCE_DIR/build-armhf/tools}
TOOLS="fpga-gzip fpga-split fpga-cat fpga-infer fpga-remote"
# The oldest PYNQ image supported (README, Pynq-Z1 / armhf): v2.5, Ubuntu
# 18.04 (glibc 2.27) on Linux 4.19 (PetaLinux 2019.1, xilinx-v2019.1).
OLDEST_GLIBC=2.27
OLDEST_KERNEL=4.19.0

setup() {
  [ -x "$ARMHF_BIN/fpga-gzip" ] || skip "no armhf build (make armhf)"
  cd "$BATS_TEST_TMPDIR"
}

# True when version $1 <= $2 (sort -V).
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

@test "ELF32 ARM EABI5 hard-float executables, static: no PT_INTERP, no dynamic section, no NEEDED" {
  local t h
  for t in $TOOLS; do
    h=$(readelf -h "$ARMHF_BIN/$t")
    [[ "$h" == *"Class:"*"ELF32"* ]] || { echo "$t: not ELF32"; false; }
    [[ "$h" == *"Machine:"*"ARM"* ]] || { echo "$t: not ARM"; false; }
    [[ "$h" == *"Version5 EABI"* ]] || { echo "$t: not EABI5"; false; }
    [[ "$h" == *"hard-float ABI"* ]] || { echo "$t: not hard-float"; false; }
    [[ "$h" == *"Type:"*"EXEC"* ]] || { echo "$t: not an executable"; false; }
    ! readelf -l "$ARMHF_BIN/$t" | grep -q INTERP || { echo "$t: has an interpreter"; false; }
    ! readelf -d "$ARMHF_BIN/$t" | grep -q NEEDED || { echo "$t: needs shared libraries"; false; }
  done
  # The links gunzip and zcat are fpga-gzip.
  [ "$(readlink "$ARMHF_BIN/fpga-gunzip")" = fpga-gzip ]
  [ "$(readlink "$ARMHF_BIN/fpga-zcat")" = fpga-gzip ]
}

@test "the newest GLIBC symbol version needed is not newer than the oldest image's glibc ($OLDEST_GLIBC): none, being static" {
  local t newest
  for t in $TOOLS; do
    # Version needs (.gnu.version_r): a dynamic program lists GLIBC_2.x here.
    newest=$(readelf -V "$ARMHF_BIN/$t" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
    if [ -n "$newest" ]; then
      version_le "$newest" "$OLDEST_GLIBC" || { echo "$t needs GLIBC_$newest > $OLDEST_GLIBC"; false; }
    fi
    # Static: no version needs at all, and no dynamic symbols.
    [ -z "$newest" ]
    [ -z "$(readelf --dyn-syms "$ARMHF_BIN/$t")" ]
  done
}

@test "the ELF ABI note's minimum kernel is not newer than the oldest image's kernel ($OLDEST_KERNEL)" {
  local t abi
  for t in $TOOLS; do
    abi=$(readelf -n "$ARMHF_BIN/$t" | sed -n 's/.*OS: Linux, ABI: \([0-9.]*\).*/\1/p')
    [ -n "$abi" ] || { echo "$t: no NT_GNU_ABI_TAG note"; false; }
    version_le "$abi" "$OLDEST_KERNEL" || { echo "$t needs Linux $abi > $OLDEST_KERNEL"; false; }
  done
}

@test "the BNN engine's NEON path gives BNN-PYNQ's published scores for deer.bin; portable agrees; avx2 is refused" {
  need_data
  qemu-arm-static "$ARMHF_BIN/fpga-infer" import-bnn-pynq "$DATA/bnn-pynq/cifar10/cnvW1A1" -o cnv.fbnn
  local want isa
  want=$(printf '0\t4\tDeer\t228\t229\t251\t250\t412\t253\t230\t262\t222\t239')
  for isa in neon portable; do
    FPGA_BNN_ISA=$isa run qemu-arm-static "$ARMHF_BIN/fpga-infer" -q -s --model cnv.fbnn "$DATA/images/deer.bin"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
  done
  # Without FPGA_BNN_ISA the best path the CPU runs is NEON (qemu-arm
  # reports it, as a Cortex-A9 does).
  run qemu-arm-static "$ARMHF_BIN/fpga-infer" --info --model cnv.fbnn
  [ "$status" -eq 0 ]
  [[ "$output" == *"code path: neon (available: portable neon)"* ]]
  FPGA_BNN_ISA=avx2 run qemu-arm-static "$ARMHF_BIN/fpga-infer" -q --model cnv.fbnn "$DATA/images/deer.bin"
  [ "$status" -ne 0 ]
  [[ "$output" == *"FPGA_BNN_ISA: 'avx2' is not a code path this CPU runs"* ]]
}

@test "without ISA-L: levels 1 and 2 are libdeflate's, gzip reads every level, and --engine isal is a usage error" {
  make_text t 600
  local l
  for l in 1 2 6 9 12; do
    qemu-arm-static "$ARMHF_BIN/fpga-gzip" -c -$l t > t.$l.gz
    gzip -dc t.$l.gz | cmp - t
    qemu-arm-static "$ARMHF_BIN/fpga-gzip" -t t.$l.gz
  done
  run qemu-arm-static "$ARMHF_BIN/fpga-gzip" -c --engine isal t
  [ "$status" -eq 1 ]
  [[ "$output" == *"the isal engine is not in this build"* ]]
  [ "$(wc -l <<< "$output")" -le 2 ]
}

@test "host names in the static client: localhost, a name in /etc/hosts and numeric addresses resolve with no armhf shared library to load" {
  # glibc's own files and dns NSS services are inside a static glibc
  # (2.34 and later); only other services (mdns, resolve, ldap) would be
  # loaded from shared libraries, and there are none here: in a private
  # mount namespace the armhf library folders are empty and /etc/hosts is
  # the test's.
  command -v unshare >/dev/null && unshare -m true 2>/dev/null || skip "no mount namespaces here (unshare -m)"
  make_text t 300
  qemu-arm-static "$ARMHF_BIN/fpga-gzip" -c t > want.gz
  qemu-arm-static "$ARMHF_BIN/fpga-remote" serve --listen 127.0.0.1:0 2> serve.log &
  local spid=$! port=""
  for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' serve.log)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { kill "$spid"; cat serve.log; false; }
  mkdir empty
  printf '127.0.0.1\tlocalhost\n127.0.0.1\tboard-a.test\n' > hosts
  cat > ns.sh <<EOS
set -e
for d in /lib/arm-linux-gnueabihf /usr/lib/arm-linux-gnueabihf /usr/arm-linux-gnueabihf/lib; do
  if [ -d \$d ]; then mount --bind "$PWD/empty" \$d; fi
done
mount --bind "$PWD/hosts" /etc/hosts
[ -z "\$(ls /lib/arm-linux-gnueabihf 2>/dev/null)" ]
for h in localhost board-a.test 127.0.0.1; do
  qemu-arm-static "$ARMHF_BIN/fpga-remote" http://\$h:$port fpga-gzip -c t > got.\$h.gz
done
st=0
qemu-arm-static "$ARMHF_BIN/fpga-remote" http://no-such-board.invalid:$port fpga-gzip -c t > none.gz 2> none.err || st=\$?
echo \$st > none.status
EOS
  run unshare -m sh ns.sh
  kill "$spid"; wait "$spid" 2>/dev/null || true
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  cmp got.localhost.gz want.gz
  cmp got.board-a.test.gz want.gz
  cmp got.127.0.0.1.gz want.gz
  # A name nothing resolves: one line naming the host, an error status.
  [ "$(cat none.status)" -ne 0 ]
  grep -q 'no-such-board.invalid' none.err
  [ "$(wc -l < none.err)" -eq 1 ]
}
