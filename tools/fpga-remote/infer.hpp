// fpga-remote's fpga-infer client (infer.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fpgaio/remote.hpp"

namespace fpgaremote {

// Runs `tool_name` (fpga-infer) with `tool_args` on the hosts of `pool`:
// requests of at most `chunk` bytes of images, `jobs` in flight. Returns
// the exit status.
int infer_main(fpgaio::remote::HostPool& pool, const std::vector<std::string>& tool_args,
               const std::string& tool_name, std::size_t chunk, unsigned jobs);

}  // namespace fpgaremote
