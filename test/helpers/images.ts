/** Encoded test images made with sharp from known pixels, so tests know what a decode must give. */
import sharp from 'sharp';

/** A grey gradient image: pixel (y, x) = round(255 * (y * w + x) / (w * h - 1)). */
export function greyPixels(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round((255 * i) / (data.length - 1));
  return data;
}

export async function encodeGrey(width: number, height: number, format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff', pixels = greyPixels(width, height)): Promise<Buffer> {
  const img = sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } });
  switch (format) {
    case 'png':
      return img.png().toBuffer();
    case 'jpeg':
      return img.jpeg({ quality: 100 }).toBuffer();
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'tiff':
      return img.tiff().toBuffer();
  }
}

export async function encodeRgb(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

/** A pixel array [h][w] with values v(y, x). */
export function pixelArray(h: number, w: number, v: (y: number, x: number) => number): number[][] {
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => v(y, x)));
}
