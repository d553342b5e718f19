// Runs under LD_PRELOAD=libvmmem_malloc.so (ctest label: shim) and checks the C and C++
// allocation contracts the drop-in promises (src/shim/malloc_api.cc), fork from a process with
// running threads, threads that exit with live blocks, allocation inside dlsym/dlerror and
// before main. Prints the first failed check and exits 1.
//
//   shim_semantics             every check
//   shim_semantics foreign     frees pointers no allocator of ours returned (hardened mode must
//                              report them, plain mode ignore them; both go on)
//   shim_semantics double      frees one block twice (hardened mode reports it)
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;

#define EXPECT(condition)                                                          \
  do {                                                                             \
    if (!(condition)) {                                                            \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

bool aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

// Opaque to the compiler, so that it does not fold a malloc/free pair or a huge request.
size_t opaque(size_t n) {
  static volatile size_t sink;
  sink = n;
  return sink;
}

void* before_main_block = nullptr;
__attribute__((constructor(101))) void allocate_before_main() {
  before_main_block = malloc(100);
  std::memset(before_main_block, 7, 100);
}

void check_the_shim_is_loaded() {
  Dl_info info{};
  void* symbol = dlsym(RTLD_DEFAULT, "malloc");
  EXPECT(symbol != nullptr && dladdr(symbol, &info) != 0);
  EXPECT(info.dli_fname != nullptr && std::strstr(info.dli_fname, "libvmmem_malloc") != nullptr);
  // dlerror's message is allocated by the loader through malloc.
  EXPECT(dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere") == nullptr);
  const char* error = dlerror();
  EXPECT(error != nullptr && std::strstr(error, "no_such_symbol_anywhere") != nullptr);
  EXPECT(before_main_block != nullptr && malloc_usable_size(before_main_block) >= 100);
  free(before_main_block);
}

void check_malloc_free_calloc() {
  void* a = malloc(0);
  void* b = malloc(0);
  EXPECT(a != nullptr && b != nullptr && a != b);
  free(a);
  free(b);
  free(nullptr);
  for (size_t size : {1, 8, 24, 100, 1000, 5000, 40000, 300000, 5000000}) {
    auto* p = static_cast<unsigned char*>(malloc(size));
    EXPECT(p != nullptr && aligned(p, size >= 16 ? 16 : 8) && malloc_usable_size(p) >= size);
    std::memset(p, 0xab, size);
    free(p);
    auto* z = static_cast<unsigned char*>(calloc(size, 1));
    bool zero = true;
    for (size_t i = 0; i < size; ++i)
      zero = zero && z[i] == 0;
    EXPECT(zero);
    free(z);
  }
  errno = 0;
  EXPECT(malloc(opaque(SIZE_MAX - 64)) == nullptr && errno == ENOMEM);
  errno = 0;
  EXPECT(calloc(opaque(SIZE_MAX / 2), 3) == nullptr && errno == ENOMEM);
  errno = 0;
  EXPECT(calloc(opaque(size_t{1} << 62), 1) == nullptr && errno == ENOMEM);
  // A product that wraps to 16 bytes.
  errno = 0;
  EXPECT(calloc(opaque((SIZE_MAX / 16) + 2), 16) == nullptr && errno == ENOMEM);
  EXPECT(malloc_usable_size(nullptr) == 0);
}

void check_realloc() {
  auto* p = static_cast<char*>(realloc(nullptr, 10));
  EXPECT(p != nullptr);
  std::memcpy(p, "012345678", 10);
  p = static_cast<char*>(realloc(p, 100000));
  EXPECT(p != nullptr && std::memcmp(p, "012345678", 10) == 0);
  p = static_cast<char*>(realloc(p, 3));
  EXPECT(p != nullptr && std::memcmp(p, "012", 3) == 0);
  errno = 0;
  EXPECT(realloc(p, opaque(SIZE_MAX - 64)) == nullptr && errno == ENOMEM);
  EXPECT(std::memcmp(p, "012", 3) == 0);  // untouched after the failure
  EXPECT(realloc(p, 0) == nullptr);       // frees, as glibc does
  void* q = realloc(nullptr, 0);
  EXPECT(q != nullptr);
  // Through a pointer the compiler cannot see, which would take q for freed after the call.
  void* (*volatile realloc_array)(void*, size_t, size_t) = reallocarray;
  errno = 0;
  EXPECT(realloc_array(q, opaque(SIZE_MAX / 2), 4) == nullptr && errno == ENOMEM);
  errno = 0;
  EXPECT(realloc_array(q, opaque((SIZE_MAX / 16) + 2), 16) == nullptr && errno == ENOMEM);
  q = realloc_array(q, 100, 8);
  EXPECT(q != nullptr && malloc_usable_size(q) >= 800);
  free(q);
}

void check_aligned() {
  void* p = nullptr;
  const int saved = errno = 1234;
  EXPECT(posix_memalign(&p, 3, 16) == EINVAL && errno == saved);
  EXPECT(posix_memalign(&p, 4, 16) == EINVAL);  // below sizeof(void*)
  EXPECT(posix_memalign(&p, 24, 16) == EINVAL);
  EXPECT(posix_memalign(&p, opaque(size_t{1} << 22), 16) == ENOMEM);  // above 2 MiB
  EXPECT(posix_memalign(&p, 64, opaque(SIZE_MAX - 64)) == ENOMEM && errno == saved);
  for (size_t alignment = 8; alignment <= (size_t{1} << 21); alignment *= 4) {
    EXPECT(posix_memalign(&p, alignment, 100) == 0 && aligned(p, alignment));
    free(p);
    p = aligned_alloc(alignment, alignment * 2);
    EXPECT(p != nullptr && aligned(p, alignment));
    free(p);
    p = memalign(alignment, 10);
    EXPECT(p != nullptr && aligned(p, alignment));
    free(p);
  }
  errno = 0;
  EXPECT(aligned_alloc(opaque(48), 96) == nullptr && errno == EINVAL);
  p = memalign(opaque(48), 10);  // rounded up to 64, as glibc does
  EXPECT(p != nullptr && aligned(p, 64));
  free(p);
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  p = valloc(10);
  EXPECT(p != nullptr && aligned(p, page));
  free(p);
  p = pvalloc(10);
  EXPECT(p != nullptr && aligned(p, page) && malloc_usable_size(p) >= page);
  free(p);
  errno = 0;
  EXPECT(pvalloc(opaque(SIZE_MAX - 10)) == nullptr && errno == ENOMEM);
}

int handler_calls = 0;
void give_up_handler() {
  ++handler_calls;
  std::set_new_handler(nullptr);
}
void throwing_handler() {
  ++handler_calls;
  throw std::bad_alloc();
}

struct alignas(256) OverAligned {
  char bytes[256];
};

void check_new_delete() {
  auto* one = new int(5);
  delete one;
  auto* many = new int[1000];
  delete[] many;
  auto* big = new OverAligned;
  EXPECT(aligned(big, 256));
  delete big;
  auto* bigs = new OverAligned[3];
  EXPECT(aligned(bigs, 256));
  delete[] bigs;
  void* p = ::operator new (100, std::align_val_t{4096}, std::nothrow);
  EXPECT(p != nullptr && aligned(p, 4096));
  ::operator delete (p, 100, std::align_val_t{4096});
  EXPECT(::operator new(opaque(SIZE_MAX - 64), std::nothrow) == nullptr);
  EXPECT(::operator new[](opaque(SIZE_MAX - 64), std::nothrow) == nullptr);
  bool threw = false;
  std::set_new_handler(give_up_handler);
  try {
    p = ::operator new(opaque(SIZE_MAX - 64));
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT(threw && handler_calls == 1);
  threw = false;
  try {
    p = ::operator new (16, std::align_val_t{size_t{1} << 23});
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT(threw);
  // A handler that throws: the nothrow forms turn its bad_alloc into null, the others pass it on.
  handler_calls = 0;
  std::set_new_handler(throwing_handler);
  EXPECT(::operator new(opaque(SIZE_MAX - 64), std::nothrow) == nullptr&& handler_calls == 1);
  EXPECT(::operator new[](opaque(SIZE_MAX - 64), std::align_val_t{64}, std::nothrow) ==
         nullptr&& handler_calls == 2);
  threw = false;
  try {
    p = ::operator new[](opaque(SIZE_MAX - 64), std::align_val_t{64});
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  EXPECT(threw && handler_calls == 3);
  std::set_new_handler(nullptr);
  std::string text(1000, 'x');
  text += text;
  EXPECT(text.size() == 2000);
}

// Threads exit with blocks alive; the main thread and other threads free them afterwards.
void check_thread_exit() {
  constexpr int kThreads = 8;
  std::vector<void*> blocks[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&blocks, t] {
      for (size_t i = 0; i < 2000; ++i) {
        void* p = malloc(8 + (i * 37) % 3000);
        if (i % 3 == 0) {
          free(p);
        } else {
          blocks[t].push_back(p);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  threads.clear();
  // Half freed by fresh threads (their owners are gone), half by this one.
  for (int t = 0; t < kThreads; t += 2) {
    threads.emplace_back([&blocks, t] {
      for (void* p : blocks[t])
        free(p);
    });
  }
  for (int t = 1; t < kThreads; t += 2) {
    for (void* p : blocks[t])
      free(p);
  }
  for (auto& thread : threads)
    thread.join();
}

// fork while other threads allocate and free: the child allocates (also from new threads) and
// frees blocks the parent's threads had, and exits normally.
void check_fork() {
  std::atomic<bool> stop{false};
  std::vector<void*> held(4, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&stop, &held, t] {
      held[t] = malloc(1000 + t);
      std::vector<void*> mine;
      for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        mine.push_back(malloc(16 + i % 5000));
        if (mine.size() > 200) {
          for (void* p : mine)
            free(p);
          mine.clear();
        }
      }
      for (void* p : mine)
        free(p);
    });
  }
  // A thread inside the allocator's locked paths most of the time (huge blocks go through the
  // allocator's lock both ways), so forks land while it holds the lock.
  threads.emplace_back([&stop] {
    while (!stop.load(std::memory_order_relaxed))
      free(malloc(opaque(size_t{5} << 20)));
  });
  for (int round = 0; round < 24; ++round) {
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(20);  // a lock inherited held would hang the child: fail instead
      int bad = 0;
      free(malloc(opaque(size_t{6} << 20)));
      std::vector<void*> blocks;
      for (size_t i = 0; i < 5000; ++i)
        blocks.push_back(malloc(i % 70000));
      for (void* p : blocks)
        free(p);
      for (void* p : held)
        free(p);  // blocks of threads that do not exist here
      std::thread child_thread([&bad] {
        void* p = malloc(123);
        bad += p == nullptr;
        free(p);
      });
      child_thread.join();
      _exit(bad);
    }
    int status = 0;
    EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0);
  }
  stop.store(true);
  for (auto& thread : threads)
    thread.join();
  for (void* p : held)
    free(p);
}

// Pointers from outside: the stack, a static buffer, an mmap.
void free_foreign_pointers() {
  static char static_buffer[64];
  char stack_buffer[64];
  void* mapped = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  free(static_buffer + opaque(0));
  free(stack_buffer + opaque(0));
  free(mapped);
  errno = 0;
  EXPECT(realloc(mapped, 100) == nullptr && errno == ENOMEM);
  EXPECT(malloc_usable_size(mapped) == 0);
  munmap(mapped, 4096);
  std::puts("foreign frees survived");
}

void free_twice() {
  void* neighbour = malloc(64);  // keeps the page in use, so the second free finds it
  void* p = malloc(64);
  free(p);
  free(p);
  free(neighbour);
  std::puts("double free survived");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "foreign") {
    free_foreign_pointers();
    return failures == 0 ? 0 : 1;
  }
  if (mode == "double") {
    free_twice();
    return 0;
  }
  check_the_shim_is_loaded();
  check_malloc_free_calloc();
  check_realloc();
  check_aligned();
  check_new_delete();
  check_thread_exit();
  check_fork();
  if (failures != 0) return 1;
  std::puts("all shim checks passed");
  return 0;
}
