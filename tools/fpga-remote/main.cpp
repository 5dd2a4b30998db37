// fpga-remote: run a stage (fpga-gzip) on another host over SSH or HTTP with
// output byte-identical to a local run; `fpga-remote serve` is the server.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "cli.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/io.hpp"
#include "fpgaio/remote.hpp"
#include "fpgaio/remote_gzip.hpp"
#include "fpgaio/remote_tls.hpp"
#include "fpgaio/version.hpp"
#include "infer.hpp"    // fpga-infer's client
#include "tool_args.hpp"
#include "gzip-cli/options.hpp"  // fpga-gzip's option table: the same options mean the same here
#include "gzip-cli/walk.hpp"     // fpga-gzip's operand walk

namespace {

using fpgacli::report;
namespace rm = fpgaio::remote;

const char* kProg = "fpga-remote";

void print_help() {
  std::printf(
      "Usage: %s [OPTION]... HOST TOOL [TOOL-OPTION]... [FILE]...\n"
      "       %s [OPTION]... --hosts FILE TOOL [TOOL-OPTION]... [FILE]...\n"
      "       %s serve [SERVE-OPTION]...\n"
      "Run TOOL (fpga-gzip, fpga-gunzip, fpga-zcat, fpga-infer) on another host,\n"
      "reading and writing files here; the output is byte-identical to running\n"
      "TOOL here. fpga-infer's model is named from the server's models.\n\n"
      "HOST: ssh://[USER@]HOST[:PORT], [USER@]HOST (SSH), http://HOST:PORT,\n"
      "      https://HOST:PORT\n\n"
      "Options:\n"
      "  -h, --help                  show this help and exit\n"
      "  -V, --version               show the version and exit\n"
      "  -L, --license               show the licence and exit\n"
      "  -q, --quiet                 say nothing of the hosts passed over\n"
      "      --hosts FILE            hosts, one a line (N/HOST gives N job slots);\n"
      "                              the job slot picks one, the others take over\n"
      "                              when it fails\n"
      "      --slot N                job slot (default: PARALLEL_JOBSLOT, else 1)\n"
      "      --retries N             requests tried on another host at most N times\n"
      "                              in all (default: 2 per host, plus 1)\n"
      "      --token-file FILE       HTTP bearer token (default: FPGA_REMOTE_TOKEN)\n"
      "      --cacert FILE           CA certificates that verify an https server\n"
      "                              (default: the system's)\n"
      "      --cert FILE             https client certificate (PEM; default:\n"
      "                              FPGA_REMOTE_CERT)\n"
      "      --key FILE              its private key (PEM; default: FPGA_REMOTE_KEY,\n"
      "                              else the --cert file)\n"
      "      --timeout SECONDS       a transfer under 1 KiB/s this long fails\n"
      "                              (default 60)\n"
      "      --jobs N                requests in flight (default 4)\n"
      "      --chunk SIZE            bytes a request (default 2M; rounded to whole\n"
      "                              blocks)\n"
      "      --remote-command CMD    fpga-remote on SSH hosts (default:\n"
      "                              FPGA_REMOTE_COMMAND, else fpga-remote)\n"
      "\n"
      "Serve options:\n"
      "      --listen ADDR:PORT      address to listen on (default 127.0.0.1:8437)\n"
      "      --token-file FILE       require this bearer token (a non-loopback\n"
      "                              address needs it or --tls-client-ca)\n"
      "      --tls-cert FILE         serve HTTPS with this certificate (PEM)\n"
      "      --tls-key FILE          and this private key (PEM)\n"
      "      --tls-client-ca FILE    require client certificates signed by these CAs\n"
      "                              (PEM) on every request but /v1/health\n"
      "      --tls-client-name PATTERN\n"
      "                              and whose name (CN, DNS or e-mail) matches\n"
      "                              PATTERN (shell wildcards; repeatable)\n"
      "      --device LIST           devices that run jobs, as fpga-gzip's --device\n"
      "                              (xrt:0,xrt:1,cpu; csim:0; default: the cards\n"
      "                              that work, then the CPU)\n"
      "      --xclbin FILE           the xclbin to load on cards\n"
      "      --slots N               the CPU's jobs at once (default: its cores)\n"
      "      --queue N               jobs waiting for a slot before 503\n"
      "                              (default: 4 x slots)\n"
      "      --max-body SIZE         largest request body (default 65M; 413 above)\n"
      "      --max-answer SIZE       largest decompress answer (default 256M; 413)\n"
      "      --timeout SECONDS       close a connection silent this long (default 30)\n"
      "      --max-connections N     connections in all (default 64)\n"
      "      --max-per-address N     connections from one address (default 16)\n"
      "      --models DIR            serve the fpga-infer models DIR/NAME.fbnn by NAME\n"
      "                              (default: FPGA_REMOTE_MODELS)\n"
      "      --default-model NAME    the model of clients that name none (default:\n"
      "                              fpga-infer's default model on this host)\n"
      "      --stdio                 serve one client on standard input and output\n"
      "                              (used over SSH)\n"
      "\n"
      "Exit status: 0 success, 1 error, 2 warning.\n"
      "Full documentation: man fpga-remote\n",
      kProg, kProg, kProg);
}

std::string read_secret(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw fpgaio::Error(fpgaio::ErrorKind::io, std::strerror(errno)).with_path(path);
  // A directory opens, then reads as nothing: say what it is, not "empty".
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw fpgaio::Error(fpgaio::ErrorKind::io, std::strerror(EISDIR)).with_path(path);
  std::string s;
  std::getline(f, s);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.empty()) throw fpgaio::Error(fpgaio::ErrorKind::usage, "the token file is empty").with_path(path);
  return s;
}

