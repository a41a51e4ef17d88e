// The N-API surface of gradlab's native kernels (rules in common.h):
//   convolution(heap: Uint8Array, geometry: Float64Array): void   (indices: conv.h)
//   maxPoolGrad(heap: Uint8Array, geometry: Float64Array): void   (indices: pool.h)
//   matMul(heap: Uint8Array, geometry: Float64Array): void        (indices: matmul.h)
//   slice(heap: Uint8Array, geometry: Float64Array): void         (indices: slice.h)
//   batchNorm(heap: Uint8Array, geometry: Float64Array): void     (indices: norm.h)
//   reluBackprop(heap: Uint8Array, geometry: Float64Array): void  (indices: eltwise.h)
//   dropWeights(keys: Float64Array): void    forget reordered filters of disposed tensors
//   clearCaches(): void                      forget every cached primitive input (tests)
//   info(): { version, runtime, processors, cachedWeights, gemm }   (gemm: the row-product kernel, gemm.h)
#include <omp.h>

#include "conv.h"
#include "eltwise.h"
#include "gemm.h"
#include "matmul.h"
#include "norm.h"
#include "pool.h"
#include "slice.h"

namespace gradlab {
namespace {

napi_value throw_error(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, ("gradlab native: " + message).c_str());
  return nullptr;
}

bool typed_array(napi_env env, napi_value value, napi_typedarray_type want, void** data, size_t* length) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset);
  return type == want;
}

// Reads (heap: Uint8Array, geometry: Float64Array of `size` numbers) and runs `kernel` on them.
napi_value run_on_heap(napi_env env, napi_callback_info info, const char* name, size_t size,
                       void (*kernel)(const Heap&, const double*)) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Heap heap{};
  double* geometry = nullptr;
  size_t geometry_length = 0;
  if (argc < 2 || !typed_array(env, argv[0], napi_uint8_array, reinterpret_cast<void**>(&heap.base), &heap.bytes) ||
      !typed_array(env, argv[1], napi_float64_array, reinterpret_cast<void**>(&geometry), &geometry_length) ||
      geometry_length != size) {
    return throw_error(env, std::string(name) + "(heap: Uint8Array, geometry: Float64Array) expected");
  }
  try {
    kernel(heap, geometry);
  } catch (const ArgError& e) {
    return throw_error(env, std::string(name) + ": " + e.message);
  } catch (const dnnl::error& e) {
    return throw_error(env, std::string(name) + ": oneDNN: " + e.what());
  } catch (const std::exception& e) {
    return throw_error(env, std::string(name) + ": " + e.what());
  }
  return nullptr;
}

napi_value Convolution(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "convolution", kConvGeometrySize, convolution);
}

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "maxPoolGrad", kPoolGeometrySize, max_pool_grad);
}

napi_value MatMul(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "matMul", kMmGeometrySize, mat_mul);
}

napi_value Slice(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "slice", kSliceGeometrySize, slice);
}

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "batchNorm", kNormGeometrySize, batch_norm);
}

napi_value ReluBackprop(napi_env env, napi_callback_info info) {
  return run_on_heap(env, info, "reluBackprop", kRbGeometrySize, relu_backprop);
}

napi_value DropWeights(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  double* keys = nullptr;
  size_t count = 0;
  if (argc < 1 || !typed_array(env, argv[0], napi_float64_array, reinterpret_cast<void**>(&keys), &count)) {
    return throw_error(env, "dropWeights(keys: Float64Array) expected");
  }
  for (size_t i = 0; i < count; ++i) weight_cache().drop(keys[i]);
  return nullptr;
}

napi_value ClearCaches(napi_env, napi_callback_info) {
  weight_cache().clear();
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value result, value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, version.c_str(), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "version", value);
  napi_create_string_utf8(env, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "runtime", value);
  napi_create_uint32(env, uint32_t(omp_get_num_procs()), &value);
  napi_set_named_property(env, result, "processors", value);
  napi_create_uint32(env, uint32_t(weight_cache().size()), &value);
  napi_set_named_property(env, result, "cachedWeights", value);
  napi_create_string_utf8(env, rows_times_kernel(), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "gemm", value);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"convolution", nullptr, Convolution, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"slice", nullptr, Slice, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluBackprop", nullptr, ReluBackprop, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dropWeights", nullptr, DropWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCaches", nullptr, ClearCaches, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace
}  // namespace gradlab

NAPI_MODULE(NODE_GYP_MODULE_NAME, gradlab::Init)
