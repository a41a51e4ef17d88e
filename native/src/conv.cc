// Convolutions through oneDNN: forward (with bias and ReLU / ReLU6 / leaky ReLU fused as post-ops),
// backward data (input gradient) and backward weights (filter gradient), for plain and depthwise
// (groups = input channels) 2-D convolutions. Layout and threading rules: common.h.
#include "conv.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace gradlab {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Geometry {
  int pass;
  memory::dim n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
  int activation;
  float alpha;
  bool bias;
  int threads;
};

Geometry read_geometry(const double* g) {
  Geometry x;
  x.pass = int(g[kPass]);
  x.n = memory::dim(g[kN]), x.ih = memory::dim(g[kIH]), x.iw = memory::dim(g[kIW]), x.ic = memory::dim(g[kIC]);
  x.oh = memory::dim(g[kOH]), x.ow = memory::dim(g[kOW]), x.oc = memory::dim(g[kOC]);
  x.kh = memory::dim(g[kKH]), x.kw = memory::dim(g[kKW]);
  x.sh = memory::dim(g[kSH]), x.sw = memory::dim(g[kSW]), x.dh = memory::dim(g[kDH]), x.dw = memory::dim(g[kDW]);
  x.pt = memory::dim(g[kPadTop]), x.pl = memory::dim(g[kPadLeft]);
  x.groups = memory::dim(g[kGroups]);
  x.activation = int(g[kActivation]);
  x.alpha = float(g[kAlpha]);
  x.bias = g[kHasBias] != 0;
  x.threads = int(g[kThreads]);
  // The far-side padding that makes oneDNN's output size exactly the one tfjs computed (it may be
  // negative when a 'valid' convolution leaves rows unused, which oneDNN accepts).
  x.pb = (x.oh - 1) * x.sh + (x.kh - 1) * x.dh + 1 - x.ih - x.pt;
  x.pr = (x.ow - 1) * x.sw + (x.kw - 1) * x.dw + 1 - x.iw - x.pl;
  bool ok = x.pass >= kForward && x.pass <= kBackwardWeights && x.n > 0 && x.ih > 0 && x.iw > 0 && x.ic > 0 &&
            x.oh > 0 && x.ow > 0 && x.oc > 0 && x.kh > 0 && x.kw > 0 && x.sh > 0 && x.sw > 0 && x.dh > 0 &&
            x.dw > 0 && x.groups > 0 && x.ic % x.groups == 0 && x.oc % x.groups == 0;
  if (!ok) throw ArgError{"invalid convolution geometry"};
  return x;
}

std::string primitive_key(const double* g) {
  std::ostringstream key;
  for (int i = 0; i <= kThreads; ++i) key << g[i] << ',';
  return key.str();
}

memory::desc activations(memory::dim n, memory::dim h, memory::dim w, memory::dim c) {
  return memory::desc({n, c, h, w}, dt::f32, tag::nhwc);
}

// tfjs's filter layout as a strided descriptor: HWIO, or [KH, KW, C, multiplier] for depthwise.
memory::desc user_weights(const Geometry& x) {
  if (x.groups == 1) {
    return memory::desc({x.oc, x.ic, x.kh, x.kw}, dt::f32, {1, x.oc, x.kw * x.ic * x.oc, x.ic * x.oc});
  }
  memory::dim per_group = x.oc / x.groups;  // the depthwise multiplier
  return memory::desc({x.groups, per_group, x.ic / x.groups, x.kh, x.kw}, dt::f32,
                      {per_group, 1, x.oc, x.kw * x.oc, x.oc});
}

memory::desc any_weights(const Geometry& x) {
  if (x.groups == 1) return memory::desc({x.oc, x.ic, x.kh, x.kw}, dt::f32, tag::any);
  return memory::desc({x.groups, x.oc / x.groups, x.ic / x.groups, x.kh, x.kw}, dt::f32, tag::any);
}

dnnl::convolution_forward::desc forward_desc(const Geometry& x, dnnl::prop_kind kind) {
  memory::dims strides{x.sh, x.sw}, dilates{x.dh - 1, x.dw - 1}, pad_l{x.pt, x.pl}, pad_r{x.pb, x.pr};
  auto src = activations(x.n, x.ih, x.iw, x.ic);
  auto dst = activations(x.n, x.oh, x.ow, x.oc);
  if (x.bias) {
    return {kind, dnnl::algorithm::convolution_direct, src, any_weights(x), memory::desc({x.oc}, dt::f32, tag::x),
            dst, strides, dilates, pad_l, pad_r};
  }
  return {kind, dnnl::algorithm::convolution_direct, src, any_weights(x), dst, strides, dilates, pad_l, pad_r};
}

