#!/usr/bin/env bats
# Slurm as sites run it, on a real two-node Slurm 22.05 (helpers.bash: one
# slurmd in each of two network namespaces, count-only fpga GRES): what a
# tool in a job step chooses (its card from SLURM_LOCALID, its threads from
# SLURM_CPUS_PER_TASK), and fpga-tools(7)'s Slurm recipes, taken from the
# man page source and run as written: one allocation with one srun, and an
# array job with a dependent join. Every join is compared with cmp against
# one local fpga-gzip run; a task that is killed makes the join refuse, and
# rerunning its chunk completes it. The cluster comes up once for the file.

SLURM_NET=81
load helpers

setup_file() {
  slurm_possible || return 0
  cd "$BATS_FILE_TMPDIR"
  slurm_up
  slurm_input
  # A fpga-gzip that is killed (SIGKILL, as it starts) in the task named by
  # KILL_TASK: an array task's number, or p and a step's rank (p1).
  mkdir -p killer
  cat > killer/fpga-gzip <<EOF
#!/bin/sh
if [ -n "\$KILL_TASK" ] && [ "\${SLURM_ARRAY_TASK_ID:-p\$SLURM_PROCID}" = "\$KILL_TASK" ]; then
  "$OURS" "\$@" & pid=\$!
  kill -KILL \$pid
  wait \$pid
  exit
fi
exec "$OURS" "\$@"
EOF
  chmod +x killer/fpga-gzip
}

teardown_file() { slurm_down; }

setup() {
  slurm_case
  unset KILL_TASK
  cp -p "$BATS_FILE_TMPDIR/big.log" .
}
teardown() { :; }

# A recipe of fpga-tools(7) as man prints it: the lines between the source's
# comments NAME-begin and NAME-end, without .nf/.fi, roff's escapes undone.
recipe() { # name
  sed -n "/^\.\\\\\" $1-begin\$/,/^\.\\\\\" $1-end\$/p" "$FPGA_SOURCE_DIR/man/fpga-tools.7" |
    sed '1d;$d' | grep -v '^\.nf$\|^\.fi$' | sed "s/\\\\-/-/g; s/\\\\(aq/'/g; s/\\\\e/\\\\/g"
}

# Runs a command with a bound: a job that never ends fails the test.
bounded() { timeout 120 "$@"; }

@test "the cluster: two hosts with their own names and addresses" {
  run bounded srun -N2 -n2 sh -c 'echo $(hostname) $SLURMD_NODENAME $SLURM_NTASKS'
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" = "n1 n1 2 n2 n2 2 " ]
  scontrol show node n1 | grep -q "NodeAddr=10.231.$SLURM_NET.2 "
  scontrol show node n2 | grep -q "NodeAddr=10.231.$SLURM_NET.3 "
  scontrol show node n2 | grep -q 'Gres=fpga:2'
}

@test "a step's task takes the card of its rank on the node (SLURM_LOCALID); PARALLEL_JOBSLOT comes first" {
  [ -n "${MAKE_XCLBIN:-}" ] || skip "make_xclbin (XRT's noop driver) is not built"
  xrt_noop_env
  export FPGA_XRT_DEVICES=2 FPGA_XRT_TRACE=1
  "$MAKE_XCLBIN" gzip.xclbin --platform $U50 --cus 2 --banks 2
  make_text t 300
  # Two tasks on one node: rank 0 on xrt:0, rank 1 on xrt:1 (the kernels of
  # the noop driver never run, so the CPU redoes the blocks: same bytes).
  bounded srun -N1 -n2 -w n1 sh -c 'fpga-gzip --xclbin gzip.xclbin -c t 2> trace.$SLURM_LOCALID | gzip -dc | cmp - t'
  grep -q '^fpga-xrt: xrt:0: loaded' trace.0
  ! grep -q '^fpga-xrt: xrt:1: loaded' trace.0
  grep -q '^fpga-xrt: xrt:1: loaded' trace.1
  ! grep -q '^fpga-xrt: xrt:0: loaded' trace.1
  # Rank 1 alone: xrt:1 still, though xrt:0 is free (not the lock's doing).
  bounded srun -N1 -n2 -w n2 sh -c '[ $SLURM_LOCALID = 1 ] || exit 0; fpga-gzip --xclbin gzip.xclbin -c t 2> trace.r1 | gzip -dc | cmp - t'
  grep -q '^fpga-xrt: xrt:1: loaded' trace.r1
  ! grep -q '^fpga-xrt: xrt:0: loaded' trace.r1
  # GNU parallel's slot before the rank (every step of `parallel srun -n1`
  # is rank 0); FPGA_DEVICE before both.
  bounded srun -N1 -n1 --export=ALL,PARALLEL_JOBSLOT=2 sh -c 'fpga-gzip --xclbin gzip.xclbin -c t > /dev/null 2> trace.p'
  grep -q '^fpga-xrt: xrt:1: loaded' trace.p
  bounded srun -N1 -n2 -w n2 --export=ALL,FPGA_DEVICE=cpu sh -c 'fpga-gzip --xclbin gzip.xclbin -c t 2> trace.d$SLURM_LOCALID | gzip -dc | cmp - t'
  ! grep -q 'loaded' trace.d0 trace.d1
}

