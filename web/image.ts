/**
 * The input image as the page holds it: what the API is sent (a data URL the server decodes, or
 * an exact pixel array in the model's value range) plus a preview for the screen and where it came
 * from (gallery, drawing, upload) so that the URL can say so.
 */
import type { Tensor } from './types.ts';

export type Origin =
  | { kind: 'sample'; index: number; label: string }
  | { kind: 'drawn'; bytes: Uint8Array }
  | { kind: 'upload'; name: string }
  | { kind: 'adversarial' };

export interface InputImage {
  image: string | number[][][];
  preview: string;
  origin: Origin;
}

export type Shape = [number, number, number];

/** 8-bit grey bytes (row-major) to the pixel array `[H][W][C]` in the model's range. */
export function bytesToPixels(bytes: Uint8Array, shape: Shape, range: [number, number]): number[][][] {
  const [h, w, c] = shape;
  const [lo, hi] = range;
  return Array.from({ length: h }, (_, y) =>
    Array.from({ length: w }, (_, x) => new Array<number>(c).fill(lo + ((bytes[y * w + x] ?? 0) / 255) * (hi - lo))));
}

/** A flat tensor from the API (`{shape, data}`) to the nested pixel array the API accepts back. */
export function tensorToPixels(t: Tensor): number[][][] {
  const [h = 0, w = 0, c = 1] = t.shape;
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => t.data.slice((y * w + x) * c, (y * w + x + 1) * c)));
}

/** A data URL of grey bytes drawn as an image (previews of drawings restored from the URL). */
export function bytesToDataUrl(bytes: Uint8Array, width: number, height: number): string {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return '';
  const rgba = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = bytes[i] ?? 0;
    rgba.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(rgba, 0, 0);
  return canvas.toDataURL('image/png');
}

/** Downscales a drawing canvas to the model's size and reads its grey bytes (the red channel). */
export function canvasToBytes(source: HTMLCanvasElement, width: number, height: number): Uint8Array {
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  const ctx = small.getContext('2d');
  if (!ctx) return new Uint8Array(width * height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const bytes = new Uint8Array(width * height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rgba[i * 4] ?? 0;
  return bytes;
}

/**
 * Far above any server's body limit (default 32 MiB): a file this large is refused here, before
 * the browser holds it in memory as a data URL; anything smaller gets the server's own 413.
 */
export const LARGEST_READ_BYTES = 256 * 1024 * 1024;

export function readFileAsDataUrl(file: File): Promise<string> {
  if (file.size > LARGEST_READ_BYTES) {
    return Promise.reject(new Error(`${file.name} is ${Math.round(file.size / 2 ** 20)} MiB: far more than the server accepts; pick an image under a few MiB`));
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error(`could not read ${file.name}`));
    reader.readAsDataURL(file);
  });
}