// A private key file others can read gets a warning. ssh refuses such a
// key; here the run goes on and the exit status stays the tool's, which
// scripts compare with a local run's.
void warn_key_mode(const std::string& path) {
  if (auto w = rm::key_file_warning(path)) report(path, *w);
}

unsigned count_arg(const std::string& v, unsigned max, const std::string& what) {
  return fpgacli::parse_count(v, max, what);
}

// -h prints the help (true: the caller exits 0); -V prints the version and
// -L the licence, and exit.
bool help_or_version(const std::string& a) {
  if (a == "-V" || a == "--version") fpgacli::print_version();
  if (a == "-L" || a == "--license") fpgacli::print_license();
  if (a != "-h" && a != "--help") return false;
  print_help();
  return true;
}

// An option that is none of ours, in the words of every other tool
// (getopt's): "unrecognized option '--x'", "invalid option -- 'x'".
[[noreturn]] void unrecognized(const std::string& a) {
  if (a.rfind("--", 0) == 0) fpgacli::usage_error("unrecognized option '" + a.substr(0, a.find('=')) + "'");
  fpgacli::usage_error(std::string("invalid option -- '") + a[1] + "'");
}

// Takes "--opt VALUE" or "--opt=VALUE" at args[i]; advances i. An empty
// VALUE (--token-file="$UNSET") is refused: taken as given it would mean no
// option at all (no token sent, the HOST operand instead of --hosts).
bool take(const std::vector<std::string>& args, std::size_t& i, const std::string& name, std::string& value) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) fpgacli::usage_error("option '" + name + "' requires an argument");
    value = args[++i];
  } else if (a.compare(0, name.size() + 1, name + "=") == 0) {
    value = a.substr(name.size() + 1);
  } else {
    return false;
  }
  if (value.empty()) fpgacli::usage_error("option '" + name + "' needs a value");
  return true;
}

// ---- serve ------------------------------------------------------------------

// "csim:0 x1, cpu x2": the devices in service and their slots.
std::string device_slots(rm::Service& svc) {
  std::string s;
  for (const auto& d : svc.devices().status())
    if (d.in_service) s += (s.empty() ? "" : ", ") + d.device.name + " x" + std::to_string(d.slots);
  return s.empty() ? "none" : s;
}

