import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { bytesFromString, decodeEncodedImage, pixelsFromArray, sniffMediaType, toModelInput } from '../../src/images/decode.ts';
import { GradlabError } from '../../src/errors.ts';
import { encodeGrey, encodeRgb, greyPixels, pixelArray } from '../helpers/images.ts';

const grey8 = { shape: [8, 8, 1] as [number, number, number], range: [0, 1] as [number, number] };
const limits = { maxImageBytes: 100_000, maxImagePixels: 10_000 };

function assertCode(err: unknown, code: string, field?: string): boolean {
  assert.ok(err instanceof GradlabError, `expected a GradlabError, got ${String(err)}`);
  assert.equal(err.code, code);
  if (field !== undefined) assert.equal(err.field, field);
  return true;
}

test('sniffs PNG, JPEG and WebP and nothing else', async () => {
  assert.equal(sniffMediaType(await encodeGrey(4, 4, 'png')), 'image/png');
  assert.equal(sniffMediaType(await encodeGrey(4, 4, 'jpeg')), 'image/jpeg');
  assert.equal(sniffMediaType(await encodeGrey(4, 4, 'webp')), 'image/webp');
  assert.equal(sniffMediaType(await encodeGrey(4, 4, 'gif')), undefined);
  assert.equal(sniffMediaType(Buffer.from('hello world, not an image')), undefined);
});

