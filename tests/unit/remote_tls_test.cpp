// fpga-remote's TLS: certificate, key and CA files checked with a message
// naming the file, the key-mode warning, and the HTTP server and client with
// client certificates on a loopback port (certificates made here by openssl).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "fpgaio/error.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_tls.hpp"

namespace rm = fpgaio::remote;

namespace {

// A CA, a server certificate for 127.0.0.1, a client certificate and a
// self-signed one, made once for the file.
class Pki : public ::testing::Test {
 protected:
  static std::string dir;
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/fpga-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    std::string script =
        "cd " + dir + " && exec 2>/dev/null && "
        "openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=ca && "
        "openssl req" + ec + " -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' > ext && "
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext && "
        "openssl req" + ec + " -keyout cli.key -out cli.csr -subj /CN=client && "
        "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2 && "
        "openssl req -x509" + ec + " -keyout self.key -out self.pem -days 2 -subj /CN=client && "
        "cat cli.pem cli.key > both.pem && chmod 600 *.key";
    openssl_ok = std::system(("command -v openssl >/dev/null && (" + script + ")").c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void SetUp() override {
    if (!openssl_ok) GTEST_SKIP() << "openssl is not installed (scripts/install-deps.sh)";
  }
  static std::string p(const std::string& name) { return dir + "/" + name; }
  static bool openssl_ok;
};
std::string Pki::dir;
bool Pki::openssl_ok = false;

// The error's file and reason, as the tool prints them.
std::string failure(const std::function<void()>& f) {
  try {
    f();
  } catch (const fpgaio::Error& e) {
    return e.path + ": " + e.what();
  }
  return "no error";
}

}  // namespace

TEST_F(Pki, KeyPairLoadsAndChecksThatTheKeyMatches) {
  rm::KeyPair kp = rm::load_key_pair(p("cli.pem"), p("cli.key"));
  EXPECT_NE(kp.cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(kp.key_pem.find("PRIVATE KEY"), std::string::npos);
  // Both in one file.
  kp = rm::load_key_pair(p("both.pem"), p("both.pem"));
  EXPECT_EQ(kp.cert_pem, kp.key_pem);
  EXPECT_EQ(failure([&] { rm::load_key_pair(p("cli.pem"), p("self.key")); }),
            p("self.key") + ": the private key does not match the certificate " + p("cli.pem"));
  EXPECT_EQ(failure([&] { rm::load_key_pair(p("nope.pem"), p("cli.key")); }),
            p("nope.pem") + ": No such file or directory");
  EXPECT_EQ(failure([&] { rm::load_key_pair(p("cli.pem"), dir); }), dir + ": Is a directory");
  EXPECT_EQ(failure([&] { rm::load_key_pair(p("cli.key"), p("cli.key")); }),
            p("cli.key") + ": not a PEM certificate");
  EXPECT_EQ(failure([&] { rm::load_key_pair(p("cli.pem"), p("cli.pem")); }),
            p("cli.pem") + ": not a PEM private key");
}

TEST_F(Pki, CertificatesCutShortAreRefused) {
  std::ifstream f(p("cli.pem"));
  std::string pem((std::istreambuf_iterator<char>(f)), {});
  int refused = 0, cuts = 0;
  // Every cut before the END line loses part of the certificate (GnuTLS
  // forgives a cut END line: the certificate itself is whole then).
  for (std::size_t cut = 0; cut < pem.find("-----END"); cut += 7, ++cuts) {
    std::ofstream(p("cut.pem")) << pem.substr(0, cut);
    if (failure([&] { rm::load_key_pair(p("cut.pem"), p("cli.key")); }) != "no error") ++refused;
  }
  EXPECT_EQ(refused, cuts);
  EXPECT_GT(cuts, 50);
}

TEST_F(Pki, CaFileNeedsACertificate) {
  EXPECT_NE(rm::load_ca_file(p("ca.pem")).find("BEGIN CERTIFICATE"), std::string::npos);
  std::ofstream(p("junk.pem")) << "junk\n";
  EXPECT_EQ(failure([&] { rm::load_ca_file(p("junk.pem")); }), p("junk.pem") + ": not a PEM CA certificate");
  EXPECT_EQ(failure([&] { rm::load_ca_file(p("none.pem")); }), p("none.pem") + ": No such file or directory");
}

TEST_F(Pki, KeyReadableByOthersIsAWarningGroupIsNot) {
  std::string k = p("mode.key");
  std::ofstream(k) << "x";
  ::chmod(k.c_str(), 0600);
  EXPECT_FALSE(rm::key_file_warning(k));
  ::chmod(k.c_str(), 0640);
  EXPECT_FALSE(rm::key_file_warning(k));  // Debian's ssl-cert group
  ::chmod(k.c_str(), 0604);
  auto w = rm::key_file_warning(k);
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "warning: other users can read this private key (chmod o-r " + k + ")");
}

TEST_F(Pki, ServerWithClientCaAnswersOnlyCertifiedClients) {
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  rm::KeyPair kp = rm::load_key_pair(p("srv.pem"), p("srv.key"));
  cfg.tls_cert_pem = kp.cert_pem;
  cfg.tls_key_pem = kp.key_pem;
  cfg.tls_client_ca_pem = rm::load_ca_file(p("ca.pem"));
  rm::Service svc(cfg);
  rm::HttpServer server(svc);
  auto ep = rm::parse_endpoint("https://127.0.0.1:" + std::to_string(server.port()));
  rm::Request devices;
  devices.method = "GET";
  devices.path = "/v1/devices";
  rm::ClientConfig cc;
  cc.cacert = p("ca.pem");
  // Without a certificate: connected (health is open), the job refused with 403.
  auto t = rm::connect(ep, cc);
  rm::Response r = t->call(devices);
  EXPECT_EQ(r.status, 403);
  EXPECT_STREQ(rm::error_from_response(r).what(), "a client certificate is required (fpga-remote --cert)");
  cc.cert = p("self.pem");
  cc.key = p("self.key");
  r = rm::connect(ep, cc)->call(devices);
  EXPECT_EQ(r.status, 403);
  EXPECT_STREQ(rm::error_from_response(r).what(),
               "client certificate refused: not signed by a CA this server trusts (--tls-client-ca)");
  cc.cert = p("cli.pem");
  cc.key = p("cli.key");
  r = rm::connect(ep, cc)->call(devices);
  EXPECT_EQ(r.status, 200);
}

TEST_F(Pki, ServerRefusesBadSetups) {
  rm::ServerConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.tls_client_ca_pem = rm::load_ca_file(p("ca.pem"));
  // Client certificates without https.
  {
    rm::Service svc(cfg);
    EXPECT_THROW(rm::HttpServer s(svc), fpgaio::Error);
  }
  // Another address: TLS alone is not enough.
  rm::KeyPair kp = rm::load_key_pair(p("srv.pem"), p("srv.key"));
  cfg.tls_cert_pem = kp.cert_pem;
  cfg.tls_key_pem = kp.key_pem;
  cfg.listen = "0.0.0.0:0";
  cfg.tls_client_ca_pem.clear();
  {
    rm::Service svc(cfg);
    EXPECT_EQ(failure([&] { rm::HttpServer s(svc); }).find(": refusing to listen on 0.0.0.0:0 without a token"), 0u);
  }
  // (Accepted with a client CA: tests/cli/remote/tls.bats, in a network
  // namespace; nothing here listens beyond loopback.)
}

TEST(RemoteTls, NoSessionIsRefused) {
  EXPECT_TRUE(rm::detail::client_cert_refusal(nullptr));
}
