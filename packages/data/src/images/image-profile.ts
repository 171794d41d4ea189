import { type EncodingSpec, sortNames } from '../encoding';
import { DataError } from '../errors';
import { decodeImage, isGrayscaleImage } from './image-decoder';
import { readZipImages, type ZipLimits } from './zip-reader';

export interface ImageZipProfile {
  images: number;
  /** Images per class folder. */
  perClass: Record<string, number>;
  classes: string[];
  /** Every image is stored without colour (see isGrayscaleImage): one channel is enough. */
  grayscale: boolean;
}

/** Side length images are resized to when the spec gives no data.imageSize. */
export const DEFAULT_IMAGE_SIZE = 32;

/** Reads every entry of an image archive (checks paths, links, bombs) and decodes every image once. */
export async function profileImageZip(
  path: string,
  options: { file: string; imageSize: number; channels: 1 | 3; limits?: Partial<ZipLimits> },
): Promise<ImageZipProfile> {
  const perClass: Record<string, number> = {};
  let images = 0;
  let grayscale = true;
  for await (const entry of readZipImages(path, {
    file: options.file,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  })) {
    decodeImage(entry.data, `${options.file}:${entry.name}`, {
      size: options.imageSize,
      channels: options.channels,
    });
    grayscale &&= isGrayscaleImage(entry.data);
    perClass[entry.className] = (perClass[entry.className] ?? 0) + 1;
    images++;
  }
  const classes = sortNames(Object.keys(perClass));
  if (classes.length < 2) {
    throw new DataError(
      { file: options.file },
      `the archive has ${classes.length} class folder(s); classification needs two or more`,
      {
        hint: 'Put the images of each class in their own folder: class_name/image.png.',
      },
    );
  }
  return { images, perClass, classes, grayscale };
}

export function imageEncoding(profile: ImageZipProfile, imageSize: number, channels: 1 | 3): EncodingSpec {
  return {
    version: 1,
    format: 'image-zip',
    task: 'classification',
    inputShape: [imageSize, imageSize, channels],
    features: [],
    label: { name: 'class', kind: 'classes', classes: profile.classes },
    // decodeImage already divides by 255.
    pixelScale: 255,
  };
}