int serve_main(const std::vector<std::string>& args) {
  rm::ServerConfig cfg;
  bool stdio = false;
  std::string tls_cert, tls_key, tls_client_ca;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string v;
    const std::string& a = args[i];
    if (help_or_version(a)) {
      return 0;
    } else if (a == "--stdio") {
      stdio = true;
    } else if (take(args, i, "--listen", v)) {
      cfg.listen = v;
    } else if (take(args, i, "--token-file", v)) {
      try {
        cfg.token = read_secret(v);
      } catch (const fpgaio::Error& e) {
        fpgacli::report(e);
        return 1;
      }
    } else if (take(args, i, "--tls-cert", v)) {
      tls_cert = v;
    } else if (take(args, i, "--tls-key", v)) {
      tls_key = v;
    } else if (take(args, i, "--tls-client-ca", v)) {
      tls_client_ca = v;
    } else if (take(args, i, "--tls-client-name", v)) {
      cfg.tls_client_names.push_back(v);
    } else if (take(args, i, "--device", v)) {
      if (v.empty()) fpgacli::usage_error("--device needs a device list");
      cfg.devices = v;
    } else if (take(args, i, "--xclbin", v)) {
      fpgaio::set_xclbin(v);
    } else if (take(args, i, "--slots", v)) {
      cfg.slots = count_arg(v, 4096, "--slots");
    } else if (take(args, i, "--queue", v)) {
      cfg.queue = count_arg(v, 1 << 20, "--queue");
    } else if (take(args, i, "--max-body", v)) {
      auto s = fpgacli::parse_size(v);
      if (!s || *s < 4096 || *s > (std::uint64_t{1} << 31)) fpgacli::usage_error("invalid --max-body '" + v + "' (4K to 2G)");
      cfg.max_body = static_cast<std::size_t>(*s);
    } else if (take(args, i, "--max-answer", v)) {
      auto s = fpgacli::parse_size(v);
      if (!s || *s < 4096 || *s > (std::uint64_t{1} << 40)) fpgacli::usage_error("invalid --max-answer '" + v + "' (4K to 1T)");
      cfg.max_answer = static_cast<std::size_t>(*s);
    } else if (take(args, i, "--timeout", v)) {
      cfg.timeout_seconds = count_arg(v, 86400, "--timeout");
    } else if (take(args, i, "--max-connections", v)) {
      cfg.max_connections = count_arg(v, 100000, "--max-connections");
    } else if (take(args, i, "--max-per-address", v)) {
      cfg.max_per_address = count_arg(v, 100000, "--max-per-address");
    } else if (take(args, i, "--models", v)) {
      cfg.models_dir = v;
    } else if (take(args, i, "--default-model", v)) {
      cfg.default_model = v;
    } else {
      if (a.size() > 1 && a[0] == '-') unrecognized(a);
      fpgacli::usage_error("unexpected operand '" + a + "'");
    }
  }
  if (cfg.token.empty())
    if (const char* t = std::getenv("FPGA_REMOTE_TOKEN"); t && *t) cfg.token = t;
  if (tls_cert.empty() != tls_key.empty()) fpgacli::usage_error("--tls-cert and --tls-key go together");
  if (!tls_client_ca.empty() && tls_cert.empty())
    fpgacli::usage_error("--tls-client-ca needs --tls-cert and --tls-key (client certificates need https)");
  if (!cfg.tls_client_names.empty() && tls_client_ca.empty()) fpgacli::usage_error("--tls-client-name needs --tls-client-ca");
  // Over SSH (serve --stdio) the remote account's FPGA_REMOTE_MODELS says
  // where its models are.
  if (cfg.models_dir.empty())
    if (const char* m = std::getenv("FPGA_REMOTE_MODELS"); m && *m) cfg.models_dir = m;
  try {
    // Read and checked here, so that a bad file is one line naming it.
    if (!tls_cert.empty()) {
      rm::KeyPair kp = rm::load_key_pair(tls_cert, tls_key);
      cfg.tls_cert_pem = kp.cert_pem;
      cfg.tls_key_pem = kp.key_pem;
      warn_key_mode(tls_key);
    }
    if (!tls_client_ca.empty()) cfg.tls_client_ca_pem = rm::load_ca_file(tls_client_ca);
  } catch (const fpgaio::Error& e) {
    fpgacli::report(e);
    return 1;
  }
  if (stdio) {
    // Over ssh: the transport authenticated the user; one client, in order.
    ::signal(SIGPIPE, SIG_IGN);
    try {
      rm::Service svc(cfg);
      rm::serve_stdio(svc, STDIN_FILENO, STDOUT_FILENO);
    } catch (const fpgaio::Error& e) {
      fpgacli::report(e);
      return 1;
    }
    return 0;
  }
  cfg.log = [](const std::string& line) { report("", line); };
  // SIGTERM and SIGINT are taken by sigwait below; every thread MHD starts
  // inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  try {
    rm::Service svc(cfg);
    for (const auto& w : svc.device_warnings()) report("", "warning: " + w);
    rm::HttpServer server(svc);
    std::string where = cfg.listen;
    auto colon = where.rfind(':');
    if (colon != std::string::npos) where = where.substr(0, colon);
    report("", "listening on " + where + ":" + std::to_string(server.port()) + " (" +
                   (cfg.tls_cert_pem.empty()            ? "http"
                    : cfg.tls_client_ca_pem.empty() ? "https"
                                                    : "https, client certificates") +
                   ", " + std::to_string(svc.slots()) + " slots, queue " + std::to_string(svc.queue_limit()) +
                   ", devices " + device_slots(svc) + ")");
    int sig = 0;
    sigwait(&set, &sig);
    report("", std::string("signal ") + strsignal(sig) + ": finishing the requests in flight");
    server.stop_accepting();
    server.wait_idle();
  } catch (const fpgaio::Error& e) {
    fpgacli::report(e);
    return 1;
  }
  return 0;
}

