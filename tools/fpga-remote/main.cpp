// fpga-remote: run a stage (fpga-gzip) on another host over SSH or HTTP with
// output byte-identical to a local run; `fpga-remote serve` is the server.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
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
#include "options.hpp"  // fpga-gzip's option table: the same options mean the same here
#include "progress.hpp"
#include "rules.hpp"

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
    if (a == "-h" || a == "--help") {
      print_help();
      return 0;
    } else if (a == "-V" || a == "--version") {
      fpgacli::print_version();
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
      fpgacli::usage_error((a.size() && a[0] == '-' ? "unknown option '" : "unexpected operand '") + a + "'");
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

struct Client {
  rm::HostPool* hosts;
  fpgagzip::Options o;
  std::size_t chunk;
  unsigned jobs;
  fpgacli::Status status;
  fpgagzip::Lister lister{o.verbosity};

  void warn(const std::string& path, const std::string& msg) {
    if (o.verbosity >= 0) report(path, msg);
    status.warning();
  }
  void fail(const std::string& path, const std::string& msg) {
    report(path, msg);
    status.error();
  }
  void fail(const fpgaio::Error& e, const std::string& path) {
    fpgacli::report_as_gzip(e, path);  // as fpga-gzip says it
    status.error();
  }
  bool progress_enabled() const {
    if (o.progress) return *o.progress;
    return o.verbosity > 0 && fpgacli::is_tty(STDERR_FILENO);
  }
  rm::RemoteGzipOptions remote_options(const std::string& shown) const {
    rm::RemoteGzipOptions r;
    r.level = o.level;
    r.block_size = o.block_size;
    r.rsyncable = o.rsyncable;
    r.chunk_bytes = chunk;
    r.in_flight = jobs;
    r.shown = shown;
    return r;
  }

  // gzip says this even under -q (a warning).
  void exists(const std::string& out_path) {
    report("", out_path + " already exists;\tnot overwritten");
    status.warning();
  }
  bool writes_file() const {
    return !o.to_stdout && (o.mode == fpgagzip::Mode::compress || o.mode == fpgagzip::Mode::decompress);
  }
  std::optional<std::string> known_suffix(const std::string& p) const { return fpgagzip::known_suffix(p, o.suffix); }
  std::optional<std::string> decompressed_name(const std::string& p) const {
    return fpgagzip::decompressed_name(p, o.suffix);
  }

  // The operands, as fpga-gzip walks them (its Runner::run_operand and
  // run_file): the same files skipped with the same words.
  void run_operand(const std::string& path) {
    if (path == "-") {
      try {
        fpgaio::Input in("-");
        o.mode == fpgagzip::Mode::compress ? compress_one(in, path) : decompress_one(in, path);
      } catch (const fpgaio::Error& e) {
        fail(e, "stdin");
      }
      return;
    }
    try {
      if (auto range = fpgaio::parse_range(path)) {
        if (o.mode == fpgagzip::Mode::decompress && !o.to_stdout)
          return fail(path, "a byte range can be decompressed only to standard output (-c)");
        fpgaio::Input in(*range);
        return o.mode == fpgagzip::Mode::compress ? compress_one(in, path) : decompress_one(in, path);
      }
    } catch (const fpgaio::Error& e) {
      return fail(e, path);
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      int err = errno;
      if (err == ENOENT && o.mode != fpgagzip::Mode::compress && !decompressed_name(path)) {
        for (const std::string& s : {o.suffix, std::string(".gz"), std::string(".z"), std::string("-z"), std::string(".Z")}) {
          std::string alt = path + s;
          if (::lstat(alt.c_str(), &st) == 0) return run_file(alt, st);
        }
        return fail(path + o.suffix, std::strerror(ENOENT));
      }
      return fail(path, std::strerror(err));
    }
    run_file(path, st);
  }

  void run_directory(const std::string& path) {
    std::vector<std::string> paths;
    if (int err = fpgagzip::directory_entries(path, paths)) return fail(path, std::strerror(err));
    for (const auto& p : paths) {
      struct stat st;
      if (::lstat(p.c_str(), &st) != 0) {
        fail(p, std::strerror(errno));
        continue;
      }
      run_file(p, st);
    }
  }

  void run_file(const std::string& path, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) {
      if (o.recursive) return run_directory(path);
      return warn("", path + " is a directory -- ignored");
    }
    if (S_ISLNK(st.st_mode) && !o.force && !o.to_stdout) return fail(path, std::strerror(ELOOP));
    struct stat target;
    if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &target) == 0 && S_ISDIR(target.st_mode)) {
      if (o.recursive) return run_directory(path);
      return warn("", path + " is a directory -- ignored");
    }
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && !o.to_stdout && o.mode != fpgagzip::Mode::test)
      return warn("", path + " is not a directory or a regular file - ignored");
    if (S_ISREG(st.st_mode) && writes_file())
      if (auto why = fpgagzip::special_file(path, st, o.force)) return warn("", *why);
    try {
      fpgaio::Input in(path);
      if (writes_file() && !in.is_regular()) return warn("", path + " is not a directory or a regular file - ignored");
      if (writes_file())
        if (auto why = fpgagzip::special_file(path, in.stat(), o.force)) return warn("", *why);
      o.mode == fpgagzip::Mode::compress ? compress_one(in, path) : decompress_one(in, path);
    } catch (const fpgaio::Error& e) {
      fail(e, path);
    }
  }

  void after_commit(const std::string& in_path, const std::string& out_path, std::uint64_t in_bytes,
                    std::uint64_t out_bytes, bool keep = false, std::uint64_t header_bytes = 0) {
    bool remove = !keep && !o.keep && !o.to_stdout && in_path != "-" && !fpgaio::parse_range(in_path);
    if (remove && ::unlink(in_path.c_str()) != 0) fail(in_path, std::string("cannot remove: ") + std::strerror(errno));
    if (o.verbosity > 0 && in_path != "-") {
      bool compress = o.mode == fpgagzip::Mode::compress;
      std::uint64_t plain = compress ? in_bytes : out_bytes;
      std::uint64_t packed = compress ? out_bytes : in_bytes - std::min(in_bytes, header_bytes);
      std::string what = o.to_stdout ? (o.keep ? " -- created stdout" : " -- replaced with stdout")
                                     : (remove ? " -- replaced with " : " -- created ") + out_path;
      std::fprintf(stderr, "%s:\t%5.1f%%%s\n", in_path.c_str(), fpgagzip::ratio_percent(plain, packed), what.c_str());
    }
  }

  bool input_changed(const fpgaio::Input& in, std::uint64_t bytes_read) {
    auto why = fpgagzip::input_changed(in, bytes_read);
    if (!why) return false;
    warn(in.name(), *why);
    return true;
  }

  void compress_one(fpgaio::Input& in, const std::string& in_path) {
    bool is_stdin = in_path == "-";
    const auto& range = in.range();
    if (!o.to_stdout && !is_stdin && !range && !o.force) {
      if (auto suf = known_suffix(in_path)) {
        if (o.verbosity > 0 || (!o.recursive && o.verbosity >= 0))
          report("", in_path + " already has " + *suf + " suffix -- unchanged");
        return;
      }
    }
    bool out_stdout = o.to_stdout || is_stdin;
    if (out_stdout && fpgacli::is_tty(STDOUT_FILENO) && !o.force) {
      if (o.verbosity >= 0) {
        report("", "compressed data not written to a terminal. Use -f to force compression.");
        std::fprintf(stderr, "For help, type: %s -h\n", fpgacli::program_name().c_str());
      }
      status.error();
      return;
    }
    auto ro = remote_options(is_stdin ? "stdin" : in_path);
    // The name and time the local tool would put in the first member.
    bool save_name = o.save_name.value_or(true), save_time = o.save_time.value_or(true);
    bool heads_file = !range || range->offset == 0;
    if (!is_stdin && save_name && heads_file) ro.name = fpgagzip::base_name(range ? range->path : in_path);
    if (heads_file) ro.comment = o.comment;
    ro.part = in.part();  // a chunk of fpga-split: the FP subfield fpga-gzip would write
    ro.strategy = o.strategy;
    // Standard input has a time when it is a regular file, as in gzip.
    if (save_time && heads_file && (!is_stdin || in.is_regular())) {
      auto t = in.stat().st_mtime;
      if (t > 0 && static_cast<std::uint64_t>(t) <= 0xffffffffu)
        ro.mtime = static_cast<std::uint32_t>(t);
      else
        warn(is_stdin ? "stdin" : in_path, "warning: file timestamp out of range for gzip format");
    }
    fpgacli::ProgressLine bar(progress_enabled(), ro.shown,
                              in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
    ro.progress = [&](std::uint64_t done, std::uint64_t) { bar.update(done); };
    if (out_stdout) {
      fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
      auto st = rm::compress(*hosts, in, sink, ro);
      bar.finish();
      input_changed(in, st.in_bytes);
      after_commit(in_path, "stdout", st.in_bytes, st.out_bytes);
      return;
    }
    std::string out_path = (range ? range->stem() : in_path) + o.suffix;
    bool shortened = false;
    if (auto s = fpgagzip::shortened_name(range ? range->stem() : in_path, o.suffix, true)) {
      out_path = *s;
      shortened = true;
      ro.name = fpgagzip::base_name(range ? range->path : in_path);
    }
    struct stat ost;
    if (::lstat(out_path.c_str(), &ost) == 0 && !o.force) return exists(out_path);
    fpgaio::OutputFile out(out_path, o.force, fpgaio::OutputName::chosen);
    fpgaio::FdSink sink(out.fd(), out_path);
    auto st = rm::compress(*hosts, in, sink, ro);
    bar.finish();
    out.commit(&in.stat(), o.synchronous);
    bool changed = input_changed(in, st.in_bytes);
    if (shortened && o.verbosity == 0) report("", in_path + " compressed to " + out_path);
    after_commit(in_path, out_path, st.in_bytes, st.out_bytes, changed || !out.regular());
  }

  void decompress_one(fpgaio::Input& in, const std::string& in_path) {
    bool is_stdin = in_path == "-";
    std::string shown = is_stdin ? "stdin" : in_path;
    if (is_stdin && fpgacli::is_tty(STDIN_FILENO) && !o.force) {
      if (o.verbosity >= 0) {
        report("", "compressed data not read from a terminal. Use -f to force decompression.");
        std::fprintf(stderr, "For help, type: %s -h\n", fpgacli::program_name().c_str());
      }
      status.error();
      return;
    }
    bool out_stdout = o.to_stdout || is_stdin;
    bool needs_suffix = !is_stdin && !in.range() &&
                        ((o.mode == fpgagzip::Mode::decompress && !out_stdout) ||
                         (o.recursive && o.mode != fpgagzip::Mode::decompress));
    if (needs_suffix && !decompressed_name(in_path)) {
      if (o.verbosity > 0 || (!o.recursive && o.verbosity >= 0)) warn("", in_path + ": unknown suffix -- ignored");
      return;
    }
    auto ro = remote_options(shown);
    // As fpga-gzip's decoder options: -cdf and -tf pass data through.
    ro.pass_through = o.force && ((o.mode == fpgagzip::Mode::decompress && out_stdout) || o.mode == fpgagzip::Mode::test);
    ro.detect_zlib = !ro.pass_through || fpgagzip::has_suffix_ci(fpgagzip::base_name(in_path), ".zz");
    ro.salvage = out_stdout;
    fpgacli::ProgressLine bar(o.mode == fpgagzip::Mode::decompress && progress_enabled(), shown,
                              in.is_regular() ? static_cast<std::uint64_t>(in.stat().st_size) : 0);
    ro.progress = [&](std::uint64_t done, std::uint64_t) { bar.update(done); };
    rm::RemoteDecompressResult r;
    auto header_bytes = [&] { return r.first ? r.first->length + 8 : 0; };
    if (o.mode == fpgagzip::Mode::list) {
      ro.list_only = true;  // sizes from the headers where they are, as fpga-gzip -l
      r = rm::decompress(*hosts, in, nullptr, ro);
      std::string name = is_stdin ? "stdout" : in.range() ? in_path : decompressed_name(in_path).value_or(in_path);
      if (!is_stdin && o.save_name.value_or(false) && r.first && r.first->name && !r.first->name->empty()) {
        std::string n = fpgagzip::base_name(*r.first->name);
        if (n != "." && n != "..") name = fpgagzip::dir_prefix(in_path) + n;
      }
      std::time_t when = r.first && r.first->mtime ? r.first->mtime
                         : in.is_regular() && !in.range() ? in.stat().st_mtime : 0;
      lister.line(name, r.format, r.crc, r.stats.in_bytes, r.stats.out_bytes, header_bytes(), when);
    } else if (o.mode == fpgagzip::Mode::test) {
      r = rm::decompress(*hosts, in, nullptr, ro);
      if (o.verbosity > 0) std::fprintf(stderr, "%s:\t OK\n", shown.c_str());
    } else if (out_stdout) {
      fpgaio::FdSink sink(STDOUT_FILENO, "stdout");
      r = rm::decompress(*hosts, in, &sink, ro);
      bar.finish();
      after_commit(in_path, "stdout", r.stats.in_bytes, r.stats.out_bytes, false, header_bytes());
    } else {
      std::optional<std::string> out_path = decompressed_name(in_path);
      if (o.save_name.value_or(false)) {
        // The name comes from the first header: read it here, before any work.
        std::uint8_t head[65536];
        ssize_t n = ::pread(in.fd(), head, sizeof head, 0);
        if (n > 0) {
          try {
            if (auto h = fpgaio::gzip::parse_header(head, static_cast<std::size_t>(n)); h && h->name && !h->name->empty()) {
              std::string b = fpgagzip::base_name(*h->name);
              if (b != "." && b != "..") out_path = fpgagzip::dir_prefix(in_path) + b;
            }
          } catch (const fpgaio::Error&) {
          }
        }
      }
      if (auto s = fpgagzip::shortened_name(*out_path, "", false)) {
        out_path = s;
        warn(*out_path, "warning, name truncated");
      }
      struct stat ost;
      if (::lstat(out_path->c_str(), &ost) == 0) {
        if (!o.force) return exists(*out_path);
        if (fpgaio::same_file(ost, in.stat())) return fail(in_path, "input and output are the same file");
      }
      fpgaio::OutputFile out(*out_path, o.force, fpgaio::OutputName::chosen);
      fpgaio::FdSink sink(out.fd(), *out_path);
      r = rm::decompress(*hosts, in, &sink, ro);
      bar.finish();
      if (r.zip_more_entries) {  // gzip keeps such a zip file and writes nothing
        for (const auto& w : r.warnings) warn(shown, w);
        return fail("", in_path + " has more than one entry -- unchanged");
      }
      struct stat meta = in.stat();
      if (o.save_time.value_or(false) && r.first && r.first->mtime) {
        meta.st_mtim.tv_sec = r.first->mtime;
        meta.st_mtim.tv_nsec = 0;
      }
      out.commit(&meta, o.synchronous);
      after_commit(in_path, *out_path, r.stats.in_bytes, r.stats.out_bytes, !out.regular(), header_bytes());
    }
    for (const auto& w : r.warnings) warn(shown, w);
    if (r.zip_more_entries) warn("", in_path + " has more than one entry--rest ignored");
    if (r.trailing_garbage) warn("", shown + ": decompression OK, trailing garbage ignored");
  }
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
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string v;
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      print_help();
      return 0;
    } else if (a == "-V" || a == "--version") {
      fpgacli::print_version();
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
      fpgacli::usage_error("unknown option '" + a + "'");
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
    if (!token_file.empty()) cfg.token = read_secret(token_file);
    else if (const char* t = std::getenv("FPGA_REMOTE_TOKEN"); t && *t) cfg.token = t;
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

  // The tool's own options, parsed by fpga-gzip's table under its name.
  std::vector<std::string> targs(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (tool_base == "fpga-infer") {
    // fpga-infer's own table, inputs and outputs here (infer.cpp).
    rm::HostPool pool(hosts, cfg, pick_host(hosts, slot), retries ? retries : static_cast<unsigned>(2 * hosts.size() + 1));
    return fpgaremote::infer_main(pool, targs, tool_base, chunk, jobs);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(tool_base.c_str()));
  for (auto& s : targs) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  fpgacli::set_program_name(tool_base.c_str());
  fpgagzip::Options o = fpgagzip::parse_command_line(static_cast<int>(argv.size() - 1), argv.data());
  fpgacli::set_program_name(kProg);
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
  if (o.files.empty()) o.files.push_back("-");
  Client c{&pool, o, chunk, jobs, {}, fpgagzip::Lister(o.verbosity)};
  for (const auto& f : c.o.files) c.run_operand(f);
  if (c.o.mode == fpgagzip::Mode::list) c.lister.finish(c.o.files.size());
  int code = c.status.code();
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
