// Input sources, output sinks, checked writes and atomic output files.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fpgaio {

// Allocates without zero-filling: buffers are always written before they
// are read, and zeroing two megabytes a block cost 10% at level 1.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<std::uint8_t, DefaultInitAllocator<std::uint8_t>>;

namespace detail {
// The system calls io uses, behind one table so tests can inject EINTR,
// short transfers, ENOSPC and EPIPE.
struct Syscalls {
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*write)(int, const void*, size_t);
};
Syscalls& syscalls();
}  // namespace detail

// Writes all of [data, data+n) to fd, retrying on EINTR and short writes.
// Throws Error(io) naming `path` on failure (EPIPE included; callers decide).
void full_write(int fd, const void* data, std::size_t n, const std::string& path);

// One read(2), retried on EINTR; returns 0 only at end of file.
std::size_t read_some(int fd, void* data, std::size_t n, const std::string& path);

// Reads until n bytes or end of file; returns the count read.
std::size_t full_read(int fd, void* data, std::size_t n, const std::string& path);

// Reads exactly n bytes at `offset` (pread); throws Error(io) naming `path`
// on failure or when the file ends first.
void pread_exact(int fd, void* data, std::size_t n, std::uint64_t offset, const std::string& path);

// A file opened read-only for positioned reads, closed by the destructor.
// Errors name `shown` (default: the path).
class ReadFile {
 public:
  explicit ReadFile(const std::string& path, std::string shown = {});
  ~ReadFile();
  ReadFile(const ReadFile&) = delete;
  ReadFile& operator=(const ReadFile&) = delete;
  int fd() const { return fd_; }
  void pread(void* data, std::size_t n, std::uint64_t offset) const { pread_exact(fd_, data, n, offset, shown_); }

 private:
  int fd_;
  std::string shown_;
};

// Copies [offset, offset+length) of fd to out: in the kernel where the sink
// can (Sink::splice_from), else by pread and write. Throws Error(io) naming
// `path`, or Error(corrupt) when the file ends first.
void copy_bytes(int fd, std::uint64_t offset, std::uint64_t length, class Sink& out, const std::string& path);

// A byte range of a file, the operand FILE@INDEX:OFFSET+LENGTH that
// fpga-split --ranges prints and every tool accepts in place of a file
// (fpga-tools(7)). INDEX is the chunk number as written, zero padding kept:
// outputs of a range are named FILE.INDEX plus the tool's suffix.
struct ByteRange {
  std::string path;
  std::string index;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  std::string operand() const;  // the text form
  std::string stem() const { return path + "." + index; }
};

// The range an operand names, or nullopt when it is not in range syntax (or
// FPGA_NO_RANGES is set to a non-empty value other than 0, for files whose
// names really end in "@N:N+N"). Throws Error(usage) for numbers that do not fit.
std::optional<ByteRange> parse_range(const std::string& operand);

// A readable source: a file, a byte range of a file, or standard input when
// the path is "-".
class Input {
 public:
  explicit Input(const std::string& path);  // throws Error(io)
  // Reads [offset, offset+length) of the file; throws Error(io) when the file
  // is shorter than that. stat().st_size is the range's length.
  explicit Input(const ByteRange& range);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  std::size_t read(void* buf, std::size_t n);
  std::size_t read_some(void* buf, std::size_t n);
  int fd() const { return fd_; }
  const std::string& name() const { return name_; }  // "stdin" for "-"; the operand for a range
  const struct stat& stat() const { return st_; }
  bool is_stdin() const { return is_stdin_; }
  bool is_regular() const { return S_ISREG(st_.st_mode); }
  const std::optional<ByteRange>& range() const { return range_; }

 private:
  void open_path(const std::string& path);
  std::size_t clamp(std::size_t n) const;
  [[noreturn]] void range_ended() const;
  int fd_ = -1;
  bool is_stdin_ = false;
  std::string name_;
  struct stat st_ {};
  std::optional<ByteRange> range_;
  std::uint64_t remaining_ = 0;
};