dnnl::primitive_attr post_ops(const Geometry& x) {
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  switch (x.activation) {
    case kNone: break;
    case kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kLeakyRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, x.alpha, 0.f); break;
    default: throw ArgError{"unsupported fused activation"};
  }
  attr.set_post_ops(ops);
  return attr;
}

// One cached primitive per geometry, pass and thread count.
struct Prepared {
  dnnl::primitive primitive;
  memory::desc weights;  // the format the primitive wants its (diff) weights in
  // Backward weights: the primitive's gradient buffer and its reorder into tfjs's layout.
  memory scratch_weights;
  dnnl::reorder to_user;
};

Prepared prepare(const Geometry& x) {
  auto& engine = cpu_engine();
  memory::dims strides{x.sh, x.sw}, dilates{x.dh - 1, x.dw - 1}, pad_l{x.pt, x.pl}, pad_r{x.pb, x.pr};
  auto src = activations(x.n, x.ih, x.iw, x.ic);
  auto dst = activations(x.n, x.oh, x.ow, x.oc);
  if (x.pass == kForward) {
    dnnl::convolution_forward::primitive_desc pd(forward_desc(x, dnnl::prop_kind::forward_inference), post_ops(x), engine);
    return {dnnl::convolution_forward(pd), pd.weights_desc(), {}, {}};
  }
  dnnl::convolution_forward::primitive_desc hint(forward_desc(x, dnnl::prop_kind::forward_training), engine);
  if (x.pass == kBackwardData) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, src, any_weights(x), dst,
                                               strides, dilates, pad_l, pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, engine, hint);
    return {dnnl::convolution_backward_data(pd), pd.weights_desc(), {}, {}};
  }
  dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, src, any_weights(x), dst,
                                                strides, dilates, pad_l, pad_r);
  dnnl::convolution_backward_weights::primitive_desc pd(desc, engine, hint);
  Prepared p{dnnl::convolution_backward_weights(pd), pd.diff_weights_desc(), {}, {}};
  if (!(p.weights == user_weights(x))) {
    p.scratch_weights = memory(p.weights, engine);
    p.to_user = dnnl::reorder(dnnl::reorder::primitive_desc(engine, p.weights, engine, user_weights(x)));
  }
  return p;
}

Prepared& prepared(const double* g, const Geometry& x) {
  static thread_local std::unordered_map<std::string, Prepared> cache;
  std::string key = primitive_key(g);
  auto hit = cache.find(key);
  if (hit != cache.end()) return hit->second;
  if (cache.size() >= 2048) cache.clear();  // a bound for processes that see endless new shapes
  return cache.emplace(key, prepare(x)).first->second;
}

// The filter in the primitive's format: reordered once per weight tensor and pass, then cached.
memory weights_for(const Geometry& x, const Prepared& p, float* user, double key) {
  auto& engine = cpu_engine();
  memory user_mem(user_weights(x), engine, user);
  if (p.weights == user_mem.get_desc()) return user_mem;
  if (key >= 0) {
    if (memory* cached = weight_cache().find(key, x.pass, p.weights)) return *cached;
  }
  memory reordered(p.weights, engine);
  dnnl::reorder(user_mem, reordered).execute(cpu_stream(), user_mem, reordered);
  if (key >= 0) return weight_cache().store(key, x.pass, reordered);
  return reordered;
}

