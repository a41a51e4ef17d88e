/**
 * Draws an explanation map over the input in the browser, so that opacity and colour scale change
 * without asking the server again: the raw signed map (`{shape, data}`, exact floats) summed over
 * channels, normalised, coloured and blended on the input image.
 */
import type { Tensor } from './types.ts';

export type ColourScale = 'diverging' | 'heat' | 'grey';
export const COLOUR_SCALES: { id: ColourScale; label: string }[] = [
  { id: 'diverging', label: 'signed: blue − / white / red +' },
  { id: 'heat', label: 'magnitude: black–red–yellow–white' },
  { id: 'grey', label: 'magnitude: grey' },
];

/** The map reduced to one value per pixel (sum over channels). */
function perPixel(map: Tensor): { values: Float32Array; width: number; height: number } {
  const [height = 0, width = 0, channels = 1] = map.shape;
  const values = new Float32Array(width * height);
  for (let i = 0; i < values.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += map.data[i * channels + c] ?? 0;
    values[i] = sum;
  }
  return { values, width, height };
}

/** The 99th percentile of |v|: one hot pixel must not wash out the rest of the map. */
function robustMax(values: Float32Array): number {
  const sorted = Float32Array.from(values, Math.abs).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] || Math.max(...sorted) || 1;
}

function colour(v: number, scale: ColourScale): [number, number, number, number] {
  if (scale === 'diverging') {
    const t = Math.max(-1, Math.min(1, v));
    const fade = Math.round(255 * (1 - Math.abs(t)));
    return t >= 0 ? [255, fade, fade, Math.abs(t)] : [fade, fade, 255, Math.abs(t)];
  }
  const t = Math.max(0, Math.min(1, Math.abs(v)));
  if (scale === 'grey') return [255 * t, 255 * t, 255 * t, 1];
  // black → red → yellow → white
  return [255 * Math.min(1, 3 * t), 255 * Math.max(0, Math.min(1, 3 * t - 1)), 255 * Math.max(0, 3 * t - 2), 1];
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the input image could not be drawn'));
    img.src = src;
  });
}

/** Paints `base` then the coloured map at `opacity` (0..1) onto `canvas`, pixel-sharp. */
export async function paintOverlay(canvas: HTMLCanvasElement, base: string, map: Tensor, scale: ColourScale, opacity: number): Promise<void> {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { values, width, height } = perPixel(map);
  const max = robustMax(values);
  const layer = document.createElement('canvas');
  layer.width = width;
  layer.height = height;
  const layerCtx = layer.getContext('2d');
  if (!layerCtx) return;
  const rgba = layerCtx.createImageData(width, height);
  for (let i = 0; i < values.length; i++) {
    const [r, g, b, a] = colour(values[i]! / max, scale);
    rgba.data.set([r, g, b, Math.round(255 * (scale === 'diverging' ? a : 1))], i * 4);
  }
  layerCtx.putImageData(rgba, 0, 0);
  const img = await loadImage(base);
  ctx.imageSmoothingEnabled = false;
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = opacity;
  ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = 1;
}

/** The raw map as a JSON file for download (what the API answered: shape and exact floats). */
export function mapDownloadUrl(map: Tensor, meta: Record<string, unknown>): string {
  return URL.createObjectURL(new Blob([JSON.stringify({ ...meta, map })], { type: 'application/json' }));
}
