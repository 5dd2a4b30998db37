// make_arrow: writes a test Arrow IPC stream or file to standard output
// (arrow_builder.hpp), for the Bats suites and bench/arrow.sh.
//   make_arrow [--batches N] [--rows N] [--dict] [--delta] [--replace]
//              [--legacy] [--no-eos] [--file] [--footer-only] [--name NAME]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "arrow_builder.hpp"

int main(int argc, char** argv) {
  arrowtest::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "make_arrow: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--batches") o.batches = std::atoi(value().c_str());
    else if (a == "--rows") o.rows = std::atoll(value().c_str());
    else if (a == "--dict") o.dict = true;
    else if (a == "--delta") o.dict = o.delta = true;
    else if (a == "--replace") o.dict = o.replace = true;
    else if (a == "--legacy") o.legacy = true;
    else if (a == "--no-eos") o.eos = false;
    else if (a == "--file") o.file = true;
    else if (a == "--footer-only") o.file = o.footer_only = true;
    else if (a == "--name") o.name = value();
    else {
      std::fprintf(stderr, "make_arrow: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  arrowtest::Writer w;
  w.o = o;
  w.sink = stdout;  // a batch at a time
  w.build();
  return std::fflush(stdout) == 0 ? 0 : 1;
}
