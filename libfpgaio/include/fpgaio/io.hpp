// Input sources, output sinks, checked writes and atomic output files.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <new>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fpgaio {

class Dir;  // dir.hpp

namespace detail {
// Memory for byte buffers: operator new, except where reserve_huge (below)
// asks for huge pages.
void* alloc_buffer(std::size_t n);
void free_buffer(void* p, std::size_t n) noexcept;
}  // namespace detail

// Allocates without zero-filling: buffers are always written before they
// are read, and zeroing two megabytes a block cost 10% at level 1. Memory
// from detail::alloc_buffer.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned types need their own allocator");
  T* allocate(std::size_t n) {
    if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(detail::alloc_buffer(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { detail::free_buffer(p, n * sizeof(T)); }
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
// Buffers that are filled whole and reused (blocks, members, the writer's)
// from kHugeBuffer bytes up, where the kernel has transparent huge pages
// (Linux x86-64, enabled "always" or "madvise"): whole 2 MiB pages,
// 2 MiB-aligned and advised MADV_HUGEPAGE, so that a MiB block faults in
// once, not 256 times (a fault cost 10-30 us on the development VM: a
// third of fpga-gzip -d's CPU and a fifth of -1's system time were faults
// on fresh buffers; issue 26). Not for buffers filled as data arrives
// (a request body): a 2 MiB page is resident from its first byte.
constexpr std::size_t kHugeBuffer = std::size_t{1} << 20;
// The bytes a huge buffer of n maps: n rounded up to 2 MiB; 0 below
// kHugeBuffer, on 32-bit and where the kernel's THP is "never".
std::size_t huge_mapping(std::size_t n);
// Gives b room for at least `cap` bytes (its bytes kept), on huge pages
// where huge_mapping(cap) says so. Freed as any other Bytes.
void reserve_huge(Bytes& b, std::size_t cap);
}  // namespace detail

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
  std::optional<std::uint64_t> count;  // FILE@INDEX/COUNT:...: how many chunks the split made

  std::string operand() const;  // the text form
  std::string stem() const { return path + "." + index; }
};

// The range an operand names, or nullopt when it is not in range syntax (or
// FPGA_NO_RANGES is set to a non-empty value other than 0, for files whose
// names really end in "@N:N+N"). Throws Error(usage) for numbers that do not fit.
std::optional<ByteRange> parse_range(const std::string& operand);

// Sizes with GNU's units (coreutils split, dd): a decimal number, then
// nothing, b (512), K M G T P E (powers of 1024, k m g too), KiB ... EiB
// (the same), or KB ... EB (powers of 1000). A bare number is multiplied by
// `unit` (pigz's -b counts KiB). A unit without a number is one of it ("K"
// is 1024, "b" 512), as in GNU. nullopt for anything else or an overflow.
std::optional<std::uint64_t> parse_size(const std::string& text, std::uint64_t unit = 1);

// Which chunk of a split an input is: chunk `index` of `count`, whose data
// began at byte `offset` of the split input. fpga-split records it on chunk
// files (extended attribute user.fpga-tools.part, "INDEX/COUNT OFFSET") and
// in range operands (FILE@INDEX/COUNT:OFFSET+LENGTH); fpga-gzip carries it
// into its output (gzip.hpp, subfield FP) so fpga-cat can tell when a part
// is missing. A count of 0 means "not the last chunk, how many is not known
// yet" (a stream's chunks: only the last one knows the count). Standard input
// is chunk FPGA_PART when that is set (fpga-split --filter sets it).
struct PartOf {
  std::uint64_t index = 0, count = 0, offset = 0;
  bool operator==(const PartOf& o) const { return index == o.index && count == o.count && offset == o.offset; }
};
constexpr const char* kPartXattr = "user.fpga-tools.part";
std::string format_part(const PartOf& p);
std::optional<PartOf> parse_part(const std::string& text);  // nullopt unless exactly format_part's form
// Records `p` on an open file; false where the file system keeps no
// extended attributes (the part then carries no count).
bool set_part(int fd, const PartOf& p);
std::optional<PartOf> get_part(int fd);

// A readable source: a file, a byte range of a file, or standard input when
// the path is "-".
class Input {
 public:
  explicit Input(const std::string& path);  // throws Error(io)
  // Reads [offset, offset+length) of the file; throws Error(io) when the file
  // is shorter than that. stat().st_size is the range's length.
  explicit Input(const ByteRange& range);
  // Reads [offset, offset+length) of the open file `fd` by pread, which
  // leaves its file offset alone (others may read the same descriptor); `fd`
  // stays the caller's. Errors name `shown`. stat().st_size is `length`.
  Input(int fd, std::uint64_t offset, std::uint64_t length, std::string shown);
  // Entry `name` of `dir` as a walk opens what it checked (open_checked in
  // dir.hpp): never through a symbolic link unless `follow`, never blocked
  // by a FIFO, and the file `checked` (its lstat) or an Error(io).
  Input(const Dir& dir, const std::string& name, const struct stat* checked, bool follow);
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
  // The chunk this input is, when its range operand or its file says so.
  std::optional<PartOf> part() const;

  // Makes stat().st_size the size of a regular file's content where its
  // stat lies, as GNU split learns it: the first `probe` bytes are read,
  // and a file that ends sooner is that long (/sys says 4096 and holds 2,
  // /proc says 0). Such a file is then read from a copy in memory of what
  // was read (it may change between reads). A file longer than `probe`
  // that says it is shorter is read to its end into that copy, up to
  // `limit` bytes, beyond which this is Error(io) "cannot determine file
  // size". Regular files that tell the truth are left as they are.
  void learn_size(std::size_t probe = 128 << 10, std::uint64_t limit = std::uint64_t{1} << 30);
  // The same for what is not a regular file, for a tool that must know the
  // size before it starts (fpga-split -n): a stream that cannot seek (a
  // pipe, a socket, a terminal) is read to its end into an unnamed file in
  // $TMPDIR (/tmp by default; no limit but its space), and then read from
  // there as a regular file of that size. A device that can seek (/dev/null)
  // is read as GNU split 9.1 reads it: what ends within `probe` bytes is
  // that long; one that holds more (/dev/zero) is Error(io) "cannot
  // determine file size". A regular file or a range is left as it is.
  void learn_stream_size(std::size_t probe = 128 << 10);

 private:
  void open_path(const std::string& path);
  void after_open();
  void replace_with_copy(int copy, std::uint64_t size);
  std::size_t clamp(std::size_t n) const;
  [[noreturn]] void range_ended() const;
  std::size_t read_at(void* buf, std::size_t n, bool full);
  int fd_ = -1;
  bool is_stdin_ = false;
  bool owned_ = true;
  std::optional<std::uint64_t> at_;  // read by pread from here (a held descriptor)
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
  // True when writes cost nothing and keep nothing (-t, /dev/null): an
  // AsyncSink then writes in the caller's thread.
  virtual bool discards() const { return false; }
};

// Writes to a file descriptor it does not own.
class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  void write(const std::uint8_t* data, std::size_t n) override { full_write(fd_, data, n, name_); }
  // copy_file_range(2) when both are files that allow it.
  std::uint64_t splice_from(int fd, std::uint64_t offset, std::uint64_t length) override;
  bool discards() const override;  // the descriptor is /dev/null

 private:
  int fd_;
  std::string name_;
};

