// The version string, set by CMake.
#include "fpgaio/version.hpp"

namespace fpgaio {
const char* version() { return FPGAIO_VERSION; }
}  // namespace fpgaio
