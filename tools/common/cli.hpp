// CLI-only policy shared by the tools: diagnostics, exit status, signals,
// terminal checks, standard output closing, and a small option parser.
#pragma once


#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fpgaio/error.hpp"

namespace fpgacli {

// Exit status, as gzip: 0 success, 1 error, 2 warning only.
enum Exit { kOk = 0, kError = 1, kWarning = 2 };

// The program name from argv[0] (basename), used in every message.
void set_program_name(const char* argv0);
const std::string& program_name();

// Tracks the worst status seen so a run can go on after a failure.
class Status {
 public:
  void error() { code_ = kError; }
  void warning() { if (code_ == kOk) code_ = kWarning; }
  int code() const { return code_; }

 private:
  int code_ = kOk;
};

// "prog: path: message" on stderr. Empty path: "prog: message".
void report(const std::string& path, const std::string& message);
// Reports a library error with its context and returns its exit code.
void report(const fpgaio::Error& e, const std::string& fallback_path = {});
// fpga-gzip's (and fpga-remote's) report of an operand's error: a reader
// that went away ends the run (broken_pipe, as in gzip); damaged data in
// gzip's words, which scripts grep for; anything else as report(e).
void report_as_gzip(const fpgaio::Error& e, const std::string& fallback_path);
// "prog: message\nTry 'prog --help' for more information." and exit(1).
[[noreturn]] void usage_error(const std::string& message);

// SIGINT, SIGTERM, SIGHUP, and the crash signals (SIGSEGV, SIGFPE, SIGBUS,
// SIGILL, SIGABRT): remove registered temporary files, then die by the same
// signal. SIGPIPE is ignored so that a closed pipe is a write error (EPIPE)
// the tools handle with broken_pipe().
void install_signal_handlers();

// True for a write error on a pipe whose reader has gone.
bool is_broken_pipe(const fpgaio::Error& e);
// gzip's rule for a reader that went away: die of SIGPIPE (status 141),
// after removing temporary files; but when our parent ignored SIGPIPE,
// report "prog: PATH: Broken pipe" and return kError. Callers remove their
// partial outputs first.
int broken_pipe(const std::string& path = "stdout");

// Closes standard output and reports a failure to flush it (gnulib's
// close_stdout): a full disk is an error, never a silent truncation.
bool close_stdout();

// The exit status to return from main. XRT 2.13 can hang in its static
// destructors (docs/ARCHITECTURE.md): once it was loaded, and everything is
// written and closed, leave without running them.
int leave(int code);

bool is_tty(int fd);

// --list-devices: "SLOTS<TAB>NAME<TAB>DESCRIPTION<TAB>KERNELS" per device,
// SLOTS being the job slots (--device N, GNU parallel's {%}) that pick it
// for `kernel`, e.g. "1-2", or "-" when it cannot run it.
void print_devices(const std::string& kernel);

// Sizes with GNU's units (fpgaio::parse_size, one parser for every tool):
// 1024, 64K, 1M, 2G, 1MiB (powers of 1024), 1MB (1000). `unit` multiplies a
// bare number (pigz's -b takes KiB).
std::optional<std::uint64_t> parse_size(const std::string& s, std::uint64_t unit = 1);

// A whole number in [1, max] for option `what`, else usage_error.
unsigned parse_count(const std::string& value, unsigned max, const std::string& what);

// "prog (fpga-tools) VERSION" on stdout, and exit_after_output(): --version.
[[noreturn]] void print_version();
// -L/--license: the version, the copyright and the Apache-2.0 notice; exits
// like print_version.
[[noreturn]] void print_license();

// Ends --help, --version and the like: exit 0 once standard output is
// written and closed, 1 when that failed (a full disk, as gzip), and by
// SIGPIPE when the reader went away (broken_pipe()).
[[noreturn]] void exit_after_output();

// One option definition drives parsing, --help and the completion test.
struct OptionSpec {
  char short_name;       // 0 if none
  const char* long_name; // nullptr if none
  const char* arg;       // nullptr: takes no argument; else the argument's name;
                         // "[NAME]": optional, given only as --opt=VALUE
  const char* help;
  int id;
};

// Parses gzip-style arguments: clustered short options (-dc, -9v, -p2),
// "-p 2", "--opt=v", "--opt v", unique prefixes of long options, "--" and
// "-" as operands. Calls on_option(id, value, spelling, clustered), where
// clustered means a short option that follows another in one argument.
// Errors call usage_error.
void parse_options(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                   const std::function<void(int id, const std::string& value, const std::string& spelled, bool clustered)>& on_option,
                   std::vector<std::string>& operands);

// Formats the option table for --help, within 80 columns.
std::string format_help(const std::vector<OptionSpec>& specs);

}  // namespace fpgacli
