// The progress line.
#include "progress.hpp"

#include <cstdio>

namespace fpgacli {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

ProgressLine::ProgressLine(bool enabled, std::string label, std::uint64_t total)
    : enabled_(enabled), label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::update(std::uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  draw(done);
}

void ProgressLine::draw(std::uint64_t done) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  std::string line = label_ + ": " + human_bytes(static_cast<double>(done));
  if (total_) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%3.0f%%)", 100.0 * static_cast<double>(done) / static_cast<double>(total_));
    line += std::string(" of ") + human_bytes(static_cast<double>(total_)) + pct;
  }
  line += ", " + human_bytes(rate) + "/s";
  if (total_ && rate > 0 && done <= total_) {
    auto left = static_cast<long>((static_cast<double>(total_ - done)) / rate);
    char eta[32];
    std::snprintf(eta, sizeof eta, ", %ld:%02ld left", left / 60, left % 60);
    line += eta;
  }
  std::fprintf(stderr, "\r%-78s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r%78s\r", "");
    std::fflush(stderr);
  }
  drawn_ = false;
}

fpgaio::infer::ProgressHooks infer_progress(bool enabled, std::unique_ptr<ProgressLine>& bar) {
  fpgaio::infer::ProgressHooks hooks;
  hooks.start = [enabled, &bar](const std::string& name, std::uint64_t total) {
    bar = std::make_unique<ProgressLine>(enabled, name, total);
  };
  hooks.update = [&bar](std::uint64_t done) { bar->update(done); };
  hooks.finish = [&bar]() { bar->finish(); };
  return hooks;
}

}  // namespace fpgacli
