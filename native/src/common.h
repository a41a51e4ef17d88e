// gradlab's native kernels: shared pieces (engine, threads, caches, heap access).
//
// What this addon is: a few oneDNN primitives that gradlab registers as tfjs wasm-backend kernels
// (src/backend/native/). Pinned to oneDNN 2.x's API (Debian's libdnnl-dev 2.6): 3.x changed
// primitive descriptors incompatibly, so the build fails loudly on any other major version.
//
// Layout rules:
// - Activations are NHWC float32 and are read and written IN PLACE on the wasm heap: JavaScript
//   passes the module's heap view (a Uint8Array; Node's N-API rejects a bare SharedArrayBuffer)
//   plus byte offsets, taken after the output was allocated. Nothing is copied in or out.
// - Filters arrive in tfjs's layout (HWIO, or [KH, KW, C, multiplier] for depthwise = groups C) and
//   are reordered to the blocked format the primitive picks ("any"), cached per weight tensor
//   (key: the wasm backend's tensor id, never reused) and per pass. JavaScript drops an entry when
//   its tensor is gone.
// - Filter gradients are computed in the primitive's format and reordered into the HWIO output.
//
// Threading rules:
// - Calls come from Node's main thread and from heavy-work worker threads, each with its own tfjs
//   backend. The engine is shared (oneDNN engines are thread-safe); the stream, the primitive
//   cache, the reordered-filter cache (keyed by a backend's tensor ids, which collide across
//   threads) and the current thread count are per calling thread (thread_local), so no lock is
//   needed and a worker's state dies with it. oneDNN uses OpenMP (libgomp) threads.
// - Worker threads run every call on one thread (their parallelism is the worker pool), so they
//   never start an OpenMP team, whose teardown in a terminated worker crashed the process on exit.
// - JavaScript passes the thread count per call (1 below a size threshold, all cores above); a
//   primitive fixes its thread count when created, so the primitive cache key includes it.
// - OpenMP waits passively (JavaScript sets OMP_WAIT_POLICY before loading this addon), so its
//   threads never spin on the cores that tfjs's wasm thread pool uses next.
#pragma once

#include <dnnl.hpp>
#include <node_api.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#if DNNL_VERSION_MAJOR != 2
#error "gradlab's native kernels are written against oneDNN 2.x (found another major version)"
#endif

namespace gradlab {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Sets OpenMP's thread count for the calls that follow (no-op when unchanged).
void use_threads(int threads);

// A bounded view of the wasm heap: pointers at byte offsets, range-checked.
struct Heap {
  uint8_t* base;
  size_t bytes;
  float* at(double offset, size_t count) const;
};

// Reordered filters per (weight tensor id, pass), least recently used first out above a byte cap.
class WeightCache {
 public:
  // The cached memory for `key`/`pass` if its descriptor is `desc`, else nullptr.
  dnnl::memory* find(double key, int pass, const dnnl::memory::desc& desc);
  dnnl::memory& store(double key, int pass, dnnl::memory mem);
  void drop(double key);
  size_t size() const { return entries_.size(); }
  void clear();

 private:
  struct Entry {
    double key;
    int pass;
    dnnl::memory mem;
    size_t bytes;
  };
  std::list<Entry> entries_;  // most recently used at the front
  size_t total_bytes_ = 0;
  static constexpr size_t kMaxBytes = size_t(512) << 20;
};

WeightCache& weight_cache();

// A thrown message becomes a JavaScript Error.
struct ArgError {
  std::string message;
};

}  // namespace gradlab