// The option as it was given among the tool's arguments, for a refusal:
// "--zlib" for any prefix of it, "-z" for a cluster of short options with z.
std::string spelled(const std::vector<std::string>& targs, char shrt, const std::string& lng) {
  for (std::size_t k = 0; k < targs.size(); ++k) {
    const std::string& a = targs[k];
    if (a == "--") break;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
      if (!name.empty() && lng.compare(0, name.size(), name) == 0) return "--" + lng;
    }
  }
  for (const auto& a : targs) {
    if (a == "--") break;
    if (shrt && a.size() > 1 && a[0] == '-' && a[1] != '-' && a.find(shrt) != std::string::npos)
      return std::string("-") + shrt;
  }
  return shrt ? std::string("-") + shrt : "--" + lng;
}

// ---- the gzip client ----------------------------------------------------------

// An operand's bytes, on the hosts: fpga-gzip's walk (walk.cpp) does the
// rest, so that files are treated exactly as fpga-gzip treats them.
class RemoteWork : public fpgagzip::Work {
 public:
  RemoteWork(rm::HostPool& hosts, const fpgagzip::Options& o, std::size_t chunk, unsigned jobs)
      : hosts_(hosts), o_(o), chunk_(chunk), jobs_(jobs) {}

  fpgaio::gzip::Stats compress(fpgaio::Input& in, fpgaio::Sink& out, const fpgagzip::Head& head,
                               const std::string& shown, fpgaio::gzip::Progress progress) override {
    auto ro = options(shown);
    // The job of the options a local fpga-gzip compresses with (the header
    // it would write, a chunk of fpga-split's FP subfield included).
    static_cast<rm::GzipCompressJob&>(ro) = fpgagzip::compress_options(o_, head);
    ro.progress = std::move(progress);
    return rm::compress(hosts_, in, out, ro);
  }

