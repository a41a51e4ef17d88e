/**
 * Loads gradlab's optional native addon (native/, oneDNN 2.x through N-API) at most once.
 *
 * Loading never throws: a missing build (`MODULE_NOT_FOUND`) or a missing oneDNN library
 * (`ERR_DLOPEN_FAILED`) comes back as a reason, and gradlab runs on its wasm kernels.
 * GRADLAB_NATIVE_ADDON points at another `.node` file (tests use it to make loading fail).
 *
 * OpenMP reads its wait policy when libgomp is loaded, so it is set here, before the addon:
 * passive waiting keeps OpenMP's idle threads off the cores tfjs's wasm pool uses next (threading
 * rules: native/src/common.h). An explicit OMP_WAIT_POLICY is respected.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's functions (native/src/addon.cc). */
export interface NativeAddon {
  convolution(heap: Uint8Array, geometry: Float64Array): void;
  maxPoolGrad(heap: Uint8Array, geometry: Float64Array): void;
  matMul(heap: Uint8Array, geometry: Float64Array): void;
  slice(heap: Uint8Array, geometry: Float64Array): void;
  batchNorm(heap: Uint8Array, geometry: Float64Array): void;
  reluBackprop(heap: Uint8Array, geometry: Float64Array): void;
  dropWeights(keys: Float64Array): void;
  clearCaches(): void;
  /** gemm: which batch-invariant row-product kernel runs on this CPU (native/src/gemm.h). */
  info(): { version: string; runtime: string; processors: number; cachedWeights: number; gemm: 'avx2' | 'base' };
}

export type AddonLoad = { addon: NativeAddon; reason?: undefined } | { addon?: undefined; reason: string };

const DEFAULT_ADDON = fileURLToPath(new URL('../../../native/build/Release/gradlab_native.node', import.meta.url));

let loaded: AddonLoad | undefined;

export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  const file = process.env.GRADLAB_NATIVE_ADDON || DEFAULT_ADDON;
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    if (typeof addon.convolution !== 'function') throw new Error('not gradlab\'s native addon');
    loaded = { addon };
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const why = code === 'MODULE_NOT_FOUND'
      ? 'not built (needs libdnnl-dev and g++ at install time: node native/build.mjs)'
      : `${code ?? 'error'}: ${message.split('\n')[0]}`;
    loaded = { reason: `native addon ${why}` };
  }
  return loaded;
}