// The input gradient of a convolution with few input channels (image stems: 1 or 3), as one
// matrix product and a scatter-add: cols[N·OH·OW, KH·KW·IC] = dy · filterᵀ (filter HWIO is
// [KH·KW·IC, OC] row-major), then each column adds into the pixel it came from. oneDNN's direct
// kernels vectorise over input channels, so with 1–3 of them this route measured 2–10× faster.
void backward_data_by_gemm(const Geometry& x, float* dx, const float* w, const float* dy) {
  const memory::dim rows = x.n * x.oh * x.ow, taps = x.kh * x.kw * x.ic;
  static thread_local std::vector<float> cols;
  cols.resize(size_t(rows * taps));
  dnnl::sgemm('N', 'T', rows, taps, x.oc, 1.f, dy, x.oc, w, x.oc, 0.f, cols.data(), taps);
  const float* c = cols.data();
  std::fill(dx, dx + x.n * x.ih * x.iw * x.ic, 0.f);
#pragma omp parallel for schedule(static)
  for (memory::dim n = 0; n < x.n; ++n) {
    for (memory::dim oh = 0; oh < x.oh; ++oh) {
      for (memory::dim ow = 0; ow < x.ow; ++ow) {
        const float* col = c + ((n * x.oh + oh) * x.ow + ow) * taps;
        for (memory::dim kh = 0; kh < x.kh; ++kh) {
          memory::dim ih = oh * x.sh - x.pt + kh * x.dh;
          if (ih < 0 || ih >= x.ih) continue;
          for (memory::dim kw = 0; kw < x.kw; ++kw) {
            memory::dim iw = ow * x.sw - x.pl + kw * x.dw;
            if (iw < 0 || iw >= x.iw) continue;
            float* to = dx + ((n * x.ih + ih) * x.iw + iw) * x.ic;
            const float* from = col + (kh * x.kw + kw) * x.ic;
            for (memory::dim i = 0; i < x.ic; ++i) to[i] += from[i];
          }
        }
      }
    }
  }
}

}  // namespace

void convolution(const Heap& heap, const double* g) {
  Geometry x = read_geometry(g);
  use_threads(x.threads);
  if (x.pass == kBackwardData && x.groups == 1 && x.ic <= kGemmMaxInputChannels) {
    size_t in_size = size_t(x.n * x.ih * x.iw * x.ic), out_size = size_t(x.n * x.oh * x.ow * x.oc);
    backward_data_by_gemm(x, heap.at(g[kSrcOffset], in_size), heap.at(g[kWeightsOffset], size_t(x.kh * x.kw * x.ic * x.oc)),
                          heap.at(g[kDstOffset], out_size));
    return;
  }
  size_t in_size = size_t(x.n * x.ih * x.iw * x.ic);
  size_t out_size = size_t(x.n * x.oh * x.ow * x.oc);
  size_t weight_size = size_t(x.kh * x.kw * (x.ic / x.groups) * x.oc);
  float* src = heap.at(g[kSrcOffset], in_size);
  float* weights = heap.at(g[kWeightsOffset], weight_size);
  float* dst = heap.at(g[kDstOffset], out_size);
  float* bias = x.bias && x.pass == kForward ? heap.at(g[kBiasOffset], size_t(x.oc)) : nullptr;

  Prepared& p = prepared(g, x);
  auto& engine = cpu_engine();
  auto& stream = cpu_stream();
  memory src_mem(activations(x.n, x.ih, x.iw, x.ic), engine, src);
  memory dst_mem(activations(x.n, x.oh, x.ow, x.oc), engine, dst);
  if (x.pass == kForward) {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_mem},
                                         {DNNL_ARG_WEIGHTS, weights_for(x, p, weights, g[kWeightKey])},
                                         {DNNL_ARG_DST, dst_mem}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(memory::desc({x.oc}, dt::f32, tag::x), engine, bias));
    p.primitive.execute(stream, args);
  } else if (x.pass == kBackwardData) {
    p.primitive.execute(stream, {{DNNL_ARG_DIFF_SRC, src_mem},
                                 {DNNL_ARG_WEIGHTS, weights_for(x, p, weights, g[kWeightKey])},
                                 {DNNL_ARG_DIFF_DST, dst_mem}});
  } else {
    memory user_mem(user_weights(x), engine, weights);
    if (p.scratch_weights) {
      p.primitive.execute(stream, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_DIFF_WEIGHTS, p.scratch_weights},
                                   {DNNL_ARG_DIFF_DST, dst_mem}});
      p.to_user.execute(stream, p.scratch_weights, user_mem);
    } else {
      p.primitive.execute(stream, {{DNNL_ARG_SRC, src_mem}, {DNNL_ARG_DIFF_WEIGHTS, user_mem},
                                   {DNNL_ARG_DIFF_DST, dst_mem}});
    }
  }
  stream.wait();
}

}  // namespace gradlab
