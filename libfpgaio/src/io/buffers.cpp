// Large byte buffers on transparent huge pages (io.hpp, detail::alloc_buffer).
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "fpgaio/io.hpp"

namespace fpgaio::detail {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_huge(std::size_t n) { return (n + kHugePage - 1) & ~(kHugePage - 1); }

// Whether the kernel gives huge pages to an advised mapping: the file says
// "[always]" or "[madvise]" (not "[never]"), and pointers are 64-bit (a
// 32-bit process has no address space to round every buffer up to 2 MiB).
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

// Freed mappings, kept for the next buffer of the same mapped size: a pool
// that hands out and takes back the same few buffers (a window of blocks)
// then maps them once.
struct Cache {
  std::mutex mu;
  std::vector<std::pair<void*, std::size_t>> free;
  std::size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: buffers may be freed by static destructors
  return *c;
}

void* map_huge(std::size_t size) {
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lk(c.mu);
    for (std::size_t i = c.free.size(); i-- > 0;) {
      if (c.free[i].second != size) continue;
      void* p = c.free[i].first;
      c.free.erase(c.free.begin() + static_cast<std::ptrdiff_t>(i));
      c.bytes -= size;
      return p;
    }
  }
  // One huge page more than asked, then the unaligned head and tail unmapped.
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
  return p;
}

void unmap_huge(void* p, std::size_t size) noexcept {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lk(c.mu);
    if (c.bytes + size <= kHugeCache) {
      try {
        c.free.emplace_back(p, size);
        c.bytes += size;
        return;
      } catch (...) {
      }
    }
  }
  ::munmap(p, size);
}

}  // namespace

std::size_t buffer_mapping(std::size_t n) { return n >= kHugeBuffer && huge_enabled() ? round_huge(n) : 0; }

void* alloc_buffer(std::size_t n) {
  if (std::size_t size = buffer_mapping(n)) return map_huge(size);
  return ::operator new(n);
}

void free_buffer(void* p, std::size_t n) noexcept {
  if (!p) return;
  if (std::size_t size = buffer_mapping(n)) return unmap_huge(p, size);
  ::operator delete(p);
}

}  // namespace fpgaio::detail
