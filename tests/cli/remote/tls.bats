#!/usr/bin/env bats
# fpga-remote and TLS client certificates: `serve --tls-client-ca` lets a
# job through only with a certificate its CA signed (valid now, meant for
# client authentication), /v1/health stays open, and every refusal is a
# clear one-line message on both sides; the client's --cert/--key files are
# checked before any work. Certificates are made here with openssl (EC keys:
# quick); servers listen on loopback ports, or in a network namespace.

load ../helpers
load helpers

# One PKI for the whole file: a CA, the server's certificate (127.0.0.1 and
# the namespace's 10.231.43.2), and client certificates good and bad.
setup_file() {
  local P=$BATS_FILE_TMPDIR/pki ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
  mkdir -p "$P/db" && cd "$P"
  newkey() { # name subject -> name.key, name.csr
    openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  }
  sign() { # csr ca out [extfile]
    openssl x509 -req -in "$1" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$3" -days 2 ${4:+-extfile "$4"} 2>/dev/null
  }
  openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=fpga-remote-test-ca 2>/dev/null
  newkey srv /CN=127.0.0.1
  printf 'subjectAltName=IP:127.0.0.1,IP:10.231.43.2\nextendedKeyUsage=serverAuth\n' > srv.ext
  sign srv.csr ca srv.pem srv.ext
  # Good: plain, and with extendedKeyUsage=clientAuth.
  newkey cli /CN=client1
  sign cli.csr ca cli.pem
  printf 'extendedKeyUsage=clientAuth\n' > cli.ext
  sign cli.csr ca cli-eku.pem cli.ext
  cat cli.pem cli.key > cli-both.pem
  # Names for --tls-client-name: a CN, and a DNS alternative name.
  newkey build7 /CN=build7.ci.example.org
  sign build7.csr ca build7.pem
  printf 'subjectAltName=DNS:runner3.ci.example.org,email:ops@example.org\n' > alt.ext
  sign cli.csr ca alt.pem alt.ext
  # Bad: self-signed; another CA's; "forged" (issuer named as our CA, signed
  # by another key of that name); a server's (serverAuth only); expired; not
  # valid yet.
  openssl req -x509 $ec -keyout self.key -out self.pem -days 2 -subj /CN=client1 2>/dev/null
  openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca 2>/dev/null
  sign cli.csr other-ca wrong-ca.pem
  openssl req -x509 $ec -keyout fake-ca.key -out fake-ca.pem -days 2 -subj /CN=fpga-remote-test-ca 2>/dev/null
  sign cli.csr fake-ca forged.pem
  sign cli.csr ca server-purpose.pem srv.ext
  : > db/index.txt
  echo 1000 > db/serial
  printf '[ca]\ndefault_ca=t\n[t]\ndatabase=db/index.txt\nserial=db/serial\nnew_certs_dir=db\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n' > ca.cnf
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in cli.csr -out expired.pem -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null
  openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in cli.csr -out future.pem -notext \
    -startdate 20990101000000Z -enddate 20990201000000Z 2>/dev/null
  # A key with a passphrase; junk.
  openssl pkey -in cli.key -aes256 -passout pass:secret -out cli-enc.key 2>/dev/null
  echo 'not a certificate' > junk.pem
  chmod 600 ./*.key
}

setup() {
  P=$BATS_FILE_TMPDIR/pki
  mkdir -p "$BATS_TEST_TMPDIR/w"
  cd "$BATS_TEST_TMPDIR/w"
  unset FPGA_REMOTE_CERT FPGA_REMOTE_KEY FPGA_REMOTE_TOKEN
}

teardown() { remote_teardown; }

# Ends the servers started so far in this test (before starting others).
stop_servers() {
  if [ -f "$BATS_TEST_TMPDIR/servers" ]; then
    while read -r p; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null || true; done < "$BATS_TEST_TMPDIR/servers"
    rm -f "$BATS_TEST_TMPDIR/servers"
  fi
}

# A server asking for client certificates; sets PORT, SPID, SLOG and URL.
start_mtls() { # [options...]
  start_server mtls --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-ca "$P/ca.pem" "$@"
  URL=https://127.0.0.1:$PORT
}

@test "serve: --tls-client-ca and the server's own files are checked at start, one line naming the file" {
  # Client certificates need https.
  run "$R" serve --listen 127.0.0.1:0 --tls-client-ca "$P/ca.pem"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "fpga-remote: --tls-client-ca needs --tls-cert and --tls-key (client certificates need https)" ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *"--tls-cert and --tls-key go together"* ]]
  # A missing, a junk and a directory CA file.
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-ca missing.pem
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: missing.pem: No such file or directory" ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-ca "$P/junk.pem"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $P/junk.pem: not a PEM CA certificate" ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-ca "$P"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $P: Is a directory" ]
  # The server's certificate with another key: named, one line, before listening.
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/cli.key"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $P/cli.key: the private key does not match the certificate $P/srv.pem" ]
  # A key in place of the certificate, a certificate in place of the key.
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.key" --tls-key "$P/srv.key"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $P/srv.key: not a PEM certificate" ]
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.pem"
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $P/srv.pem: not a PEM private key" ]
  # A key others can read: a warning, and it serves.
  cp "$P/srv.key" open.key
  chmod 644 open.key
  start_server s1 --tls-cert "$P/srv.pem" --tls-key open.key --tls-client-ca "$P/ca.pem"
  grep -qx "fpga-remote: open.key: warning: other users can read this private key (chmod o-r open.key)" "$SLOG"
  grep -q "listening on 127.0.0.1:$PORT (https, client certificates" "$SLOG"
}

@test "client: --cert and --key files are checked before any work, one line naming the file, nothing written" {
  make_text f 20
  # No server at all: the files are checked first (the URL's port is closed).
  U=https://127.0.0.1:1
  check() { # expected-message args...
    local want=$1; shift
    run "$R" --cacert "$P/ca.pem" "$@" "$U" fpga-gzip f
    [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
    [ "$output" = "$want" ] || { echo "got: $output"; echo "want: $want"; return 1; }
    [ -e f ] && [ ! -e f.gz ] && [ "$(ls)" = f ]
  }
  check "fpga-remote: nope.pem: No such file or directory" --cert nope.pem --key "$P/cli.key"
  check "fpga-remote: nope.key: No such file or directory" --cert "$P/cli.pem" --key nope.key
  check "fpga-remote: $P: Is a directory" --cert "$P/cli.pem" --key "$P"
  check "fpga-remote: $P/junk.pem: not a PEM certificate" --cert "$P/junk.pem" --key "$P/cli.key"
  check "fpga-remote: $P/junk.pem: not a PEM private key" --cert "$P/cli.pem" --key "$P/junk.pem"
  check "fpga-remote: $P/self.key: the private key does not match the certificate $P/cli.pem" \
    --cert "$P/cli.pem" --key "$P/self.key"
  # --cert alone takes the key from the same file: here there is none.
  check "fpga-remote: $P/cli.pem: not a PEM private key" --cert "$P/cli.pem"
  run "$R" --cert "$P/cli.pem" --key "$P/cli-enc.key" "$U" fpga-gzip f
  [ "$status" -eq 1 ]
  [[ "$output" == "fpga-remote: $P/cli-enc.key: an encrypted private key: give it without a passphrase"* ]]
  # The environment's paths the same way.
  run env FPGA_REMOTE_CERT="$P/cli.pem" FPGA_REMOTE_KEY=nope.key "$R" "$U" fpga-gzip f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: nope.key: No such file or directory" ]
  # A key without its certificate is a usage error.
  run "$R" --key "$P/cli.key" "$U" fpga-gzip f
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *"needs its certificate (--cert, FPGA_REMOTE_CERT)" ]]
  [ -e f ] && [ ! -e f.gz ]
}

@test "a good client certificate: byte-identical to a local run, from options, the environment or one combined file" {
  start_mtls
  make_pair f 1500
  "$OURS" -k -b 128K here/f
  "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" --chunk 300K "$URL" fpga-gzip -b 128K there/f
  cmp here/f.gz there/f.gz
  [ ! -e there/f ]
  # -t and -d with the certificate from the environment.
  export FPGA_REMOTE_CERT=$P/cli-eku.pem FPGA_REMOTE_KEY=$P/cli.key
  "$R" --cacert "$P/ca.pem" "$URL" fpga-gzip -t there/f.gz
  "$R" --cacert "$P/ca.pem" --chunk 200K "$URL" fpga-gzip -d there/f.gz
  cmp here/f there/f
  unset FPGA_REMOTE_CERT FPGA_REMOTE_KEY
  # Certificate and key in one file, --cert alone.
  "$R" --cacert "$P/ca.pem" --cert "$P/cli-both.pem" "$URL" fpga-gzip -c there/f | cmp - <("$OURS" -c here/f)
  # The jobs went through the checked path: no refusal logged.
  [ "$(grep -c 'POST /v1/gzip/[a-z]* 200' "$SLOG")" -ge 4 ]
  ! grep -q refused "$SLOG"
  # A key others can read: one warning line, the run still exits 0 and is identical.
  cp "$P/cli.key" open.key
  chmod 644 open.key
  "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key open.key "$URL" fpga-gzip -c there/f > r.gz 2> err
  cmp r.gz <("$OURS" -c here/f)
  [ "$(cat err)" = "fpga-remote: open.key: warning: other users can read this private key (chmod o-r open.key)" ]
}

@test "refused: no certificate, self-signed, another CA's, forged, a server's, expired, not yet valid" {
  start_mtls
  make_text f 100
  refused() { # expected-reason cert key
    local want=$1 cert=$2 key=$3
    local opts=(--cacert "$P/ca.pem")
    [ -n "$cert" ] && opts+=(--cert "$P/$cert" --key "$P/$key")
    run "$R" "${opts[@]}" "$URL" fpga-gzip f
    [ "$status" -eq 1 ] || { echo "$cert: status $status: $output"; return 1; }
    [ "$output" = "fpga-remote: $URL: f: $want" ] || { echo "$cert: got: $output"; return 1; }
    [ -e f ] && [ ! -e f.gz ] || { echo "$cert: files: $(ls)"; return 1; }
    # curl (OpenSSL) is refused the same, with 403 and the same reason.
    local copts=(--cacert "$P/ca.pem")
    [ -n "$cert" ] && copts+=(--cert "$P/$cert" --key "$P/$key")
    run curl -sS -w ' %{http_code}' "${copts[@]}" -X POST --data-binary @f "$URL/v1/gzip/compress"
    [ "$output" = "{\"error\":\"forbidden\",\"message\":\"$want\"}"$'\n'" 403" ] || { echo "$cert: curl: $output"; return 1; }
  }
  refused "a client certificate is required (fpga-remote --cert)" "" ""
  refused "client certificate refused: not signed by a CA this server trusts (--tls-client-ca)" self.pem self.key
  refused "client certificate refused: not signed by a CA this server trusts (--tls-client-ca)" wrong-ca.pem cli.key
  refused "client certificate refused: its signature does not verify" forged.pem cli.key
  refused "client certificate refused: it is not for client authentication (extended key usage)" server-purpose.pem cli.key
  refused "client certificate refused: it has expired" expired.pem cli.key
  refused "client certificate refused: it is not valid yet" future.pem cli.key
  # Every refusal is logged with its reason and counted.
  [ "$(grep -c 'POST /v1/gzip/compress 403 refused: ' "$SLOG")" -eq 14 ]
  grep -q '127.0.0.1 POST /v1/gzip/compress 403 refused: client certificate refused: it has expired' "$SLOG"
  run curl -s --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL/metrics"
  [[ "$output" == *'fpga_remote_requests_total{path="refused",status="403"} 14'* ]]
  # Health stays open; devices and metrics need the certificate.
  run curl -sf --cacert "$P/ca.pem" "$URL/v1/health"
  [[ "$output" == *'"ready":true'* ]]
  for path in /v1/devices /metrics; do
    run curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" "$URL$path"
    [ "$output" = 403 ]
    run curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL$path"
    [ "$output" = 200 ]
  done
}

@test "a refused client sending a large body hears the reason (the body is read and dropped first)" {
  echo tok-big > tok
  start_mtls --max-body 4M --token-file tok
  head -c 3000000 /dev/urandom > big
  # The body is read and dropped, then the answer (an answer at once would
  # race the client's sending against the server's close); several times.
  for _ in 1 2 3; do
    run "$R" --cacert "$P/ca.pem" --cert "$P/self.pem" --key "$P/self.key" --chunk 3M "$URL" fpga-gzip -c -b 3M big
    [ "$status" -eq 1 ]
    [ "$output" = "fpga-remote: $URL: big: client certificate refused: not signed by a CA this server trusts (--tls-client-ca)" ]
    run curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" -X POST --data-binary @big "$URL/v1/gzip/compress"
    [ "$output" = 403 ]
    run curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" -H 'Transfer-Encoding: chunked' -X POST --data-binary @big "$URL/v1/gzip/compress"
    [ "$output" = 403 ]
    # The right certificate, no token: 401 after the body, the same way.
    run "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" --chunk 3M "$URL" fpga-gzip -c -b 3M big
    [ "$status" -eq 1 ]
    [[ "$output" == *"big: a token is required"* ]]
  done
  # A body declared over the limit is still not read: 413 or a cut connection, at once.
  run curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.pem" -H 'Content-Length: 999999999' -X POST --data-binary @big "$URL/v1/gzip/compress"
  [ "$output" != 200 ]
  FPGA_REMOTE_TOKEN=tok-big "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL" fpga-gzip -c big | cmp - <("$OURS" -c big)
}

@test "--tls-client-name: only certificates whose CN or alternative name matches are admitted" {
  run "$R" serve --listen 127.0.0.1:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --tls-client-name 'x*'
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *"--tls-client-name needs --tls-client-ca" ]]
  start_mtls --tls-client-name '*.ci.example.org' --tls-client-name 'admin'
  make_text f 100
  ok() { "$R" --cacert "$P/ca.pem" --cert "$P/$1" --key "$P/$2" "$URL" fpga-gzip -c f | cmp - <("$OURS" -c f); }
  ok build7.pem build7.key      # CN=build7.ci.example.org
  ok alt.pem cli.key            # CN=client1, DNS:runner3.ci.example.org
  run "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: $URL: f: client certificate refused: its name 'client1' is not allowed here (--tls-client-name)" ]
  # The name check comes after the signature: a self-signed certificate
  # with an allowed name is still refused for its signer.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.pem -days 2 \
    -subj /CN=evil.ci.example.org 2>/dev/null
  run "$R" --cacert "$P/ca.pem" --cert s.pem --key s.key "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"client certificate refused: not signed by a CA this server trusts"* ]]
  # An e-mail name matches too; a pattern that matches a prefix only does not.
  stop_servers
  start_mtls --tls-client-name 'ops@example.org'
  ok alt.pem cli.key
  stop_servers
  start_mtls --tls-client-name 'client'
  run "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"its name 'client1' is not allowed here"* ]]
}

@test "a token and client certificates together: each is required" {
  echo tok-tls > tok
  echo wrong > bad
  start_mtls --token-file tok
  make_text f 50
  run "$R" --cacert "$P/ca.pem" --token-file tok "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"a client certificate is required"* ]]
  run "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"token is required"* ]]
  run "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" --token-file bad "$URL" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"wrong token"* ]]
  "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" --token-file tok "$URL" fpga-gzip -c f |
    cmp - <("$OURS" -c f)
}

@test "TLS 1.2 at least: TLS 1.0 and 1.1 handshakes fail, 1.2 and 1.3 succeed" {
  start_mtls
  # The old versions allowed on the client's side (OpenSSL's security level 0),
  # so only the server can refuse them.
  for v in -tls1 -tls1_1; do
    run openssl s_client -connect "127.0.0.1:$PORT" $v -cipher 'DEFAULT:@SECLEVEL=0' < /dev/null
    [ "$status" -ne 0 ]
    [[ "$output" != *"Cipher is ECDHE"* ]]
  done
  for v in -tls1_2 -tls1_3; do
    run openssl s_client -connect "127.0.0.1:$PORT" $v -CAfile "$P/ca.pem" < /dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == *"Verify return code: 0 (ok)"* ]]
  done
}

@test "plain HTTP to a TLS port and TLS to an HTTP port fail with one clear line; the servers stay up" {
  start_mtls
  TP=$PORT
  start_server plain
  HP=$PORT
  make_text f 20
  run "$R" --retries 1 "http://127.0.0.1:$TP" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: f: no host could do the work; tried http://127.0.0.1:$TP (Empty reply from server (an https server? give https://))" ]
  run "$R" --retries 1 --cacert "$P/ca.pem" "https://127.0.0.1:$HP" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"(not an https server? give http://))" ]]
  # Raw bytes and a plain request at the TLS port.
  run curl -s "http://127.0.0.1:$TP/v1/health"
  [ "$status" -ne 0 ]
  ( exec 8<>/dev/tcp/127.0.0.1/$TP && head -c 4000 /dev/urandom >&8 && timeout 5 cat <&8 >/dev/null ) 2>/dev/null || true
  # Both still serve.
  curl -sf --cacert "$P/ca.pem" "https://127.0.0.1:$TP/v1/health" > /dev/null
  "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "https://127.0.0.1:$TP" fpga-gzip -c f | cmp - <("$OURS" -c f)
  "$R" "http://127.0.0.1:$HP" fpga-gzip -c f | cmp - <("$OURS" -c f)
}

@test "non-loopback: refused without a token or client certificates; --tls-client-ca alone serves a namespace host" {
  # Where no namespace can be made, the rule itself is still checked.
  run "$R" serve --listen 0.0.0.0:0 --tls-cert "$P/srv.pem" --tls-key "$P/srv.key"
  [ "$status" -eq 1 ]
  [[ "$output" == *"without a token (--token-file) or client certificates (--tls-client-ca)"* ]]
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
  ip netns add "frprobe$$" 2>/dev/null || skip "ip netns not allowed here"
  ip netns del "frprobe$$"
  make_netns 43
  A=10.231.43.2
  ip netns exec "$NS" "$R" serve --listen "$A:8437" --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" \
    --tls-client-ca "$P/ca.pem" 2> "$BATS_TEST_TMPDIR/ns.log" &
  echo $! >> "$BATS_TEST_TMPDIR/servers"
  for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/ns.log" && break; sleep 0.05; done
  grep -q "listening on $A:8437 (https, client certificates" "$BATS_TEST_TMPDIR/ns.log"
  make_pair f 1000
  "$OURS" -c here/f > l.gz
  "$R" --cacert "$P/ca.pem" --cert "$P/cli.pem" --key "$P/cli.key" "https://$A:8437" fpga-gzip -c there/f > r.gz
  cmp l.gz r.gz
  run "$R" --cacert "$P/ca.pem" "https://$A:8437" fpga-gzip -c there/f
  [ "$status" -eq 1 ]
  [ "$output" = "fpga-remote: https://$A:8437: there/f: a client certificate is required (fpga-remote --cert)" ]
  grep -q "10.231.43.1 POST /v1/gzip/compress 200" "$BATS_TEST_TMPDIR/ns.log"
}

@test "TLS: a chain through an intermediate is admitted; a leaf without it, a non-CA signer and a wrong key usage are not" {
  make_pki
  start_server s --device cpu --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem
  [ "$(tls_code chain.pem /v1/devices)" = 200 ]
  [ "$(tls_code leaf.pem /v1/devices)" = 403 ]
  grep -q 'not signed by a CA this server trusts' out.body
  [ "$(tls_code nca-chain.pem /v1/devices)" = 403 ]
  # keyUsage without digitalSignature: GnuTLS ends the handshake (no answer at all)
  [ "$(tls_code ku.pem /v1/devices)" = 000 ]
  echo data > f
  run "$R" --cacert ca.pem --cert ku.pem --key cli.key "https://127.0.0.1:$PORT" fpga-gzip -c f
  [ "$status" -eq 1 ]
  [[ "$output" == *"Key usage violation"* ]]
  [ "$(tls_code chain.pem /v1/devices)" = 200 ]
}

@test "TLS: requests pipelined after a refusal are refused too; renegotiation ends the connection; health tells nothing secret" {
  make_pki
  printf secret > tok
  start_server s --device cpu --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem --token-file tok
  # No certificate: health, then two jobs on the same connection.
  { printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nConnection: close\r\n\r\n'
    sleep 1; } | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile ca.pem 2>/dev/null > pipe.out || true
  # (a refusal closes the connection: the request after it is never read)
  [ "$(grep '^HTTP/1.1 ' pipe.out | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" = "200 403 " ]
  grep -q '^Connection: close' pipe.out
  if grep -q '"devices"' pipe.out; then false; fi
  # A certificate, a wrong token, then a request with no token on the same connection.
  { printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n\r\n'
    printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    sleep 1; } | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > pipe2.out || true
  [ "$(grep '^HTTP/1.1 ' pipe2.out | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" = "401 " ]
  # TLS 1.2 renegotiation asked by the client: the connection ends, nothing answered after it.
  { sleep 0.5; printf 'R\n'; sleep 0.5; printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'; sleep 1; } |
    timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > reneg.out || true
  if grep -q '^HTTP/1.1' reneg.out; then false; fi
  # (the same without the renegotiation is answered)
  { sleep 0.5; printf 'GET /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n\r\n'; sleep 1; } |
    timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -CAfile ca.pem -cert leaf.pem -cert_chain int.pem -key cli.key 2>/dev/null > plain.out || true
  grep -q '^HTTP/1.1 200' plain.out
  # Health: liveness, version, protocol and slots; no devices, models, paths or peers.
  curl -s --cacert ca.pem "https://127.0.0.1:$PORT/v1/health" > h.json
  [ "$(sed 's/"version":"[^"]*"/"version":"V"/' h.json)" = '{"live":true,"ready":true,"version":"V","protocol":1,"slots":2}' ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem --cert chain.pem --key cli.key -H 'Authorization: Bearer secret' "https://127.0.0.1:$PORT/v1/devices")" = 200 ]
}

@test "a certificate that does not verify: one attempt a host, one line naming the host and the fix (--cacert)" {
  start_server tls --tls-cert "$P/srv.pem" --tls-key "$P/srv.key"
  TP=$PORT
  make_text f 20
  # No --cacert: the system's CAs do not know the test CA.
  run "$R" "https://127.0.0.1:$TP" fpga-gzip -c f
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: https://127.0.0.1:$TP: the server's certificate does not verify ("*"): give the CA that signed it with --cacert FILE" ]]
  [[ "$output" != *" times"* ]]
  # Another CA: the file given is named.
  run "$R" --cacert "$P/other-ca.pem" "https://127.0.0.1:$TP" fpga-gzip -c f
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "fpga-remote: https://127.0.0.1:$TP: the server's certificate does not verify ("*"): no CA of $P/other-ca.pem signed it, or it is not valid now, or it does not name 127.0.0.1" ]]
  # In a hosts file, a host whose certificate does not verify is passed
  # over (never tried again) and said; the next host does the work.
  start_server plain; HP=$PORT
  printf 'https://127.0.0.1:%s\nhttp://127.0.0.1:%s\n' "$TP" "$HP" > hosts
  "$R" --hosts hosts fpga-gzip -c f > r.gz 2> err
  cat err
  "$OURS" -c f | cmp - r.gz
  [ "$(wc -l < err)" -eq 1 ]
  [[ "$(cat err)" == "fpga-remote: https://127.0.0.1:$TP: skipped (the server's certificate does not verify ("*"): give the CA that signed it with --cacert FILE); trying http://127.0.0.1:$HP" ]]
}
