// fpga-remote runs a tool's arguments through that tool's own option table.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"

namespace fpgaremote {

// `parse(argc, argv)` of `tool_args` under `tool_name`, so that its usage
// errors name the tool and fpga-gunzip/fpga-zcat behave by name;
// fpga-remote's own name after.
template <class Parse>
auto parse_as_tool(const std::string& tool_name, const std::vector<std::string>& tool_args, Parse parse) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(tool_name.c_str()));
  for (auto& s : tool_args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  fpgacli::set_program_name(tool_name.c_str());
  auto o = parse(static_cast<int>(argv.size() - 1), argv.data());
  fpgacli::set_program_name("fpga-remote");
  return o;
}

}  // namespace fpgaremote
