// Diagnostics, signals, standard output and option parsing for the tools.
#include "cli.hpp"

#include "fpgaio/device.hpp"
#include "fpgaio/version.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fpgaio/io.hpp"

namespace fpgacli {

namespace {
std::string g_program = "fpga-tools";
bool g_sigpipe_ignored = false;  // by our parent, before exec

void on_fatal_signal(int sig) {
  fpgaio::remove_registered_temp_files();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace

void set_program_name(const char* argv0) {
  std::string s = argv0 ? argv0 : "fpga-tools";
  auto slash = s.rfind('/');
  g_program = slash == std::string::npos ? s : s.substr(slash + 1);
}

const std::string& program_name() { return g_program; }

void report(const std::string& path, const std::string& message) {
  std::string line = g_program + ": ";
  if (!path.empty()) line += path + ": ";
  line += message + "\n";
  std::fputs(line.c_str(), stderr);
}

void report(const fpgaio::Error& e, const std::string& fallback_path) {
  std::string path = e.path.empty() ? fallback_path : e.path;
  // One wording in every tool for an output that is there already: gzip's.
  if (e.kind() == fpgaio::ErrorKind::io && e.error_number() == EEXIST && !path.empty()) {
    std::fputs((g_program + ": " + path + " already exists;\tnot overwritten\n").c_str(), stderr);
    return;
  }
  report(path, e.describe());
}

void report_as_gzip(const fpgaio::Error& e, const std::string& fallback_path) {
  if (is_broken_pipe(e)) std::exit(broken_pipe(e.path));
  if (e.kind() != fpgaio::ErrorKind::corrupt) return report(e, fallback_path);
  for (const auto& line : e.describe_as_gzip()) report(e.path.empty() ? fallback_path : e.path, line);
}

void usage_error(const std::string& message) {
  std::fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", g_program.c_str(), message.c_str(),
               g_program.c_str());
  std::exit(kError);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    sigaction(s, nullptr, &old);
    if (old.sa_handler != SIG_IGN) sigaction(s, &sa, nullptr);  // keep nohup's SIG_IGN
  }
  // A crash must not leave temporary files either: remove them, then die
  // of the same signal (the handler returns and the fault recurs under
  // SIG_DFL; abort() raises again itself).
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(s, &sa, nullptr);
  struct sigaction old {};
  sigaction(SIGPIPE, nullptr, &old);
  g_sigpipe_ignored = old.sa_handler == SIG_IGN;
  ::signal(SIGPIPE, SIG_IGN);
}

bool is_broken_pipe(const fpgaio::Error& e) {
  return e.kind() == fpgaio::ErrorKind::io && e.error_number() == EPIPE;
}

int broken_pipe(const std::string& path) {
  if (!g_sigpipe_ignored) {
    fpgaio::remove_registered_temp_files();
    ::signal(SIGPIPE, SIG_DFL);
    ::raise(SIGPIPE);
  }
  report(path.empty() ? "stdout" : path, std::strerror(EPIPE));
  return kError;
}

int leave(int code) {
  if (fpgaio::xrt_runtime_loaded()) {
    std::fflush(stderr);
    std::_Exit(code);
  }
  return code;
}

bool close_stdout() {
  if (std::fflush(stdout) != 0 || (::close(STDOUT_FILENO) != 0 && errno != EBADF)) {
    if (errno == EPIPE) return broken_pipe("stdout") == kOk;
    report("stdout", std::string("write error: ") + std::strerror(errno));
    return false;
  }
  return true;
}

bool is_tty(int fd) { return ::isatty(fd) == 1; }

std::optional<std::uint64_t> parse_size(const std::string& s, std::uint64_t unit) {
  return fpgaio::parse_size(s, unit);
}

void parse_options(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                   const std::function<void(int, const std::string&, const std::string&, bool)>& on_option,
                   std::vector<std::string>& operands) {
  bool only_operands = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_operands || a == "-" || a.size() < 2 || a[0] != '-') {
      operands.push_back(a);
      continue;
    }
    if (a == "--") {
      only_operands = true;
      continue;
    }
    if (a[1] == '-') {
      std::string name = a.substr(2), value;
      bool has_value = false;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      const OptionSpec* match = nullptr;
      int prefix_matches = 0;
      for (const auto& s : specs) {
        if (!s.long_name) continue;
        std::string ln = s.long_name;
        if (ln == name) {
          match = &s;
          prefix_matches = 1;
          break;
        }
        if (ln.compare(0, name.size(), name) == 0) {
          if (!match || match->id != s.id) ++prefix_matches;
          match = &s;
        }
      }
      if (!match) usage_error("unrecognized option '--" + name + "'");
      if (prefix_matches > 1) usage_error("option '--" + name + "' is ambiguous");
      if (match->arg && match->arg[0] == '[') {
        // An optional argument: only as --opt=VALUE.
      } else if (match->arg) {
        if (!has_value) {
          if (i + 1 >= args.size()) usage_error("option '--" + std::string(match->long_name) + "' requires an argument");
          value = args[++i];
        }
      } else if (has_value) {
        usage_error("option '--" + std::string(match->long_name) + "' doesn't allow an argument");
      }
      on_option(match->id, value, "--" + std::string(match->long_name), false);
      continue;
    }
    for (std::size_t j = 1; j < a.size(); ++j) {
      char c = a[j];
      const OptionSpec* match = nullptr;
      for (const auto& s : specs)
        if (s.short_name == c) match = &s;
      if (!match) usage_error(std::string("invalid option -- '") + c + "'");
      std::string value;
      if (match->arg) {
        if (j + 1 < a.size()) {
          value = a.substr(j + 1);
        } else {
          if (i + 1 >= args.size()) usage_error(std::string("option requires an argument -- '") + c + "'");
          value = args[++i];
        }
        on_option(match->id, value, std::string("-") + c, j > 1);
        break;
      }
      on_option(match->id, value, std::string("-") + c, j > 1);
    }
  }
}

