// Engine, stream, OpenMP thread control, heap bounds checks and the reordered-filter cache
// (rules in common.h).
#include "common.h"

#include <omp.h>

namespace gradlab {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void use_threads(int threads) {
  static thread_local int current = -1;  // OpenMP's thread count is per calling thread
  if (threads < 1) threads = 1;
  if (threads != current) {
    omp_set_num_threads(threads);
    current = threads;
  }
}

float* Heap::at(double offset, size_t count) const {
  if (!(offset >= 0) || offset + double(count) * sizeof(float) > double(bytes) || uint64_t(offset) % 4 != 0) {
    throw ArgError{"tensor lies outside the wasm heap view (was the view taken before allocating?)"};
  }
  return reinterpret_cast<float*>(base + size_t(offset));
}

dnnl::memory* WeightCache::find(double key, int pass, const dnnl::memory::desc& desc) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->key == key && it->pass == pass) {
      if (!(it->mem.get_desc() == desc)) return nullptr;
      entries_.splice(entries_.begin(), entries_, it);
      return &entries_.front().mem;
    }
  }
  return nullptr;
}

dnnl::memory& WeightCache::store(double key, int pass, dnnl::memory mem) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->key == key && it->pass == pass) {
      total_bytes_ -= it->bytes;
      entries_.erase(it);
      break;
    }
  }
  size_t bytes = mem.get_desc().get_size();
  entries_.push_front(Entry{key, pass, std::move(mem), bytes});
  total_bytes_ += bytes;
  while (total_bytes_ > kMaxBytes && entries_.size() > 1) {
    total_bytes_ -= entries_.back().bytes;
    entries_.pop_back();
  }
  return entries_.front().mem;
}

void WeightCache::drop(double key) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->key == key) {
      total_bytes_ -= it->bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void WeightCache::clear() {
  entries_.clear();
  total_bytes_ = 0;
}

WeightCache& weight_cache() {
  static thread_local WeightCache cache;  // tensor ids are per backend, so per thread
  return cache;
}

}  // namespace gradlab
