// A progress line on stderr: bytes done, rate, and time left.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "fpgaio/infer.hpp"

namespace fpgacli {

class ProgressLine {
 public:
  // total = 0 when unknown (a pipe). Prints nothing unless `enabled`.
  ProgressLine(bool enabled, std::string label, std::uint64_t total);
  ~ProgressLine();
  void update(std::uint64_t done);  // cheap; redraws at most 10 times a second
  void finish();                    // clears the line

 private:
  void draw(std::uint64_t done);
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string human_bytes(double bytes);

// The hooks of an fpga-infer run (fpgaio::infer::Run) that draw one
// ProgressLine, held in `bar`, for each input.
fpgaio::infer::ProgressHooks infer_progress(bool enabled, std::unique_ptr<ProgressLine>& bar);

}  // namespace fpgacli
