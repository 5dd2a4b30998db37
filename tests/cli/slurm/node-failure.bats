#!/usr/bin/env bats
# A node that dies mid-job, on the two-node Slurm of helpers.bash:
# fpga-tools(7)'s one-srun recipe runs with its tasks on both nodes, and n2
# goes down while its tasks run (its slurmd, their slurmstepd and the tasks
# themselves get SIGKILL, as when a host is lost). Slurm notices within a
# short SlurmdTimeout and ends the job NODE_FAIL; the chunks n1 made are
# whole, n2's are absent (never half a part), and the recipe's join
# refuses. The node's slurmd started again, the node returns to service by
# itself (ReturnToService=2), the lost chunks are run again on it, and the
# join gives what one local fpga-gzip gives (cmp). About 20 s here, most of
# it Slurm noticing the dead node. With FPGA_LONG=1, the same job left to
# Slurm's default requeue (about 2.5 minutes more: a requeued job waits
# AuthInfo's cred_expire, 120 s, before it starts again).

SLURM_NET=82
# Down after 4 s without an answer (the default is 300 s), and messages
# that give up after 3 s (10): with the defaults the dead node is seen in
# 27 s, with these in 13 s.
SLURM_CONF_EXTRA="SlurmdTimeout=4
MessageTimeout=3"
load helpers

setup_file() {
  slurm_possible || return 0
  cd "$BATS_FILE_TMPDIR"
  slurm_up
  slurm_input
  # A fpga-gzip that, on n2, is stopped (SIGSTOP) as it starts, so that
  # its node dies in the middle of the job; on n1, and on n2 once that
  # task's rank has been stopped in this directory, the real one.
  mkdir -p hang
  cat > hang/fpga-gzip <<EOF
#!/bin/sh
[ "\$SLURMD_NODENAME" = n2 ] && [ ! -e started.\$SLURM_PROCID ] || exec "$OURS" "\$@"
"$OURS" "\$@" & pid=\$!
kill -STOP \$pid
touch started.\$SLURM_PROCID
wait \$pid
EOF
  chmod +x hang/fpga-gzip
}

teardown_file() { slurm_down; }

setup() {
  slurm_case
  cp -p "$BATS_FILE_TMPDIR/big.log" .
}
teardown() { :; }

# The recipe as fpga-tools(7) prints it (as recipes.bats reads it).
recipe() { # name
  sed -n "/^\.\\\\\" $1-begin\$/,/^\.\\\\\" $1-end\$/p" "$FPGA_SOURCE_DIR/man/fpga-tools.7" |
    sed '1d;$d' | grep -v '^\.nf$\|^\.fi$' | sed "s/\\\\-/-/g; s/\\\\(aq/'/g; s/\\\\e/\\\\/g"
}

n2_state() { sinfo -h -n n2 -o %T; }

@test "a node killed mid-job: NODE_FAIL, the join refuses; back in service, its chunks rerun complete the output" {
    recipe slurm-job > compress.sbatch
  # --no-requeue: Slurm's default (JobRequeue=1) would put the job back in
  # the queue to start again from the top once n2 returns.
  id=$(PATH="$BATS_FILE_TMPDIR/hang:$PATH" sbatch --parsable --no-requeue -o job.out compress.sbatch)
  # Ranks 2 and 3 (chunks 3 and 4) run on n2; n1's chunks finish.
  wait_for 60 test -e started.2 -a -e started.3 -a -e big.log.000.gz -a -e big.log.001.gz
  kill_node n2
  run wait_job "$id"
  [[ "$output" == "NODE_FAIL "* ]] || { echo "$output"; cat job.out; false; }
  grep -q '^srun: error: Node failure on n2' job.out
  [[ "$(n2_state)" == down* ]]
  # What n1 made is whole; of n2's chunks nothing, not even half a part.
  [ "$(ls | grep -v '^started' | sort | tr '\n' ' ')" = "big.log big.log.000.gz big.log.001.gz compress.sbatch job.out " ] || { ls -l; false; }
  # The recipe's join refuses, and writes nothing.
  run sh -c "$(recipe slurm-job | tail -n 1)"
  [ "$status" -eq 1 ]
  [[ "$output" == *"fpga-cat: missing parts for chunks 2, 3 of 4 (big.log.002.gz)"* ]]
  [ ! -e big.log.gz ]
  ls big.log.000.gz big.log.001.gz
  # The node comes back (its slurmd again) and returns to service by itself.
  start_slurmd n2
  wait_for 30 nodes_idle
  # The lost chunks again, on n2, as ranks 2 and 3 of the recipe would; then its join.
  timeout 120 srun -w n2 -N1 -n2 sh -c 'fpga-gzip "$(fpga-split --ranges -n $((SLURM_PROCID + 3))/4 big.log)"'
  sh -c "$(recipe slurm-job | tail -n 1)"
    cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
  [ -z "$(ls big.log.*.gz 2>/dev/null)" ]
}

# True when job $1 is back in the queue after a failure (requeued).
requeued() { local j; j=$(scontrol show job "$1"); [[ $j == *JobState=PENDING* && $j == *Restarts=1* ]]; }

@test "a node killed mid-job, the job requeued (Slurm's default): it runs again once the node is back, keeps the chunks done, and completes" {
  long_only
  recipe slurm-job > compress.sbatch
  id=$(PATH="$BATS_FILE_TMPDIR/hang:$PATH" sbatch --parsable --open-mode=append -o job.out compress.sbatch)
  wait_for 60 test -e started.2 -a -e started.3 -a -e big.log.000.gz -a -e big.log.001.gz
  kill_node n2
  wait_for 60 requeued "$id"
  [ ! -e big.log.gz ]
  [ "$(ls big.log.*.gz | tr '\n' ' ')" = "big.log.000.gz big.log.001.gz " ]
  start_slurmd n2
  wait_for 30 nodes_idle
  # From the top again (after cred_expire): n1's chunks are there and
  # are not overwritten (no -f), n2's are made, and the join completes.
  local _
  for _ in $(seq 300); do
    [ -z "$(squeue -h -j "$id" -o %i 2>/dev/null)" ] && break
    sleep 1
  done
  [ "$(job_state "$id")" = "COMPLETED 0:0" ] || { job_state "$id"; cat job.out; false; }
  grep -q '^srun: error: Node failure on n2' job.out
  grep -q 'fpga-gzip: big.log.000.gz already exists' job.out
  cmp big.log.gz "$BATS_FILE_TMPDIR/want.gz"
  [ -z "$(ls big.log.*.gz 2>/dev/null)" ]
}