  std::unique_ptr<fpgagzip::Decoding> decode(fpgaio::Input& in, const fpgagzip::DecodeSettings& s) override {
    auto ro = options(s.shown);
    // As fpga-gzip's decoder options: -cdf and -tf pass data through.
    ro.pass_through = s.pass_through;
    ro.detect_zlib = s.detect_zlib;
    ro.salvage = s.to_stdout;
    ro.list_only = s.list_only;  // sizes from the headers where they are, as fpga-gzip -l
    ro.progress = s.progress;
    return std::make_unique<Decoding>(hosts_, in, std::move(ro), s.to_file);
  }

 private:
  class Decoding : public fpgagzip::Decoding {
   public:
    Decoding(rm::HostPool& hosts, fpgaio::Input& in, rm::RemoteGzipOptions ro, bool to_file)
        : hosts_(hosts), in_(in), ro_(std::move(ro)), to_file_(to_file) {}
    // Decompressing to a file, the format is checked here before the output
    // is looked at, as gzip and fpga-gzip do (a file in no format with an
    // existing output is "not in gzip format", not "already exists"). The
    // input is a regular file: its magic is read in place, unconsumed.
    std::optional<std::string> unreadable() override {
      if (!to_file_ || ro_.pass_through) return std::nullopt;
      std::uint8_t magic[4];
      ssize_t n = ::pread(in_.fd(), magic, sizeof magic, 0);
      if (n < 0) return std::nullopt;  // the hosts' request says what is wrong
      if (n < 2) return "unexpected end of file";
      if (!fpgaio::gzip::detect_format(magic, static_cast<std::size_t>(n), true, ro_.detect_zlib))
        return "not in gzip format";
      return std::nullopt;
    }
    // The name comes from the first header: read it here, before any work.
    std::optional<std::string> stored_name() override {
      std::uint8_t head[65536];
      ssize_t n = ::pread(in_.fd(), head, sizeof head, 0);
      if (n <= 0) return std::nullopt;
      try {
        if (auto h = fpgaio::gzip::parse_header(head, static_cast<std::size_t>(n))) return h->name;
      } catch (const fpgaio::Error&) {
      }
      return std::nullopt;
    }
    fpgaio::gzip::DecompressResult run(fpgaio::Sink* out) override { return rm::decompress(hosts_, in_, out, ro_); }

   private:
    rm::HostPool& hosts_;
    fpgaio::Input& in_;
    rm::RemoteGzipOptions ro_;
    bool to_file_;
  };

  rm::RemoteGzipOptions options(const std::string& shown) const {
    rm::RemoteGzipOptions r;
    r.level = o_.level;
    r.block_size = o_.block_size;  // the chunks are whole blocks
    r.rsyncable = o_.rsyncable;
    r.chunk_bytes = chunk_;
    r.in_flight = jobs_;
    r.shown = shown;
    return r;
  }

  rm::HostPool& hosts_;
  const fpgagzip::Options& o_;
  std::size_t chunk_;
  unsigned jobs_;
};

// The host the job slot picks (--slot, else PARALLEL_JOBSLOT, else 1); "N/"
// lines count N times.
std::size_t pick_host(const std::vector<rm::Endpoint>& hosts, unsigned slot) {
  if (!slot) {
    const char* js = std::getenv("PARALLEL_JOBSLOT");
    slot = js && *js ? static_cast<unsigned>(std::strtoul(js, nullptr, 10)) : 1;
    if (!slot) slot = 1;
  }
  std::size_t total = 0;
  for (auto& h : hosts) total += h.jobs;
  std::size_t pick = (slot - 1) % total;
  for (std::size_t k = 0; k < hosts.size(); ++k) {
    if (pick < hosts[k].jobs) return k;
    pick -= hosts[k].jobs;
  }
  return 0;
}

