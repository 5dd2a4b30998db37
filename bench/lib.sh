# Shared by the benchmark scripts: corpus, timing, table rows.
# Expects DIR (corpus directory), OUT (scratch, tmpfs), REPEAT, HERE.

need() { command -v "$1" >/dev/null || { echo "bench: $1 missing (make deps, or apt-get install $2)" >&2; exit 1; }; }

# linux_slice MB: prints the path of an MB MiB slice of the Linux 6.1 source
# tar, made once in DIR (installs Debian's linux-source-6.1 when missing).
linux_slice() {
  local mb=$1 out=$DIR/linux-${1}M.tar
  if [ ! -s "$out" ]; then
    local src=/usr/src/linux-source-6.1.tar.xz
    if [ ! -e "$src" ]; then
      echo "bench: installing linux-source-6.1 for the corpus" >&2
      ${SUDO:-$( [ "$(id -u)" -eq 0 ] || echo sudo)} apt-get install -y -qq linux-source-6.1 >&2
    fi
    xz -dc -T2 "$src" | head -c $((mb << 20)) > "$out.tmp" || true
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

machine() {
  echo "$(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
}

# measure OUTFILE CMD...: best wall time of REPEAT runs (1 if a run is slow),
# and the peak RSS and CPU time of that run. Sets T (seconds), RSS (KiB),
# CPU (user + system seconds of the command and its children), SIZE (bytes).
measure() {
  local out=$1; shift
  local best="" rss=0 cpu=0 n=0
  while :; do
    local t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S' -o "$OUT/time" bash -c "$*" > "$out"
    local t1=$EPOCHREALTIME
    local t m u s
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b - a}')
    read -r m u s < <(tail -1 "$OUT/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then
      best=$t; rss=$m; cpu=$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')
    fi
    n=$((n + 1))
    [ $n -ge "$REPEAT" ] && break
    awk -v a="$t" 'BEGIN{exit !(a>3)}' && break
  done
  T=$best; RSS=$rss; CPU=$cpu; SIZE=$(stat -c %s "$out")
}

row() { # name input-bytes
  awk -v n="$1" -v b="$2" -v t="$T" -v s="$SIZE" -v r="$RSS" -v mode="$3" 'BEGIN {
    if (t < 0.01) t = 0.01
    if (mode == "c") printf "| %-30s | %8.1f | %7.4f | %7.1f |\n", n, b / t / 1e6, s / b, r / 1024
    else printf "| %-30s | %8.1f | %7s | %7.1f |\n", n, b / t / 1e6, "", r / 1024
  }'
}

header() {
  echo
  echo "### $1"
  echo
  echo "| tool | MB/s | ratio | RSS MiB |"
  echo "|---|---:|---:|---:|"
}