// Discards everything, counting bytes (for -t and -l).
class NullSink : public Sink {
 public:
  void write(const std::uint8_t*, std::size_t n) override { bytes += n; }
  bool discards() const override { return true; }
  std::uint64_t bytes = 0;
};

// Hands writes to a thread of its own so that the caller's computation
// overlaps the write system calls. Holds at most `max_pending` buffers, and
// keeps up to `max_spare` written ones (default: max_pending) for acquire().
class AsyncSink : public Sink {
 public:
  // At most max_pending buffers queued and, when max_pending_bytes is not 0,
  // at most that many bytes (a larger buffer still queues when the queue is
  // empty): small outputs keep the writer fed, large ones few pages apart.
  // A writer with nothing to do sleeps until wake_bytes are queued (0: at
  // every write), the queue is full, or flush() or the destructor asks:
  // each wake-up is a futex call and an interrupt to the other core (the
  // decoder's streamed output, 512 KiB a buffer: 1,030 context switches
  // for 512 MiB woken at every buffer, 520 once a MiB is queued; issue 26).
  // When the inner sink discards() there is no thread: the hand-offs would
  // be all the cost.
  explicit AsyncSink(Sink& inner, std::size_t max_pending = 4, std::size_t max_spare = 0,
                     std::size_t max_pending_bytes = 0, std::size_t wake_bytes = 0);
  ~AsyncSink() override;  // waits; errors not collected by flush() are dropped
  void write(const std::uint8_t* data, std::size_t n) override;
  void write(Bytes&& buf);  // takes ownership, no copy
  Bytes acquire();          // an empty buffer, recycled when one is free
  void flush() override;    // waits for all pending writes; rethrows a write error
  void wake();              // the writer starts on what is queued (returns at once)

 private:
  void run();
  Sink& inner_;
  std::size_t max_pending_, max_spare_, max_pending_bytes_, wake_bytes_, queued_bytes_ = 0;
  std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits here
  std::condition_variable room_cv_;  // write() and flush() wait here
  std::deque<Bytes> queue_;
  std::vector<Bytes> spare_;
  bool busy_ = false, stop_ = false;
  const bool direct_;  // inner_ discards: written in the caller's thread
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
// commit() gives it the target's name; the destructor discards it. The
// directory is opened once, when the file is made, and everything after
// (the temporary name, the link or rename on commit, the removal) happens
// in that directory by descriptor: a directory swapped for a symbolic link
// meanwhile does not move the output.
class OutputFile {
 public:
  OutputFile(std::string path, bool overwrite, OutputName kind);  // throws Error(io)
  // Entry `name` of a directory the caller holds open (a walk's): a name
  // the tool chose. Messages name dir.shown(name).
  OutputFile(const Dir& dir, const std::string& name, bool overwrite);
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
  // The file being written, opened again for reading (its own descriptor
  // is write-only), without a path that could be swapped meanwhile.
  int open_readable() const;
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
  void create_unnamed();
  void create_or_close();  // create_unnamed, closing dir_fd_ if it throws
  void link_into_place();
  void register_tmp();
  void unregister_tmp();
  std::string path_, dir_, base_, tmp_;
  bool overwrite_;
  bool direct_ = false;
  int fd_ = -1;
  int dir_fd_ = -1;  // the target's directory (O_PATH)
  int slot_ = -1;
 public:
  // What the signal handler removes: a temporary name in a directory.
  struct TempEntry {
    int dir_fd;
    const char* name;
  };

 private:
  TempEntry entry_{-1, nullptr};
};

// Removes every registered temporary file. Async-signal-safe: for handlers.
void remove_registered_temp_files() noexcept;

// True when a and b are the same file (device and inode).
inline bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace fpgaio
