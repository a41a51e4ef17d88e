/**
 * Encodes pixels for clients: model inputs (in the model's value range) and rendered RGB maps to
 * PNG, enlarged by an integer factor with nearest-neighbour sampling so that small inputs (28×28)
 * stay crisp and viewable.
 */
import sharp from 'sharp';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface Rgb {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The default enlargement: about 224 pixels on the longer side, at least 1×. */
export function defaultScale(height: number, width: number): number {
  return Math.max(1, Math.floor(224 / Math.max(height, width)));
}

export async function rgbToPng(image: Rgb, scale = 1): Promise<Buffer> {
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  if (scale > 1) pipeline = pipeline.resize(image.width * scale, image.height * scale, { kernel: 'nearest' });
  return pipeline.png().toBuffer();
}

/** A model input [H, W, C] in [lo, hi] → 8-bit RGB (grey replicated), rounding to the nearest level. */
export function inputToRgb(pixels: ArrayLike<number>, shape: [number, number, number], range: [number, number]): Rgb {
  const [height, width, channels] = shape;
  const [lo, hi] = range;
  const data = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let k = 0; k < 3; k++) {
      const v = pixels[p * channels + (channels === 1 ? 0 : k)]!;
      data[p * 3 + k] = Math.round(Math.min(1, Math.max(0, (v - lo) / (hi - lo))) * 255);
    }
  }
  return { width, height, data };
}

/**
 * The 8-bit quantisation a PNG round trip applies to a model input: values snapped to the 256
 * levels of the range. Used to check that an adversarial image survives being saved as PNG.
 */
export function quantizeInput(pixels: Float32Array, range: [number, number]): Float32Array {
  const [lo, hi] = range;
  const step = (hi - lo) / 255;
  return pixels.map((v) => lo + Math.round((Math.min(hi, Math.max(lo, v)) - lo) / step) * step);
}
