{
  "targets": [
    {
      "target_name": "gradlab_native",
      "sources": ["src/addon.cc", "src/common.cc", "src/conv.cc", "src/matmul.cc", "src/pool.cc", "src/slice.cc", "src/norm.cc", "src/eltwise.cc", "src/gemm.cc", "src/gemm_base.cc", "src/gemm_avx2.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
