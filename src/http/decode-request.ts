/**
 * Decodes every image of a request for one model, in parallel, keeping each image's field name
 * for errors. First, without decoding anything, the pixels all images declare in their headers
 * are held to the per-request limit (each image is held to its own limit as it is decoded).
 */
import type { Limits } from '../config.ts';
import { tooLarge } from '../errors.ts';
import { declaredPixels, toModelInput } from '../images/decode.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { RawImage } from './request-images.ts';

export async function decodeRequestImages(images: RawImage[], model: ImageModel, limits: Limits): Promise<Float32Array[]> {
  const declared = images.map((img) => declaredPixels(img.value, limits, img.field));
  const total = declared.reduce((sum, d) => sum + d.pixels, 0);
  if (total > limits.maxRequestPixels) {
    throw tooLarge('images', `the images declare ${total} pixels together, more than the limit of ${limits.maxRequestPixels} per request`);
  }
  return Promise.all(images.map((img, i) => toModelInput(declared[i]!.bytes ?? img.value, model.manifest.input, limits, img.field)));
}
