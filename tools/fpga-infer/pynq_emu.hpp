// fpga-infer pynq-emu: the emulated Pynq-Z1 board (fpgaio/pynq_emu.hpp)
// as a foreground command.
#pragma once

#include <string>
#include <vector>

namespace fpgainfer {

// args: what follows "pynq-emu". Returns the exit status.
int pynq_emu_command(const std::vector<std::string>& args);

}  // namespace fpgainfer
