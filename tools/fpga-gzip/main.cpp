// fpga-gzip: parse options, open the devices, and walk the operands
// (walk.cpp, shared with fpga-remote) with libfpgaio doing the work here.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli.hpp"
#include "fpgaio/deflate_units.hpp"
#include "fpgaio/device.hpp"
#include "fpgaio/pipeline.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/gzip.hpp"
#include "fpgaio/io.hpp"
#include "gzip-cli/options.hpp"
#include "gzip-cli/walk.hpp"

namespace {

using fpgacli::report;
using fpgagzip::Mode;
using fpgagzip::Options;
namespace gz = fpgaio::gzip;

// An operand's bytes, here: libfpgaio's engines on this host's units and cores.
class LocalWork : public fpgagzip::Work {
 public:
  LocalWork(const Options& o, unsigned threads, fpgaio::UnitPool* units, unsigned cpu_threads, bool unit_fallback)
      : o_(o), threads_(threads), units_(units), cpu_threads_(cpu_threads), unit_fallback_(unit_fallback) {}

  gz::Stats compress(fpgaio::Input& in, fpgaio::Sink& out, const fpgagzip::Head& head, const std::string&,
                     gz::Progress progress) override {
    gz::CompressOptions co = fpgagzip::compress_options(o_, head);
    co.threads = threads_;
    co.units = units_;
    co.cpu_threads = cpu_threads_;
    if (units_ && unit_fallback_)
      co.on_unit_failure = [this](const std::string& what) {
        if (o_.verbosity >= 0) report("", "warning: " + what + "; compressing the rest on the CPU");
      };
    co.progress = std::move(progress);
    return gz::compress(in, out, co);
  }

  std::unique_ptr<fpgagzip::Decoding> decode(fpgaio::Input& in, const fpgagzip::DecodeSettings& s) override {
    gz::DecompressOptions dopt;
    dopt.threads = threads_;
    dopt.list_only = s.list_only;
    dopt.progress = s.progress;
    dopt.pass_through = s.pass_through;
    dopt.detect_zlib = s.detect_zlib;
    return std::make_unique<Decoding>(in, dopt);
  }

 private:
  class Decoding : public fpgagzip::Decoding {
   public:
    Decoding(fpgaio::Input& in, const gz::DecompressOptions& dopt) : dec_(in, dopt), pass_through_(dopt.pass_through) {}
    std::optional<std::string> unreadable() override {
      format_ = dec_.format();
      if (format_ || pass_through_) return std::nullopt;
      // gzip needs two bytes of magic: fewer is a file cut short.
      return dec_.shorter_than_magic() ? "unexpected end of file" : "not in gzip format";
    }
    std::optional<std::string> stored_name() override {
      if (format_ != gz::Format::gzip) return std::nullopt;
      return dec_.first_header().name;
    }
    gz::DecompressResult run(fpgaio::Sink* out) override {
      if (out) return dec_.run(*out);
      fpgaio::NullSink sink;
      return dec_.run(sink);
    }

   private:
    gz::Decoder dec_;
    bool pass_through_;
    std::optional<gz::Format> format_;
  };

  const Options& o_;
  unsigned threads_;
  fpgaio::UnitPool* units_;  // an accelerator's compute units, or none (the CPU engines)
  unsigned cpu_threads_;     // CPU threads that take blocks beside the units
  bool unit_fallback_;       // a unit failing sends the rest to the CPU (no device was named)
};

// Why --xclbin's file cannot be used, or nullopt. It is checked whichever
// device runs: a typo must not pass unseen on a host (or in a run) that uses
// no card. Opened without blocking, so a FIFO is not waited on.
std::optional<std::string> unreadable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::string(std::strerror(errno));
  struct stat st {};
  bool dir = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  ::close(fd);
  if (dir) return std::string(std::strerror(EISDIR));
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  fpgacli::set_program_name(argv[0]);
  fpgacli::install_signal_handlers();
  Options o = fpgagzip::parse_command_line(argc, argv);

  if (!o.xclbin.empty()) {
    if (auto why = unreadable(o.xclbin)) {
      report(o.xclbin, *why);
      return fpgacli::kError;
    }
    fpgaio::set_xclbin(o.xclbin);
  }
  if (o.list_devices) {
    fpgacli::print_devices(o.mode == Mode::compress ? "deflate" : "inflate");
    return fpgacli::leave(fpgacli::close_stdout() ? 0 : 1);
  }
  fpgaio::Device dev;
  fpgaio::OpenedDevice opened;
  std::vector<fpgaio::DeflateUnit*> unit_ptrs;
  std::optional<fpgaio::UnitPool> pool;
  try {
    if (o.mode == Mode::compress) {
      // Cards: one job per card across processes; without a named device a
      // card that is busy or fails gives way to the CPU.
      opened = fpgaio::open_deflate_device(o.device, o.threads);
      dev = opened.device;
    } else {
      dev = fpgaio::select_inflate_device(o.device);
    }
  } catch (const fpgaio::Error& e) {
    report("", e.what());
    return fpgacli::kError;
  }
  for (const auto& w : opened.warnings)
    if (o.verbosity >= 0) report("", "warning: " + w + "; compressing on " + dev.name);
  if (!opened.units.empty()) {
    for (auto& u : opened.units) unit_ptrs.push_back(u.get());
    pool.emplace(unit_ptrs);
  }
  LocalWork work(o, o.threads ? o.threads : dev.kind == fpgaio::DeviceKind::cpu ? fpgaio::default_threads() : dev.slots, pool ? &*pool : nullptr, opened.cpu_threads,
                 !opened.explicit_choice);
  fpgagzip::Walk walk(o, work);
  walk.run();
  int code = walk.status();
  if (!fpgacli::close_stdout()) code = fpgacli::kError;
  pool.reset();  // the units go first (a card's buffers and runs), then leave()
  opened.units.clear();
  return fpgacli::leave(code);
}