@test "threads default to SLURM_CPUS_PER_TASK in a step, to the host's cores outside; no progress line in a job's log" {
  local here
  here=$("$INFER" --info --model "$MODEL" | sed -n 's/^device: //p')
  [ "$here" = "cpu, $(nproc --all) threads" ] || [ "$here" = "cpu, $(getconf _NPROCESSORS_ONLN) threads" ]
  run bounded srun -n1 -c1 "$INFER" --info --model "$MODEL"
  [ "$status" -eq 0 ]
  [[ "$output" == *"device: cpu, 1 threads"* ]]
  run bounded srun -n1 -c2 "$INFER" --info --model "$MODEL" -p 1
  [[ "$output" == *"device: cpu, 1 threads"* ]]   # -p first
  run bounded srun -n1 -c2 "$INFER" --info --model "$MODEL"
  [[ "$output" == *"device: cpu, 2 threads"* ]]
  # A step's standard error is no terminal: -v gives the ratio, no progress.
  bounded srun -n1 -c2 "$OURS" -v -c big.log 2> err | gzip -dc | cmp - big.log
  grep -q '%' err
  ! grep -q $'\r' err
}

@test "recipe: one allocation, one srun, one task per card on ranges, joined in the batch script" {
  recipe slurm-job > compress.sbatch
  grep -q '^srun ' compress.sbatch
  id=$(sbatch --parsable -o job.out compress.sbatch)
  run wait_job "$id"
  [ "$status" -eq 0 ] || { cat job.out; false; }
  scontrol show job "$id" | grep -q ' NodeList=n\[1-2\]'
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
  [ -z "$(ls big.log.*.gz 2>/dev/null)" ]   # --rm: the parts went with the join
}

@test "recipe: a task of the srun killed makes the join refuse; its chunk rerun completes it" {
  recipe slurm-job > compress.sbatch
  id=$(PATH="$BATS_FILE_TMPDIR/killer:$PATH" KILL_TASK=p1 sbatch --parsable -o job.out compress.sbatch)
  run wait_job "$id"
  [ "$status" -ne 0 ]
  [ "$output" = "FAILED 1:0" ]   # fpga-cat's status
  grep -q 'srun: error: n1: task 1: ' job.out   # rank 1 died on n1
  grep -q 'fpga-cat: missing part for chunk 1 of 4 (big.log.001.gz)' job.out
  [ ! -e big.log.gz ]
  [ ! -e big.log.001.gz ]
  ls big.log.000.gz big.log.002.gz big.log.003.gz
  # The lost chunk again (rank 1 is chunk 2), then the join line of the recipe.
  bounded srun -n1 sh -c 'fpga-gzip "$(fpga-split --ranges -n 2/4 big.log)"'
  sh -c "$(recipe slurm-job | tail -n 1)"
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
}

@test "recipe: an array job, one chunk a task, joined by a dependent job" {
  recipe slurm-array > chunk.sbatch
  recipe slurm-array-submit > submit.sh
  grep -q 'afterany' submit.sh
  run sh submit.sh
  [ "$status" -eq 0 ]
  run wait_job "${output##* }"   # "Submitted batch job N": the join
  [ "$status" -eq 0 ] || { cat slurm-*.out; false; }
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
  [ -z "$(ls big.log.*.gz 2>/dev/null)" ]
  [ "$(ls slurm-*_[1-4].out | wc -l)" -eq 4 ]   # four array tasks ran
}

