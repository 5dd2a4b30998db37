// A folder under /tmp for one test, removed with everything in it when the
// test ends.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <string>

namespace testutil {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/fpgaio-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    if (std::system(("rm -rf '" + path + "'").c_str()) != 0) {
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace testutil
