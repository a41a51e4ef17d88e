/**
 * Reads an encoded image's width and height from its header, without decoding it: PNG (IHDR),
 * JPEG (the first SOF marker) and WebP (VP8, VP8L, VP8X). The pixel limits are checked against
 * these numbers before any decoder runs, so that a tiny file declaring 16 million pixels is
 * refused in microseconds rather than decoded for a second.
 */

export interface ImageSize {
  width: number;
  height: number;
}

function png(b: Uint8Array): ImageSize | undefined {
  // Signature (8 bytes), IHDR length (4) and type (4), then width and height, big-endian.
  if (b.length < 24 || String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') return undefined;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size. */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function jpeg(b: Uint8Array): ImageSize | undefined {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    const length = (b[at + 2]! << 8) | b[at + 3]!;
    if (isStartOfFrame(marker)) return { height: (b[at + 5]! << 8) | b[at + 6]!, width: (b[at + 7]! << 8) | b[at + 8]! };
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

function webp(b: Uint8Array): ImageSize | undefined {
  if (b.length < 30) return undefined;
  const chunk = String.fromCharCode(...b.subarray(12, 16));
  const u16 = (i: number) => b[i]! | (b[i + 1]! << 8);
  const u24 = (i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
  if (chunk === 'VP8X') return { width: u24(24) + 1, height: u24(27) + 1 };
  if (chunk === 'VP8 ') return { width: u16(26) & 0x3fff, height: u16(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return undefined;
}

/** The size an encoded image declares; undefined when its header cannot be read (the decoder then decides). */
export function declaredSize(bytes: Uint8Array, mediaType: 'image/png' | 'image/jpeg' | 'image/webp'): ImageSize | undefined {
  switch (mediaType) {
    case 'image/png':
      return png(bytes);
    case 'image/jpeg':
      return jpeg(bytes);
    case 'image/webp':
      return webp(bytes);
  }
}
