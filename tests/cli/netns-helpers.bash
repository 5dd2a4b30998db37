# Separate hosts for the fpga-remote suites: network namespaces joined to
# this one by veth pairs (root only). Each namespace and veth made is listed
# in $BATS_TEST_TMPDIR/netns for stop_netns.

# Skips the test where namespaces cannot be made.
need_netns() {
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
  ip netns add "frprobe$$" 2>/dev/null || skip "ip netns not allowed here"
  ip netns del "frprobe$$"
}

# make_netns N: a namespace whose address is 10.231.N.2 (ours 10.231.N.1);
# sets NS to its name. Suites use different N: they may run at once.
make_netns() {
  local n=$1 ns=frt$$n$1 veth=frv$$n$1
  ip netns add "$ns" || return 1
  echo "$ns $veth" >> "$BATS_TEST_TMPDIR/netns"
  ip link add "$veth" type veth peer name "${veth}p" || return 1
  ip link set "${veth}p" netns "$ns"
  ip addr add "10.231.$n.1/24" dev "$veth"
  ip link set "$veth" up
  ip netns exec "$ns" ip addr add "10.231.$n.2/24" dev "${veth}p"
  ip netns exec "$ns" ip link set "${veth}p" up
  ip netns exec "$ns" ip link set lo up
  NS=$ns
}

# Removes what make_netns made (from teardown).
stop_netns() {
  if [ -f "$BATS_TEST_TMPDIR/netns" ]; then
    while read -r ns veth; do
      ip netns del "$ns" 2>/dev/null || true
      ip link del "$veth" 2>/dev/null || true
    done < "$BATS_TEST_TMPDIR/netns"
    rm -f "$BATS_TEST_TMPDIR/netns"
  fi
}