// Where output bytes go. write() may throw Error(io).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(const std::uint8_t* data, std::size_t n) = 0;
  virtual void flush() {}
  // Appends up to `length` bytes of fd from `offset` without a user-space
  // copy; returns how many it did (0: it cannot, the caller copies).
  virtual std::uint64_t splice_from(int /*fd*/, std::uint64_t /*offset*/, std::uint64_t /*length*/) { return 0; }
};

// Writes to a file descriptor it does not own.
class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  void write(const std::uint8_t* data, std::size_t n) override { full_write(fd_, data, n, name_); }
  // copy_file_range(2) when both are files that allow it.
  std::uint64_t splice_from(int fd, std::uint64_t offset, std::uint64_t length) override;

 private:
  int fd_;
  std::string name_;
};

// Discards everything, counting bytes (for -t and -l).
class NullSink : public Sink {
 public:
  void write(const std::uint8_t*, std::size_t n) override { bytes += n; }
  std::uint64_t bytes = 0;
};

// Hands writes to a thread of its own so that the caller's computation
// overlaps the write system calls. Holds at most `max_pending` buffers.
class AsyncSink : public Sink {
 public:
  explicit AsyncSink(Sink& inner, std::size_t max_pending = 4);
  ~AsyncSink() override;  // waits; errors not collected by flush() are dropped
  void write(const std::uint8_t* data, std::size_t n) override;
  void write(Bytes&& buf);  // takes ownership, no copy
  Bytes acquire();          // an empty buffer, recycled when one is free
  void flush() override;    // waits for all pending writes; rethrows a write error

 private:
  void run();
  Sink& inner_;
  std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Bytes> queue_;
  std::vector<Bytes> spare_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

// Whose name an output file has. A name the tool `chosen` (a.gz for a, chunk
// files) is never followed: with overwrite, whatever is there (a symlink to
// /dev/null, a FIFO) is replaced by a regular file. A name the user `given`
// (-o FILE) that is an existing device or FIFO (/dev/null) is written in
// place instead, and never needs overwrite; /dev/stdout, /dev/stderr,
// /dev/fd/N and /proc/self/fd/N write through that descriptor, at its offset.
enum class OutputName { chosen, given };

// True when a `given` output name is written in place (see above).
bool written_in_place(const std::string& path);

// An output file created in the target's directory without a name
// (O_TMPFILE), or where the file system cannot, under a temporary name
// `.name.XXXXXX` (mode 0600) registered for removal by the signal handler.
// commit() gives it the target's name; the destructor discards it.
class OutputFile {
 public:
  OutputFile(std::string path, bool overwrite, OutputName kind);  // throws Error(io)
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // True when the data go to a regular file of the target's name, false when
  // written in place into a device or FIFO: inputs may be removed only then.
  bool regular() const { return !direct_; }
  // A path that opens the file being written, before commit, so that a tool
  // can check what it wrote ("/proc/self/fd/N" while it has no name).
  std::string readable_path() const;
  // Applies mode (less setuid/setgid/sticky), owner (best effort) and times
  // from `meta` if given, checks for write errors, and gives the file the
  // target's name. Without `overwrite`, an existing target makes this fail
  // with EEXIST (also one that appeared since the constructor). `synchronous`
  // (gzip --synchronous): the data reach the disk before the name does, and
  // the directory entry after it (fsync of the file, then of the directory).
  void commit(const struct stat* meta, bool synchronous = false);
  void discard();  // removes the temporary file now

  // Tests: false forces named temporary files (the fallback path).
  static void use_anonymous_temps(bool on);

 private:
  void link_into_place();
  std::string path_, dir_, base_, tmp_;
  bool overwrite_;
  bool direct_ = false;
  int fd_ = -1;
  int slot_ = -1;
};

// Removes every registered temporary file. Async-signal-safe: for handlers.
void remove_registered_temp_files() noexcept;

// True when a and b are the same file (device and inode).
inline bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace fpgaio
