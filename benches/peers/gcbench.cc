#include "peers/gcbench.h"

#include <gc/gc.h>

#include <cstdlib>
#include <cstring>

namespace vmmem::bench {
namespace {

struct Node {
  Node* left;
  Node* right;
  int64_t i;
  int64_t j;
};

int64_t count_nodes(const Node* node) {
  int64_t count = 0;
  const Node* stack[64];
  int top = 0;
  if (node != nullptr) stack[top++] = node;
  while (top > 0) {
    const Node* n = stack[--top];
    ++count;
    if (n->left != nullptr) stack[top++] = n->left;
    if (n->right != nullptr) stack[top++] = n->right;
  }
  return count;
}

// The algorithm once, on an allocator given as a policy: New() makes a zeroed node, Dispose()
// gives a whole tree back (nothing for a collector), NewDoubles() a kept array.
template <class Policy>
int64_t run(const GcBenchParams& params, Policy policy) {
  auto populate = [&](auto& self, int depth, Node* node) -> void {
    if (depth <= 0) return;
    --depth;
    node->left = policy.make();
    node->right = policy.make();
    self(self, depth, node->left);
    self(self, depth, node->right);
  };
  auto make_tree = [&](auto& self, int depth) -> Node* {
    Node* node = policy.make();
    if (depth > 0) {
      node->left = self(self, depth - 1);
      node->right = self(self, depth - 1);
    }
    return node;
  };

  policy.dispose(make_tree(make_tree, params.stretch_depth));
  Node* long_lived = policy.make();
  populate(populate, params.long_lived_depth, long_lived);
  double* array = policy.make_doubles(params.array_size);
  for (int i = 0; i < params.array_size / 2; ++i)
    array[i] = 1.0 / (i + 1);
  for (int depth = params.min_depth; depth <= params.max_depth; depth += 2) {
    const int64_t iters = num_iters(params, depth);
    for (int64_t k = 0; k < iters; ++k) {
      Node* temp = policy.make();
      populate(populate, depth, temp);
      policy.dispose(temp);
    }
    for (int64_t k = 0; k < iters; ++k)
      policy.dispose(make_tree(make_tree, depth));
  }
  const int64_t checksum =
      count_nodes(long_lived) + static_cast<int64_t>(array[params.array_size / 2 - 1] * 1e6);
  policy.dispose(long_lived);
  policy.free_doubles(array);
  return checksum;
}

struct Boehm {
  Node* make() const { return static_cast<Node*>(GC_MALLOC(sizeof(Node))); }
  void dispose(Node*) const {}
  double* make_doubles(int n) const {
    return static_cast<double*>(GC_MALLOC_ATOMIC(sizeof(double) * static_cast<size_t>(n)));
  }
  void free_doubles(double*) const {}
};

struct Malloc {
  Node* make() const { return static_cast<Node*>(std::calloc(1, sizeof(Node))); }
  void dispose(Node* node) const {
    // Iteratively, children first; the stack holds at most depth * 2 nodes.
    Node* stack[128];
    int top = 0;
    if (node != nullptr) stack[top++] = node;
    while (top > 0) {
      Node* n = stack[--top];
      if (n->left != nullptr) stack[top++] = n->left;
      if (n->right != nullptr) stack[top++] = n->right;
      std::free(n);
    }
  }
  double* make_doubles(int n) const {
    return static_cast<double*>(std::calloc(static_cast<size_t>(n), sizeof(double)));
  }
  void free_doubles(double* array) const { std::free(array); }
};

}  // namespace

GcBenchParams gcbench_params() {
  GcBenchParams params;
  const char* scale = std::getenv("VMMEM_GCBENCH_SCALE");
  if (scale != nullptr && std::strcmp(scale, "small") == 0)
    params = {.stretch_depth = 10,
              .long_lived_depth = 8,
              .array_size = 5000,
              .min_depth = 4,
              .max_depth = 8};
  return params;
}

int64_t gcbench_boehm(const GcBenchParams& params) {
  static const bool initialized = [] {
    GC_INIT();
    return true;
  }();
  (void)initialized;
  return run(params, Boehm{});
}

int64_t gcbench_malloc(const GcBenchParams& params) {
  return run(params, Malloc{});
}

}  // namespace vmmem::bench