test('a lossless PNG and WebP at the model size decode to exactly pixel/255', async () => {
  const expected = Array.from(greyPixels(8, 8), (v) => v / 255);
  for (const format of ['png', 'webp'] as const) {
    const out = await decodeEncodedImage(await encodeGrey(8, 8, format), grey8, limits, 'image');
    assert.equal(out.length, 64);
    out.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${format} pixel ${i}: ${v} vs ${expected[i]}`));
  }
});

test('maps [0,255] onto the model value range', async () => {
  const spec = { shape: [8, 8, 1] as [number, number, number], range: [-1, 1] as [number, number] };
  const white = new Uint8Array(64).fill(255);
  const out = await decodeEncodedImage(await encodeGrey(8, 8, 'png', white), spec, limits, 'image');
  assert.ok(out.every((v) => Math.abs(v - 1) < 1e-6));
  const black = await decodeEncodedImage(await encodeGrey(8, 8, 'png', new Uint8Array(64)), spec, limits, 'image');
  assert.ok(black.every((v) => Math.abs(v + 1) < 1e-6));
});

test('resizes to the input shape and converts colour to grey and grey to RGB', async () => {
  const big = await encodeGrey(32, 20, 'jpeg');
  assert.equal((await decodeEncodedImage(big, grey8, limits, 'image')).length, 64);
  const red = await encodeRgb(10, 10, [255, 0, 0]);
  const grey = await decodeEncodedImage(red, grey8, limits, 'image');
  assert.ok(grey.every((v) => v > 0.1 && v < 0.5), 'pure red becomes a mid-dark grey');
  const rgbSpec = { shape: [4, 4, 3] as [number, number, number], range: [0, 1] as [number, number] };
  const rgb = await decodeEncodedImage(red, rgbSpec, limits, 'image');
  assert.equal(rgb.length, 48);
  assert.ok(Math.abs(rgb[0]! - 1) < 1e-6 && rgb[1]! < 1e-6 && rgb[2]! < 1e-6);
  const fromGrey = await decodeEncodedImage(await encodeGrey(4, 4, 'png'), rgbSpec, limits, 'image');
  assert.equal(fromGrey[3 * 5], fromGrey[3 * 5 + 1]);
});

test('transparent pixels are composited on black', async () => {
  const rgba = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png().toBuffer();
  const out = await decodeEncodedImage(rgba, grey8, limits, 'image');
  assert.ok(out.every((v) => v < 1e-6));
});

test('rejects unsupported types (415), corrupt data (400) and oversize images (413)', async () => {
  await assert.rejects(decodeEncodedImage(await encodeGrey(8, 8, 'gif'), grey8, limits, 'images[1]'), (e) => assertCode(e, 'GRADLAB_UNSUPPORTED_MEDIA_TYPE', 'images[1]'));
  const png = await encodeGrey(8, 8, 'png');
  const corrupt = Buffer.concat([png.subarray(0, 30), Buffer.alloc(40, 7)]);
  await assert.rejects(decodeEncodedImage(corrupt, grey8, limits, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE', 'image'));
  const huge = await encodeGrey(200, 200, 'png');
  await assert.rejects(decodeEncodedImage(huge, grey8, limits, 'image'), (e) => assertCode(e, 'GRADLAB_TOO_LARGE', 'image'));
  await assert.rejects(decodeEncodedImage(png, grey8, { ...limits, maxImageBytes: 10 }, 'image'), (e) => assertCode(e, 'GRADLAB_TOO_LARGE'));
});

test('base64 and data URLs decode to the same bytes; malformed strings are 400/415', async () => {
  const png = await encodeGrey(8, 8, 'png');
  assert.deepEqual(bytesFromString(png.toString('base64'), limits, 'image'), png);
  assert.deepEqual(bytesFromString(`data:image/png;base64,${png.toString('base64')}`, limits, 'image'), png);
  assert.throws(() => bytesFromString('not base64 !!', limits, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE', 'image'));
  assert.throws(() => bytesFromString('', limits, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE'));
  assert.throws(() => bytesFromString('data:image/png,abc', limits, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE'));
  assert.throws(() => bytesFromString('data:image/gif;base64,R0lGOD', limits, 'image'), (e) => assertCode(e, 'GRADLAB_UNSUPPORTED_MEDIA_TYPE'));
  assert.throws(() => bytesFromString('A'.repeat(200_000), limits, 'image'), (e) => assertCode(e, 'GRADLAB_TOO_LARGE'));
});

test('pixel arrays are taken exactly, [H][W] or [H][W][C]', () => {
  const arr = pixelArray(8, 8, (y, x) => (y * 8 + x) / 64 + 1e-7 * (x % 2));
  const out = pixelsFromArray(arr, grey8, 'image');
  assert.equal(out[9], Math.fround(arr[1]![1]!));
  const withChannel = arr.map((row) => row.map((v) => [v]));
  assert.deepEqual(pixelsFromArray(withChannel, grey8, 'image'), out);
});

test('pixel arrays with the wrong shape, NaN or out-of-range values answer 400 naming the place', () => {
  const ok = pixelArray(8, 8, () => 0.5);
  const cases: [unknown[], RegExp][] = [
    [ok.slice(0, 7), /image: has 7 rows/],
    [ok.map((r, y) => (y === 3 ? r.slice(1) : r)), /image\[3\]: has 7 columns/],
    [ok.map((r, y) => (y === 2 ? r.map((v, x) => (x === 5 ? Number.NaN : v)) : r)), /image\[2\]\[5\]: null is not a finite number/],
    [ok.map((r, y) => (y === 0 ? r.map((v, x) => (x === 1 ? 1.5 : v)) : r)), /image\[0\]\[1\]: 1.5 is outside the value range/],
    [ok.map((r, y) => (y === 1 ? r.map((v, x) => (x === 0 ? 'x' : v)) : r)), /image\[1\]\[0\]: "x" is not a finite number/],
    [ok.map((r) => r.map((v) => [v, v])), /has 2 channels/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => pixelsFromArray(value, grey8, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_PIXELS', 'image') && message.test((e as Error).message));
  }
});

test('toModelInput dispatches on the form and rejects other types', async () => {
  const png = await encodeGrey(8, 8, 'png');
  const a = await toModelInput(png, grey8, limits, 'image');
  const b = await toModelInput(png.toString('base64'), grey8, limits, 'image');
  assert.deepEqual(a, b);
  await assert.rejects(toModelInput(42, grey8, limits, 'images[0]'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE', 'images[0]'));
  await assert.rejects(toModelInput({ x: 1 }, grey8, limits, 'image'), (e) => assertCode(e, 'GRADLAB_BAD_IMAGE'));
});
