// fpga-infer pynq-emu: serve an emulated Pynq-Z1 board with a BNN-PYNQ
// overlay (docs/PYNQ-EMULATION.md) in the foreground until SIGTERM or SIGINT.
#include "pynq_emu.hpp"

#include <signal.h>

#include <atomic>
#include <cstdio>

#include "cli.hpp"
#include "fpgaio/error.hpp"
#include "fpgaio/pynq_emu.hpp"

namespace fpgainfer {

namespace {

namespace pynq = fpgaio::pynq;

enum Id { kOverlay, kPoolMib, kFault, kProcesses, kForce, kQuiet, kHelp };

const std::vector<fpgacli::OptionSpec>& emu_specs() {
  static const std::vector<fpgacli::OptionSpec> s = {
      {0, "overlay", "NAME", "the loaded bitstream: cnvW1A1 (default) or lfcW1A1", kOverlay},
      {0, "pool-mib", "N", "MiB of DMA pool in the file (default 64)", kPoolMib},
      {0, "fault", "F", "answer wrongly on purpose (repeatable; see below)", kFault},
      {'p', "processes", "N", "compute a batch on N threads (default: the cores)", kProcesses},
      {'f', "force", nullptr, "replace FILE even if it is not an emulator's", kForce},
      {'q', "quiet", nullptr, "no messages on stderr when serving starts and stops", kQuiet},
      {'h', "help", nullptr, "show this help and exit", kHelp},
  };
  return s;
}

void print_emu_help() {
  const char* p = fpgacli::program_name().c_str();
  std::printf("Usage: %s pynq-emu [OPTION]... FILE\n"
              "Serve FILE as a Pynq-Z1 board with the BNN-PYNQ overlay loaded, for\n"
              "FPGAIO_PYNQ_EMU=FILE %s --device pynq:0, until SIGTERM or SIGINT.\n"
              "Computes from the parameter words the driver wrote, never from a model file.\n\n",
              p, p);
  std::fputs(fpgacli::format_help(emu_specs()).c_str(), stdout);
  std::printf("\nFaults (runs and words count from 1):\n"
              "  lost-done=N     compute run N writes its outputs but never sets ap_done\n"
              "  wrong-score=K   image K of every compute run gets an impossible score\n"
              "  short-output=N  compute run N leaves its last image unwritten\n"
              "  flip-bit=N      parameter word N is stored with its top kept bit flipped\n"
              "  refuse=N        compute run N is refused (fault set, no ap_done)\n"
              "Exit status: 0 when stopped by a signal, 1 error.\n"
              "Full documentation: man %s\n",
              p);
}

std::atomic<pynq::Emulator*> g_emu{nullptr};
volatile sig_atomic_t g_signal = 0;

void on_stop_signal(int sig) {
  g_signal = sig;
  if (pynq::Emulator* e = g_emu.load()) e->stop();
}

}  // namespace

int pynq_emu_command(const std::vector<std::string>& args) {
  pynq::EmuOptions o;
  bool quiet = false;
  std::vector<std::string> files;
  fpgacli::parse_options(args, emu_specs(), [&](int id, const std::string& v, const std::string& spelled, bool) {
    switch (id) {
      case kOverlay:
        o.overlay = pynq::find_overlay(v.c_str());
        if (!o.overlay) fpgacli::usage_error("pynq-emu: unknown overlay '" + v + "' (cnvW1A1, lfcW1A1)");
        break;
      case kPoolMib: o.pool_size = std::uint64_t{fpgacli::parse_count(v, 1024, "MiB of pool")} << 20; break;
      case kFault:
        try {
          pynq::parse_emu_fault(v, o.faults);
        } catch (const fpgaio::Error& e) {
          fpgacli::usage_error(std::string("pynq-emu: ") + e.what());
        }
        break;
      case kProcesses: o.threads = fpgacli::parse_count(v, 4096, "number of threads"); break;
      case kForce: o.force = true; break;
      case kQuiet: quiet = true; break;
      case kHelp: print_emu_help(); fpgacli::exit_after_output();
      default: fpgacli::usage_error("pynq-emu: unexpected option " + spelled);
    }
  }, files);
  if (files.size() != 1) fpgacli::usage_error(files.empty() ? "pynq-emu needs FILE" : "pynq-emu serves one FILE");
  const std::string& path = files[0];

  // SIGTERM, SIGINT and SIGHUP stop serving: state stopped, exit 0 (not
  // the tools' die-by-the-signal: the file is the emulator's product).
  // SIGINT even where it was ignored (a shell starts background jobs so);
  // SIGHUP not where nohup ignored it.
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    sigaction(s, nullptr, &old);
    if (s != SIGHUP || old.sa_handler != SIG_IGN) sigaction(s, &sa, nullptr);
  }
  try {
    pynq::Emulator emu(path, o);
    g_emu.store(&emu);
    if (g_signal) emu.stop();
    if (!quiet) {
      std::string f = pynq::describe(o.faults);
      char pool[64];
      std::snprintf(pool, sizeof pool, "%llu MiB at 0x%llx", static_cast<unsigned long long>(emu.pool_size() >> 20),
                    static_cast<unsigned long long>(pynq::kEmuPoolPhys));
      fpgacli::report(path, std::string("serving ") + emu.overlay().name + " (pool " + pool + ")" +
                                (f.empty() ? "" : ", faults: " + f) + "; SIGTERM or SIGINT stops");
    }
    try {
      emu.serve();
    } catch (...) {
      g_emu.store(nullptr);
      throw;
    }
    g_emu.store(nullptr);
    if (!quiet) {
      pynq::EmuStats s = emu.stats();
      fpgacli::report(path, "stopped after " + std::to_string(s.words) +
                                (s.words == 1 ? " parameter word and " : " parameter words and ") +
                                std::to_string(s.batches) + (s.batches == 1 ? " batch (" : " batches (") +
                                std::to_string(s.images) + (s.images == 1 ? " image), " : " images), ") +
                                std::to_string(s.refused) + " refused");
    }
  } catch (const fpgaio::Error& e) {
    fpgacli::report(e, path);
    return fpgacli::kError;
  }
  return fpgacli::kOk;
}

}  // namespace fpgainfer
