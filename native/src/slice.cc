// Slicing on the wasm heap. tfjs's wasm Slice copies one innermost row per JavaScript call (a
// typed-array view and a set() per pixel of an NHWC tensor: 53,000 calls for ResNet-18's padded
// stem); here the trailing dimensions the slice keeps whole merge into one memcpy per run.
#include "slice.h"

#include <cstdint>
#include <cstring>

namespace gradlab {

void slice(const Heap& heap, const double* g) {
  const int rank = int(g[kSliceRank]);
  if (rank < 1 || rank > kSliceMaxRank) throw ArgError{"slice rank must be 1 to 6"};
  int64_t shape[kSliceMaxRank], begin[kSliceMaxRank], size[kSliceMaxRank], strides[kSliceMaxRank];
  int64_t in_total = 1, out_total = 1;
  for (int i = rank - 1; i >= 0; --i) {
    shape[i] = int64_t(g[kSliceShape + i]), begin[i] = int64_t(g[kSliceBegin + i]), size[i] = int64_t(g[kSliceSize + i]);
    if (shape[i] < 0 || begin[i] < 0 || size[i] < 0 || begin[i] + size[i] > shape[i]) throw ArgError{"slice out of range"};
    strides[i] = in_total;
    in_total *= shape[i];
    out_total *= size[i];
  }
  const float* x = heap.at(g[kSliceXOffset], size_t(in_total));
  float* out = heap.at(g[kSliceOutOffset], size_t(out_total));
  if (out_total == 0) return;
  // The run: the innermost dimensions kept whole, plus the first one that is not.
  int outer = rank - 1;
  int64_t run = size[outer];
  while (outer > 0 && size[outer] == shape[outer]) {
    --outer;
    run *= size[outer];
  }
  // Iterate over every index of the dimensions before `outer`, plus `outer`'s start.
  int64_t index[kSliceMaxRank] = {0};
  const int64_t runs = out_total / run;
  for (int64_t r = 0; r < runs; ++r) {
    int64_t from = 0;
    for (int i = 0; i < outer; ++i) from += (begin[i] + index[i]) * strides[i];
    from += begin[outer] * strides[outer];
    for (int i = outer + 1; i < rank; ++i) from += begin[i] * strides[i];  // zero when kept whole
    std::memcpy(out + r * run, x + from, size_t(run) * sizeof(float));
    for (int i = outer - 1; i >= 0; --i) {
      if (++index[i] < size[i]) break;
      index[i] = 0;
    }
  }
}

}  // namespace gradlab
