#include "shim/process_allocator.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>

#include "alloc/spin_lock.h"

extern "C" char** environ;

namespace vmmem::shim {
namespace detail {
constinit alloc::Allocator* process_allocator = nullptr;
}  // namespace detail

namespace {

alignas(alloc::Allocator) unsigned char allocator_storage[sizeof(alloc::Allocator)];
constinit alloc::SpinLock start_lock;
constinit ShimOptions options{};

void write_line(const char* text) {
  size_t length = std::strlen(text);
  while (length > 0) {
    const ssize_t written = write(STDERR_FILENO, text, length);
    if (written <= 0) return;
    text += written;
    length -= static_cast<size_t>(written);
  }
}

// VMMEM_MALLOC's value, copied into `buffer`; null when unset. Before libc has set environ
// (an allocation by the dynamic loader) it is read from /proc/self/environ.
const char* read_options_variable(char* buffer, size_t size) {
  const size_t name_length = std::strlen(kOptionsVariable);
  if (environ != nullptr) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::strncmp(*entry, kOptionsVariable, name_length) == 0 &&
          (*entry)[name_length] == '=') {
        std::snprintf(buffer, size, "%s", *entry + name_length + 1);
        return buffer;
      }
    }
    return nullptr;
  }
  const int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  // Entries are NUL-separated; keep a window of one entry's worth across reads.
  char chunk[4096];
  size_t held = 0;
  const char* found = nullptr;
  for (;;) {
    const ssize_t got = read(fd, chunk + held, sizeof chunk - held);
    if (got <= 0) break;
    held += static_cast<size_t>(got);
    size_t start = 0;
    for (size_t i = 0; i < held; ++i) {
      if (chunk[i] != '\0') continue;
      const char* entry = chunk + start;
      if (std::strncmp(entry, kOptionsVariable, name_length) == 0 && entry[name_length] == '=') {
        std::snprintf(buffer, size, "%s", entry + name_length + 1);
        found = buffer;
        break;
      }
      start = i + 1;
    }
    if (found != nullptr) break;
    std::memmove(chunk, chunk + start, held - start);
    held -= start;
    if (held == sizeof chunk) held = 0;  // an entry longer than the window: skip it
  }
  close(fd);
  return found;
}

void report_to_stderr(const Status& status, void* /*context*/) {
  report_bad_pointer(status);
}

void before_fork() {
  process_allocator().prepare_fork();
}
void after_fork_in_parent() {
  process_allocator().after_fork_parent();
}
void after_fork_in_child() {
  process_allocator().after_fork_child();
}

// How many threads the process has (Threads: in /proc/self/status), 0 when unknown.
unsigned thread_count() {
  const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[4096];
  const ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0) return 0;
  text[got] = '\0';
  const char* line = std::strstr(text, "\nThreads:");
  unsigned count = 0;
  return line != nullptr && std::sscanf(line, "\nThreads: %u", &count) == 1 ? count : 0;
}

void print_stats() {
  alloc::Allocator& allocator = process_allocator();
  char line[512];
  // stats() walks every heap and needs the other threads out of the allocator.
  if (thread_count() != 1) {
    const alloc::OsCounters os = allocator.os().counters();
    std::snprintf(line, sizeof line,
                  "vmmem malloc: mapped %" PRIu64 " bytes, %" PRIu64 " maps, %" PRIu64
                  " unmaps, %" PRIu64 " purges (other threads still run: no heap walk)\n",
                  os.mapped_bytes, os.maps, os.unmaps, os.purges);
    write_line(line);
    return;
  }
  const alloc::Stats stats = allocator.stats();
  std::snprintf(
      line, sizeof line,
      "vmmem malloc: live %" PRIu64 " blocks (%" PRIu64 " bytes), committed %" PRIu64
      " bytes (peak %" PRIu64 "), reserved %" PRIu64 ", segments %" PRIu64 " (abandoned %" PRIu64
      ", cached %" PRIu64 "), heaps %" PRIu64 ", bad frees %" PRIu64 ", os maps %" PRIu64
      " unmaps %" PRIu64 " purges %" PRIu64 "\n",
      stats.live.blocks, stats.live.bytes, stats.committed_bytes, stats.peak_committed_bytes,
      stats.reserved_bytes, stats.segments, stats.abandoned_segments, stats.cached_segments,
      stats.heaps, stats.reports, stats.os.maps, stats.os.unmaps, stats.os.purges);
  write_line(line);
}

__attribute__((destructor)) void print_stats_at_exit() {
  if (options.stats) print_stats();
}

}  // namespace

alloc::Allocator* detail::start_process_allocator() {
  bool first = false;
  {
    std::lock_guard guard(start_lock);
    if (detail::process_allocator == nullptr) {
      char text[1024];
      const char* value = read_options_variable(text, sizeof text);
      char error[1400];
      if (!parse_shim_options(value, &options, error, sizeof error)) {
        write_line("vmmem malloc: ");
        write_line(error);
        write_line("\n");
        _exit(2);
      }
      alloc::Options allocator_options = shim::allocator_options(options);
      allocator_options.report = report_to_stderr;
      auto* allocator = new (allocator_storage) alloc::Allocator(allocator_options);
      __atomic_store_n(&detail::process_allocator, allocator, __ATOMIC_RELEASE);
      first = true;
    }
  }
  // Registering may allocate, which now finds the allocator built.
  if (first) pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
  return detail::process_allocator;
}

const ShimOptions& process_options() {
  process_allocator();
  return options;
}

void report_bad_pointer(const Status& status) {
  if (!options.hardened) return;
  char line[256];
  std::snprintf(line, sizeof line, "vmmem malloc: %s (pointer 0x%" PRIx64 ")\n", status.what(),
                status.address());
  write_line(line);
}

}  // namespace vmmem::shim
