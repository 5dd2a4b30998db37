// Checked reads and writes, inputs, and the asynchronous sink.
#include "fpgaio/io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "fpgaio/error.hpp"

namespace fpgaio {

namespace detail {
Syscalls& syscalls() {
  static Syscalls s{::read, ::write};
  return s;
}
}  // namespace detail

void full_write(int fd, const void* data, std::size_t n, const std::string& path) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = detail::syscalls().write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("write error", errno, path);
    }
    if (w == 0) throw_errno("write error", ENOSPC, path);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::size_t read_some(int fd, void* data, std::size_t n, const std::string& path) {
  for (;;) {
    ssize_t r = detail::syscalls().read(fd, data, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) throw_errno("read error", errno, path);
  }
}

std::size_t full_read(int fd, void* data, std::size_t n, const std::string& path) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = detail::syscalls().read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("read error", errno, path);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

Input::Input(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    is_stdin_ = true;
    name_ = "stdin";
  } else {
    name_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) throw_errno("", errno, path);
  }
  if (::fstat(fd_, &st_) != 0) throw_errno("", errno, name_);
  if (S_ISDIR(st_.st_mode)) {
    if (!is_stdin_) ::close(fd_);
    fd_ = -1;
    Error e(ErrorKind::io, "is a directory", EISDIR);
    e.path = name_;
    throw e;
  }
  if (S_ISREG(st_.st_mode)) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

Input::~Input() {
  if (fd_ >= 0 && !is_stdin_) ::close(fd_);
}

AsyncSink::AsyncSink(Sink& inner, std::size_t max_pending)
    : inner_(inner), max_pending_(max_pending ? max_pending : 1), thread_([this] { run(); }) {}

AsyncSink::~AsyncSink() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Bytes AsyncSink::acquire() {
  std::lock_guard<std::mutex> lk(mu_);
  if (spare_.empty()) return {};
  Bytes b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void AsyncSink::write(const std::uint8_t* data, std::size_t n) {
  Bytes b = acquire();
  b.assign(data, data + n);
  write(std::move(b));
}

void AsyncSink::write(Bytes&& buf) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return queue_.size() < max_pending_ || error_; });
  if (error_) std::rethrow_exception(error_);
  queue_.push_back(std::move(buf));
  cv_.notify_all();
}

void AsyncSink::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return (queue_.empty() && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
  lk.unlock();
  inner_.flush();
}

void AsyncSink::run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    Bytes b = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lk.unlock();
    try {
      if (!error_) inner_.write(b.data(), b.size());
    } catch (...) {
      lk.lock();
      error_ = std::current_exception();
      busy_ = false;
      cv_.notify_all();
      continue;
    }
    lk.lock();
    busy_ = false;
    if (spare_.size() < max_pending_) spare_.push_back(std::move(b));
    cv_.notify_all();
  }
}

}  // namespace fpgaio
