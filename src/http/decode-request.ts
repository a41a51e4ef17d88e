/** Decodes every image of a request for one model, in parallel, keeping each image's field name for errors. */
import type { Limits } from '../config.ts';
import { toModelInput } from '../images/decode.ts';
import type { ImageModel } from '../model/image-model.ts';
import type { RawImage } from './request-images.ts';

export async function decodeRequestImages(images: RawImage[], model: ImageModel, limits: Limits): Promise<Float32Array[]> {
  return Promise.all(images.map((img) => toModelInput(img.value, model.manifest.input, limits, img.field)));
}
