// The version of the suite, shared by every tool.
#pragma once

namespace fpgaio {
const char* version();
}
