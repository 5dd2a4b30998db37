// Byte buffers' memory, and huge pages for those that ask (io.hpp,
// detail::reserve_huge).
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "fpgaio/io.hpp"

namespace fpgaio::detail {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Whether the kernel gives huge pages to an advised mapping: the file says
// "[always]" or "[madvise]" (not "[never]"), and pointers are 64-bit (a
// 32-bit process has no address space to round buffers up to 2 MiB).
bool huge_pages_usable() {
  if (sizeof(void*) < 8) return false;
  std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
  if (!f) return false;
  char b[128] = {};
  std::size_t n = std::fread(b, 1, sizeof b - 1, f);
  std::fclose(f);
  b[n] = 0;
  return std::strstr(b, "[always]") || std::strstr(b, "[madvise]");
}

bool huge_enabled() {
  static const bool on = huge_pages_usable();
  return on;
}

// The next allocation of this thread is to be huge (set by reserve_huge
// around its reserve, which allocates once).
thread_local bool t_huge_next = false;

// The huge mappings and their sizes: free_buffer tells them from operator
// new's by this, not by their address.
struct Mappings {
  std::mutex mu;
  std::unordered_map<void*, std::size_t> size;
};

Mappings& mappings() {
  static Mappings* m = new Mappings;  // never destroyed: buffers may be freed by static destructors
  return *m;
}

// One huge page more than asked, then the unaligned head and tail unmapped.
void* map_huge(std::size_t size) {
  std::size_t span = size + kHugePage;
  void* m = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto base = reinterpret_cast<std::uintptr_t>(m);
  std::uintptr_t aligned = (base + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
  if (aligned > base) ::munmap(m, aligned - base);
  std::size_t tail = base + span - (aligned + size);
  if (tail) ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, size, MADV_HUGEPAGE);  // advice: without it the buffer still works
  try {
    Mappings& ms = mappings();
    std::lock_guard<std::mutex> lk(ms.mu);
    ms.size.emplace(p, size);
  } catch (...) {
    ::munmap(p, size);
    throw;
  }
  return p;
}

}  // namespace

std::size_t huge_mapping(std::size_t n) {
  return n >= kHugeBuffer && huge_enabled() ? (n + kHugePage - 1) & ~(kHugePage - 1) : 0;
}

void* alloc_buffer(std::size_t n) {
  if (t_huge_next) {
    t_huge_next = false;
    if (std::size_t size = huge_mapping(n)) return map_huge(size);
  }
  return ::operator new(n);
}

void free_buffer(void* p, std::size_t n) noexcept {
  if (!p) return;
  if (n >= kHugeBuffer) {
    Mappings& ms = mappings();
    std::unique_lock<std::mutex> lk(ms.mu);
    auto it = ms.size.find(p);
    if (it != ms.size.end()) {
      std::size_t size = it->second;
      ms.size.erase(it);
      lk.unlock();
      ::munmap(p, size);
      return;
    }
  }
  ::operator delete(p);
}

void reserve_huge(Bytes& b, std::size_t cap) {
  if (b.capacity() >= cap) return;
  if (!huge_mapping(cap)) return b.reserve(cap);
  t_huge_next = true;
  try {
    b.reserve(cap);
  } catch (...) {
    t_huge_next = false;
    throw;
  }
  t_huge_next = false;
}

}  // namespace fpgaio::detail