std::string format_help(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!s.help) continue;
    std::string left = "  ";
    left += s.short_name ? std::string("-") + s.short_name : "  ";
    if (s.long_name) left += std::string(s.short_name ? ", " : "  ") + "--" + s.long_name;
    if (s.arg && s.arg[0] == '[') left += std::string("[=") + (s.arg + 1);
    else if (s.arg) left += std::string(s.long_name ? "=" : " ") + s.arg;
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    // Wrapped at word boundaries to fit 80 columns.
    std::string text = s.help;
    while (text.size() > 80 - 28) {
      auto cut = text.rfind(' ', 80 - 28);
      if (cut == std::string::npos || cut == 0) break;
      left += text.substr(0, cut) + "\n" + std::string(28, ' ');
      text = text.substr(cut + 1);
    }
    out += left + text + "\n";
  }
  return out;
}

unsigned parse_count(const std::string& value, unsigned max, const std::string& what) {
  auto n = parse_size(value);
  if (!n || *n == 0 || *n > max || value.find_first_not_of("0123456789") != std::string::npos)
    usage_error("invalid " + what + " '" + value + "'");
  return static_cast<unsigned>(*n);
}

void print_version() {
  std::printf("%s (fpga-tools) %s\n", program_name().c_str(), fpgaio::version());
  exit_after_output();
}

void print_license() {
  std::printf("%s (fpga-tools) %s\n"
              "Copyright 2026 the fpga-tools authors.\n"
              "Licensed under the Apache License, Version 2.0 (the \"License\");\n"
              "you may not use this software except in compliance with the License.\n"
              "You may obtain a copy of the License at\n"
              "    https://www.apache.org/licenses/LICENSE-2.0\n"
              "(installed as /usr/share/doc/fpga-tools/copyright; LICENSE in the source).\n"
              "Unless required by applicable law or agreed to in writing, software\n"
              "distributed under the License is distributed on an \"AS IS\" BASIS,\n"
              "WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n",
              program_name().c_str(), fpgaio::version());
  exit_after_output();
}

void exit_after_output() { std::exit(close_stdout() ? kOk : kError); }

void print_devices(const std::string& kernel) {
  auto slots = fpgaio::job_slots(kernel);
  for (const auto& d : fpgaio::list_devices()) {
    std::size_t first = 0, last = 0;
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].index != d.index) continue;
      if (!first) first = i + 1;
      last = i + 1;
    }
    std::string range = !first ? "-" : first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
    std::string k;
    for (const auto& x : d.kernels) k += (k.empty() ? "" : ",") + x;
    std::printf("%s\t%s\t%s\t%s\n", range.c_str(), d.name.c_str(), d.description.c_str(), k.c_str());
  }
  for (const auto& d : fpgaio::named_only_devices()) {
    if (std::find(d.kernels.begin(), d.kernels.end(), kernel) == d.kernels.end()) continue;
    std::string k;
    for (const auto& x : d.kernels) k += (k.empty() ? "" : ",") + x;
    std::printf("-\t%s\t%s\t%s\n", d.name.c_str(), d.description.c_str(), k.c_str());
  }
  // Where XRT is set up but lists no card, say why (on stderr: the list
  // itself stays machine-readable).
  const char* xrt = std::getenv("XILINX_XRT");
  std::string why = fpgaio::xrt_unavailable_reason();
  if (xrt && *xrt && !why.empty()) report("", "XRT: " + why);
}

}  // namespace fpgacli