int client_main(const std::vector<std::string>& args) {
  rm::ClientConfig cfg;
  std::string hosts_file, token_file;
  unsigned slot = 0, retries = 0, jobs = 4;
  std::size_t chunk = 2 << 20;
  bool quiet = false;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string v;
    const std::string& a = args[i];
    if (help_or_version(a)) {
      return 0;
    } else if (a == "-q" || a == "--quiet") {
      quiet = true;
    } else if (take(args, i, "--hosts", v)) {
      hosts_file = v;
    } else if (take(args, i, "--slot", v)) {
      slot = count_arg(v, 1u << 30, "--slot");
    } else if (take(args, i, "--retries", v)) {
      retries = count_arg(v, 1000, "--retries");
    } else if (take(args, i, "--token-file", v)) {
      token_file = v;
    } else if (take(args, i, "--cacert", v)) {
      cfg.cacert = v;
    } else if (take(args, i, "--cert", v)) {
      cfg.cert = v;
    } else if (take(args, i, "--key", v)) {
      cfg.key = v;
    } else if (take(args, i, "--timeout", v)) {
      cfg.timeout_seconds = count_arg(v, 86400, "--timeout");
    } else if (take(args, i, "--jobs", v)) {
      jobs = count_arg(v, 64, "--jobs");
    } else if (take(args, i, "--chunk", v)) {
      auto s = fpgacli::parse_size(v);
      if (!s || *s < 1024 || *s > (std::uint64_t{64} << 20)) fpgacli::usage_error("invalid --chunk '" + v + "' (1K to 64M)");
      chunk = static_cast<std::size_t>(*s);
    } else if (take(args, i, "--remote-command", v)) {
      cfg.remote_command = v;
    } else if (a == "--") {
      ++i;
      break;
    } else if (a.size() > 1 && a[0] == '-') {
      unrecognized(a);
    } else {
      break;
    }
  }
  std::vector<rm::Endpoint> hosts;
  try {
    if (!hosts_file.empty()) {
      hosts = rm::read_hosts_file(hosts_file);
    } else {
      if (i >= args.size()) fpgacli::usage_error("missing HOST");
      hosts.push_back(rm::parse_endpoint(args[i++]));
    }
  } catch (const fpgaio::Error& e) {
    if (e.kind() == fpgaio::ErrorKind::usage && e.path.empty()) fpgacli::usage_error(e.what());
    fpgacli::report(e);
    return 1;
  }
  if (i >= args.size()) fpgacli::usage_error("missing TOOL (fpga-gzip, fpga-gunzip, fpga-zcat, fpga-infer)");
  std::string tool = args[i++];
  std::string tool_base = tool.substr(tool.rfind('/') == std::string::npos ? 0 : tool.rfind('/') + 1);
  if (tool_base != "fpga-gzip" && tool_base != "fpga-gunzip" && tool_base != "fpga-zcat" && tool_base != "fpga-infer")
    fpgacli::usage_error("unknown TOOL '" + tool + "' (fpga-gzip, fpga-gunzip, fpga-zcat, fpga-infer)");

  // Credentials never on the command line.
  try {
    if (!token_file.empty()) {
      cfg.token = read_secret(token_file);
      cfg.token_from = "--token-file " + token_file;
    } else if (const char* t = std::getenv("FPGA_REMOTE_TOKEN"); t && *t) {
      cfg.token = t;
      cfg.token_from = "FPGA_REMOTE_TOKEN";
    }
    // The client certificate: paths (never a key's contents), checked here
    // so that a missing file or a key of another certificate is one line
    // before any work.
    if (cfg.cert.empty())
      if (const char* e = std::getenv("FPGA_REMOTE_CERT"); e && *e) cfg.cert = e;
    if (cfg.key.empty())
      if (const char* e = std::getenv("FPGA_REMOTE_KEY"); e && *e) cfg.key = e;
    // The CA file too: curl would only say "Problem with the SSL CA cert"
    // at each host, and only for https.
    if (!cfg.cacert.empty()) rm::load_ca_file(cfg.cacert);
    if (cfg.cert.empty() && !cfg.key.empty())
      fpgacli::usage_error("a client key (--key, FPGA_REMOTE_KEY) needs its certificate (--cert, FPGA_REMOTE_CERT)");
    if (!cfg.cert.empty()) {
      if (cfg.key.empty()) cfg.key = cfg.cert;
      rm::load_key_pair(cfg.cert, cfg.key);
      warn_key_mode(cfg.key);
    }
  } catch (const fpgaio::Error& e) {
    fpgacli::report(e);
    return 1;
  }
  if (const char* s = std::getenv("FPGA_REMOTE_SSH"); s && *s) {
    cfg.ssh_command.clear();
    std::istringstream ss(s);
    std::string w;
    while (ss >> w) cfg.ssh_command.push_back(w);
  }
  if (const char* c = std::getenv("FPGA_REMOTE_COMMAND"); c && *c && cfg.remote_command == "fpga-remote")
    cfg.remote_command = c;
  // A host passed over is said once, whatever the requests that passed it
  // over; it changes the exit status only when no host could do the work.
  if (!quiet)
    cfg.on_skip = [](const std::string& host, const std::string& why, const std::string& next) {
      static std::mutex mu;
      static std::set<std::string> said;
      std::lock_guard<std::mutex> lk(mu);
      if (said.insert(host).second) report(host, "skipped (" + why + "); trying " + next);
    };

  // The tool's own options, parsed by fpga-gzip's table under its name.
  std::vector<std::string> targs(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (tool_base == "fpga-infer") {
    // fpga-infer's own table, inputs and outputs here (infer.cpp).
    rm::HostPool pool(hosts, cfg, pick_host(hosts, slot), retries ? retries : static_cast<unsigned>(2 * hosts.size() + 1));
    return fpgaremote::infer_main(pool, targs, tool_base, chunk, jobs);
  }
  fpgagzip::Options o = fpgaremote::parse_as_tool(tool_base, targs, fpgagzip::parse_command_line);
  // What the remote path cannot do, refused before anything is touched,
  // with the option as it was given (docs: man fpga-remote, LIMITS).
  auto refuse = [&](char shrt, const std::string& lng, const std::string& why) {
    fpgacli::usage_error(spelled(targs, shrt, lng) + " is not served remotely: " + why);
  };
  if (o.list_devices) refuse(0, "list-devices", "ask the server (GET /v1/devices)");
  if (o.engine) refuse(0, "engine", "the server picks its engines by level");
  if (o.mode == fpgagzip::Mode::compress && o.container == fpgaio::gzip::Container::zlib)
    refuse('z', "zlib", "zlib output is one stream that cannot be cut into requests (gzip only)");
  if (o.mode == fpgagzip::Mode::compress && o.container == fpgaio::gzip::Container::zip)
    refuse('K', "zip", "zip output is one stream that cannot be cut into requests (gzip only)");
  if (!o.device.empty()) refuse(0, "device", "the server picks its devices itself");
  if (!o.xclbin.empty()) refuse(0, "xclbin", "the server picks its devices and images itself");

  rm::HostPool pool(hosts, cfg, pick_host(hosts, slot), retries ? retries : static_cast<unsigned>(2 * hosts.size() + 1));
  RemoteWork work(pool, o, chunk, jobs);
  fpgagzip::Walk walk(o, work);
  walk.run();
  int code = walk.status();
  if (!fpgacli::close_stdout()) code = fpgacli::kError;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  std::vector<std::string> args(argv + 1, argv + argc);
  // The cards were closed with the Service; XRT's static destructors are skipped.
  if (!args.empty() && args[0] == "serve") {
    int code = serve_main({args.begin() + 1, args.end()});
    std::fflush(stdout);
    return fpgacli::leave(code);
  }
  fpgacli::install_signal_handlers();
  return client_main(args);
}