@test "recipe: an array task killed makes the dependent join refuse; the rerun recipe completes it" {
  recipe slurm-array > chunk.sbatch
  recipe slurm-array-submit > submit.sh
  run env PATH="$BATS_FILE_TMPDIR/killer:$PATH" KILL_TASK=2 sh submit.sh
  [ "$status" -eq 0 ]
  run wait_job "${output##* }"
  [ "$output" = "FAILED 1:0" ]
  grep -l 'fpga-cat: missing part for chunk 1 of 4 (big.log.001.gz)' slurm-*.out
  [ ! -e big.log.gz ]
  [ ! -e big.log.001.gz ]
  recipe slurm-array-rerun > rerun.sh
  run sh rerun.sh
  [ "$status" -eq 0 ]
  run wait_job "${output##* }"
  [ "$status" -eq 0 ] || { cat slurm-*.out; false; }
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
}

@test "recipe: GNU parallel inside the allocation, one-task steps, more chunks than tasks" {
  recipe slurm-parallel > parallel.sbatch
  grep -q 'parallel -j \$SLURM_NTASKS srun --exclusive' parallel.sbatch
  id=$(sbatch --parsable -o job.out parallel.sbatch)
  run wait_job "$id"
  [ "$status" -eq 0 ] || { cat job.out; false; }
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
  [ -z "$(ls big.log.*.gz 2>/dev/null)" ]
  # Six steps ran (scontrol lists a finished job's steps no more; the
  # parts were six: the join checked "K of 6").
  ! grep -q . job.out
}

@test "recipe: fpga-infer, one task's IDX items each, joined into what one local run prints" {
  need_fashion
  # 2,000 Fashion-MNIST test images, in a file of their own (header fixed).
  gzip -dc "$FASHION/t10k-images-idx3-ubyte.gz" | head -c $((16 + 784 * 2000)) > images-idx3-ubyte || true
  printf '\x00\x00\x08\x03\x00\x00\x07\xd0\x00\x00\x00\x1c\x00\x00\x00\x1c' |
    dd of=images-idx3-ubyte bs=1 count=16 conv=notrunc 2>/dev/null
  cp "$MODEL" fashion-cnv.fbnn
  "$INFER" --model fashion-cnv.fbnn images-idx3-ubyte > want.tsv
  [ "$(wc -l < want.tsv)" -eq 2000 ]
  recipe slurm-infer > infer.sbatch
  id=$(sbatch --parsable -o job.out infer.sbatch)
  run wait_job "$id"
  [ "$status" -eq 0 ] || { cat job.out; false; }
  cmp results.tsv want.tsv
  [ "$(ls images-idx3-ubyte.*.tsv | wc -l)" -eq 4 ]
}

@test "a job cancelled (SIGTERM, then SIGKILL after KillWait, as at the time limit): chunks whole or absent, the join refuses" {
  mkfifo in.fifo
  # Holds the stream open, so the job's fpga-split waits for more data.
  sleep 120 > in.fifo 3>&- &
  holder=$!
  id=$(sbatch --parsable -o job.out --wrap 'fpga-split -b 1M - part < in.fifo')
  head -c 1572864 /dev/urandom > data
  cat data > in.fifo
  # part.000 is committed once the stream is known to go on past it.
  wait_for 60 test -e part.000
  scancel "$id"
  run wait_job "$id"
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  [ "$output" = "CANCELLED 0:15" ]   # ended by SIGTERM, before any SIGKILL
  # The chunk done is whole; the one in progress was never linked in.
  cmp part.000 <(head -c 1048576 data)
  [ "$(ls | sort | tr '\n' ' ')" = "big.log data in.fifo job.out part.000 " ]
  run fpga-cat -o joined part.000
  [ "$status" -eq 1 ]
  [[ "$output" == *"missing the last part"* ]]
  [ ! -e joined ]
}

@test "the recipes of fpga-tools(7) are the README's, line for line" {
  local name
  sed 's/^    //' "$FPGA_SOURCE_DIR/README.md" > readme   # its code blocks unindented
  for name in slurm-job slurm-array slurm-array-submit slurm-array-rerun slurm-parallel slurm-infer; do
    recipe $name > r
    [ -s r ]
    run grep -vxF -f readme r   # the recipe's lines the README lacks
    [ "$output" = "" ]
  done
}
