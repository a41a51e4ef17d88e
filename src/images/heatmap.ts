/**
 * Renders explanation maps as RGB images, with one documented normalisation per kind of map:
 *
 * - `signed` (gradient, integrated gradients, SmoothGrad of those): channels are summed, values are
 *   divided by the 99th percentile of |value| and clipped to [−1, 1]; negative is blue, zero is
 *   white, positive is red.
 * - `heat` (Grad-CAM, ≥ 0): divided by the maximum; a black → red → yellow → white ramp.
 * - `color` (guided backprop, guided Grad-CAM; the lecture's "colored guided backprop"): for RGB
 *   inputs each channel is shown as 0.5 + 0.5·g/max|g| (grey is zero); for one-channel inputs the
 *   signed blue-white-red rendering is used.
 *
 * `overlay` blends a rendering half and half over the input image.
 */
import type { Rgb } from './encode.ts';

export const RENDERINGS = ['signed', 'heat', 'color'] as const;
export type Rendering = (typeof RENDERINGS)[number];

/** Sums channels: [H, W, C] → [H, W]. */
function collapse(map: ArrayLike<number>, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += map[p * channels + c]!;
    out[p] = s;
  }
  return out;
}

/** The q-th quantile of |values| (q in 0..1); 0 when all are 0. */
export function absQuantile(values: ArrayLike<number>, q: number): number {
  const abs = Float32Array.from(values, Math.abs).sort();
  if (abs.length === 0) return 0;
  return abs[Math.min(abs.length - 1, Math.floor(q * (abs.length - 1) + 0.5))]!;
}

function signed(values: Float32Array, width: number, height: number): Rgb {
  let scale = absQuantile(values, 0.99);
  if (scale === 0) scale = absQuantile(values, 1) || 1;
  const data = new Uint8Array(width * height * 3);
  values.forEach((raw, p) => {
    const v = Math.max(-1, Math.min(1, raw / scale));
    const fade = Math.round(255 * (1 - Math.abs(v)));
    data.set(v >= 0 ? [255, fade, fade] : [fade, fade, 255], p * 3);
  });
  return { width, height, data };
}

/** Black → red → yellow → white. */
function heatColor(t: number): [number, number, number] {
  const v = Math.max(0, Math.min(1, t)) * 3;
  const r = Math.min(1, v);
  const g = Math.min(1, Math.max(0, v - 1));
  const b = Math.min(1, Math.max(0, v - 2));
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

function heat(values: Float32Array, width: number, height: number): Rgb {
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  const data = new Uint8Array(width * height * 3);
  values.forEach((v, p) => data.set(heatColor(max > 0 ? v / max : 0), p * 3));
  return { width, height, data };
}

function colorRgb(map: ArrayLike<number>, width: number, height: number): Rgb {
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, Math.abs(map[i]!));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.round(255 * Math.max(0, Math.min(1, 0.5 + (max > 0 ? (0.5 * map[i]!) / max : 0))));
  }
  return { width, height, data };
}

/** Renders a map [H, W, C] (C = 1 or the input's channels) as RGB. */
export function renderMap(map: ArrayLike<number>, shape: [number, number, number], rendering: Rendering): Rgb {
  const [height, width, channels] = shape;
  if (rendering === 'color' && channels === 3) return colorRgb(map, width, height);
  const values = collapse(map, height * width, channels);
  return rendering === 'heat' ? heat(values, width, height) : signed(values, width, height);
}

/** Blends `top` over `bottom` with the given opacity of `top`. */
export function overlay(bottom: Rgb, top: Rgb, opacity = 0.5): Rgb {
  const data = new Uint8Array(bottom.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(bottom.data[i]! * (1 - opacity) + top.data[i]! * opacity);
  return { width: bottom.width, height: bottom.height, data };
}
