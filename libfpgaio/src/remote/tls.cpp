// Certificate, key and CA files for fpga-remote's TLS, checked with GnuTLS
// before any connection so that a bad file is one line naming it; and the
// server's verification of a client certificate.
#include "fpgaio/remote_tls.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fpgaio/error.hpp"

namespace fpgaio::remote {

const char* const kTlsPriorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

namespace {

// A PEM file, whole; certificates and keys are small, so 1 MiB is plenty.
std::string read_pem(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::io, std::strerror(errno), errno).with_path(path);
  std::string s;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorKind::io, std::strerror(err), err).with_path(path);
    }
    if (n == 0) break;
    s.append(buf, static_cast<std::size_t>(n));
    if (s.size() > (std::size_t{1} << 20)) {
      ::close(fd);
      throw Error(ErrorKind::usage, "too large for a PEM certificate or key").with_path(path);
    }
  }
  ::close(fd);
  return s;
}

gnutls_datum_t datum(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}

// The certificates of a PEM text; throws naming `path` when there are none.
unsigned count_certs(const std::string& pem, const std::string& path, const char* what) {
  gnutls_x509_crt_t* crts = nullptr;
  unsigned n = 0;
  gnutls_datum_t d = datum(pem);
  int rc = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
  for (unsigned i = 0; rc >= 0 && i < n; ++i) gnutls_x509_crt_deinit(crts[i]);
  gnutls_free(crts);
  if (rc < 0 || n == 0)
    throw Error(ErrorKind::usage, std::string("not a PEM ") + what +
                                      (rc < 0 && rc != GNUTLS_E_NO_CERTIFICATE_FOUND &&
                                               rc != GNUTLS_E_BASE64_DECODING_ERROR
                                           ? std::string(" (") + gnutls_strerror(rc) + ")"
                                           : std::string()))
        .with_path(path);
  return n;
}

}  // namespace

KeyPair load_key_pair(const std::string& cert_path, const std::string& key_path) {
  KeyPair kp;
  kp.cert_pem = read_pem(cert_path);
  kp.key_pem = key_path == cert_path ? kp.cert_pem : read_pem(key_path);
  count_certs(kp.cert_pem, cert_path, "certificate");
  {
    gnutls_x509_privkey_t key;
    gnutls_x509_privkey_init(&key);
    gnutls_datum_t d = datum(kp.key_pem);
    int rc = gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN);
    gnutls_x509_privkey_deinit(key);
    if (rc < 0) {
      bool encrypted = kp.key_pem.find("ENCRYPTED") != std::string::npos;
      throw Error(ErrorKind::usage, encrypted ? "an encrypted private key: give it without a passphrase "
                                                "(openssl pkey -in KEY -out KEY2), readable only by you"
                                              : "not a PEM private key")
          .with_path(key_path);
    }
  }
  gnutls_certificate_credentials_t cred;
  if (gnutls_certificate_allocate_credentials(&cred) < 0) throw Error(ErrorKind::io, "GnuTLS: out of memory");
  gnutls_datum_t c = datum(kp.cert_pem), k = datum(kp.key_pem);
  int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN);
  gnutls_certificate_free_credentials(cred);
  if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    throw Error(ErrorKind::usage, "the private key does not match the certificate " + cert_path).with_path(key_path);
  if (rc < 0)
    throw Error(ErrorKind::usage, std::string("cannot use this certificate and key: ") + gnutls_strerror(rc))
        .with_path(cert_path);
  return kp;
}

std::string load_ca_file(const std::string& path) {
  std::string pem = read_pem(path);
  count_certs(pem, path, "CA certificate");
  return pem;
}

std::optional<std::string> key_file_warning(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !(st.st_mode & S_IROTH)) return std::nullopt;
  return "warning: other users can read this private key (chmod o-r " + path + ")";
}

namespace detail {

namespace {

// The names a certificate goes by: its common name, DNS and e-mail
// alternative names.
std::vector<std::string> cert_names(const gnutls_datum_t& der) {
  std::vector<std::string> names;
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0) return names;
  if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0) {
    char buf[1024];
    for (unsigned i = 0; i < 64; ++i) {
      std::size_t n = sizeof buf;
      if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, i, 0, buf, &n) < 0) break;
      names.emplace_back(buf, n);
    }
    for (unsigned i = 0; i < 64; ++i) {
      std::size_t n = sizeof buf;
      int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &n, nullptr);
      if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER) break;  // the end, or damage
      if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_RFC822NAME) names.emplace_back(buf, n);
    }
  }
  gnutls_x509_crt_deinit(crt);
  // A name with a NUL or a control character in it matches nothing (and is
  // never echoed into a log line).
  for (auto& n : names)
    for (unsigned char ch : n)
      if (ch < 0x20 || ch == 0x7f) {
        n.clear();
        break;
      }
  return names;
}

}  // namespace

std::optional<std::string> client_cert_refusal(void* session, const std::vector<std::string>& patterns) {
  auto s = static_cast<gnutls_session_t>(session);
  if (!s) return std::string("a client certificate is required, over https");
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || n == 0) return std::string("a client certificate is required (fpga-remote --cert)");
  // The chain, the times, the signatures, and the purpose: a certificate
  // whose extended key usage leaves out client authentication (a server's)
  // is refused.
  gnutls_typed_vdata_st purpose{};
  purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
  purpose.data = reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT));
  unsigned status = 0;
  int rc = gnutls_certificate_verify_peers(s, &purpose, 1, &status);
  const std::string refused = "client certificate refused: ";
  if (rc < 0) return refused + gnutls_strerror(rc);
  if (status == 0) {
    if (patterns.empty()) return std::nullopt;
    std::vector<std::string> names = cert_names(certs[0]);
    for (const auto& name : names)
      for (const auto& pat : patterns)
        if (!name.empty() && ::fnmatch(pat.c_str(), name.c_str(), 0) == 0) return std::nullopt;
    return refused + "its name" + (names.empty() || names[0].empty() ? std::string() : " '" + names[0] + "'") +
           " is not allowed here (--tls-client-name)";
  }
  if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
    return refused + "not signed by a CA this server trusts (--tls-client-ca)";
  if (status & GNUTLS_CERT_SIGNATURE_FAILURE) return refused + "its signature does not verify";
  if (status & GNUTLS_CERT_EXPIRED) return refused + "it has expired";
  if (status & GNUTLS_CERT_NOT_ACTIVATED) return refused + "it is not valid yet";
  if (status & GNUTLS_CERT_PURPOSE_MISMATCH) return refused + "it is not for client authentication (extended key usage)";
  if (status & GNUTLS_CERT_REVOKED) return refused + "it is revoked";
  if (status & GNUTLS_CERT_INSECURE_ALGORITHM) return refused + "it is signed with an insecure algorithm";
  gnutls_datum_t out{};
  std::string why = "not trusted";
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0 && out.data) {
    why.assign(reinterpret_cast<char*>(out.data), out.size);
    gnutls_free(out.data);
  }
  return refused + why;
}

}  // namespace detail

}  // namespace fpgaio::remote
