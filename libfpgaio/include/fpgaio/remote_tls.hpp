// fpga-remote's TLS pieces (GnuTLS, as libmicrohttpd and Debian's libcurl
// use): certificate, key and CA files read and checked before any
// connection, and the server's check of a client certificate.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fpgaio::remote {

// TLS 1.2 and 1.3 only (a GnuTLS priority string), for the server.
extern const char* const kTlsPriorities;

// A certificate (PEM, the first one is the host's own) and its private key
// (PEM, not encrypted), read and checked to belong together. Throws
// Error(io) naming the file that cannot be read, Error(usage) naming the file
// that is not a certificate or a key, or the key that does not match.
struct KeyPair {
  std::string cert_pem, key_pem;
};
KeyPair load_key_pair(const std::string& cert_path, const std::string& key_path);

// CA certificates (PEM), at least one. Throws Error naming the file.
std::string load_ca_file(const std::string& path);

// "other users can read this private key ..." when the file's mode lets
// others (not the owner, not the group: Debian's ssl-cert) read it.
std::optional<std::string> key_file_warning(const std::string& path);

namespace detail {
// Server side, on a connection's GnuTLS session (gnutls_session_t): why its
// client certificate is refused (none, unknown signer,
// expired, not for client authentication...), or nullopt when it verifies
// against the trusted CAs and, when `names` is not empty, its common name or
// one of its DNS or e-mail alternative names matches one of those fnmatch(3)
// patterns.
std::optional<std::string> client_cert_refusal(void* session, const std::vector<std::string>& names = {});
}  // namespace detail

}  // namespace fpgaio::remote
