#include "peers/allocator_peers.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "alloc/sanitizer.h"

namespace vmmem::bench {
namespace {

constexpr const char* kTunable = "glibc.rtld.optional_static_tls=";

template <class F>
F symbol(void* library, const char* name) {
  return reinterpret_cast<F>(dlsym(library, name));
}

void glibc_release() {
  malloc_trim(0);
}

// mimalloc and tcmalloc have their own release calls; jemalloc is told through mallctl.
void (*mimalloc_collect)(bool) = nullptr;
void mimalloc_release() {
  mimalloc_collect(true);
}
void (*tcmalloc_release_free_memory)() = nullptr;
void tcmalloc_release() {
  tcmalloc_release_free_memory();
}
int (*jemalloc_mallctl)(const char*, void*, size_t*, void*, size_t) = nullptr;
void jemalloc_release() {
  jemalloc_mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // 4096: all arenas
}

bool load(const char* library_name, const char* name, const char* malloc_name,
          const char* free_name, const char* calloc_name, const char* realloc_name,
          const char* memalign_name, const char* usable_size_name,
          std::vector<AllocatorPeer>& peers) {
  void* library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "alloc peers: %s not loaded: %s\n", name, dlerror());
    return false;
  }
  AllocatorPeer peer{name,
                     symbol<void* (*)(size_t)>(library, malloc_name),
                     symbol<void (*)(void*)>(library, free_name),
                     symbol<void* (*)(size_t, size_t)>(library, calloc_name),
                     symbol<void* (*)(void*, size_t)>(library, realloc_name),
                     nullptr,
                     symbol<int (*)(void**, size_t, size_t)>(library, memalign_name),
                     symbol<size_t (*)(void*)>(library, usable_size_name)};
  if (peer.malloc == nullptr || peer.free == nullptr || peer.calloc == nullptr ||
      peer.realloc == nullptr) {
    std::fprintf(stderr, "alloc peers: %s lacks its entry points\n", name);
    return false;
  }
  if (std::strcmp(name, "mimalloc") == 0) {
    mimalloc_collect = symbol<void (*)(bool)>(library, "mi_collect");
    if (mimalloc_collect != nullptr) peer.release = mimalloc_release;
  } else if (std::strcmp(name, "tcmalloc") == 0) {
    tcmalloc_release_free_memory = symbol<void (*)()>(library, "MallocExtension_ReleaseFreeMemory");
    if (tcmalloc_release_free_memory != nullptr) peer.release = tcmalloc_release;
  } else if (std::strcmp(name, "jemalloc") == 0) {
    jemalloc_mallctl =
        symbol<int (*)(const char*, void*, size_t*, void*, size_t)>(library, "mallctl");
    if (jemalloc_mallctl != nullptr) peer.release = jemalloc_release;
  }
  peers.push_back(peer);
  return true;
}

std::vector<AllocatorPeer> load_all() {
  std::vector<AllocatorPeer> peers;
  peers.push_back({"glibc", ::malloc, ::free, ::calloc, ::realloc, glibc_release, ::posix_memalign,
                   ::malloc_usable_size});
  // Under a sanitizer the timings mean nothing, and the peers' deliberate process-lifetime
  // objects (tcmalloc's extension registry) are leaks to LeakSanitizer: the smoke run of the
  // sanitizer presets compares with glibc (that is, the sanitizer's malloc) alone.
  if (alloc::kAsanEnabled || alloc::kTsanEnabled) return peers;
  load("libmimalloc.so.2", "mimalloc", "mi_malloc", "mi_free", "mi_calloc", "mi_realloc",
       "mi_posix_memalign", "mi_usable_size", peers);
  load("libjemalloc.so.2", "jemalloc", "malloc", "free", "calloc", "realloc", "posix_memalign",
       "malloc_usable_size", peers);
  load("libtcmalloc_minimal.so.4", "tcmalloc", "tc_malloc", "tc_free", "tc_calloc", "tc_realloc",
       "tc_posix_memalign", "tc_malloc_size", peers);
  return peers;
}

// Re-executes the process with static TLS reserved for dlopen'ed libraries, once.
void ensure_static_tls() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, kTunable) != nullptr) return;
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(cmdline, arg, '\0');)
    args.push_back(arg);
  if (args.empty()) return;
  std::vector<char*> argv;
  for (std::string& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string value = tunables != nullptr ? std::string(tunables) + ":" : std::string();
  value += std::string(kTunable) + "4096";
  setenv("GLIBC_TUNABLES", value.c_str(), 1);
  execv("/proc/self/exe", argv.data());
  // Without it jemalloc will not load and says so; everything else still runs.
}

}  // namespace

const std::vector<AllocatorPeer>& allocator_peers() {
  static const std::vector<AllocatorPeer> peers = [] {
    if (!alloc::kAsanEnabled && !alloc::kTsanEnabled) ensure_static_tls();
    return load_all();
  }();
  return peers;
}

}  // namespace vmmem::bench
