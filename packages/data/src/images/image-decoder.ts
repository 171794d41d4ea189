import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { DataError } from '../errors';

export interface ImageOptions {
  /** Side length of the square output. */
  size: number;
  /** 1 = grayscale, 3 = RGB. */
  channels: 1 | 3;
  /** Largest width x height accepted before decoding (decompression bombs hide in image headers too). */
  maxPixels?: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const DEFAULT_MAX_PIXELS = 16 * 1024 * 1024;

function decodeRgba(
  bytes: Buffer,
  file: string,
  maxPixels: number,
): { width: number; height: number; data: Uint8Array } {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    if (bytes.length < 24) throw new DataError({ file }, 'the PNG file ends inside its header');
    const width = bytes.readUInt32BE(16);
    const height = bytes.readUInt32BE(20);
    if (width * height > maxPixels) {
      throw new DataError(
        { file },
        `the image is ${width}x${height} pixels, more than the ${maxPixels}-pixel limit`,
      );
    }
    try {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    } catch (error) {
      throw new DataError({ file }, `the PNG image cannot be decoded (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    try {
      const image = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: maxPixels / 1_000_000,
        maxMemoryUsageInMB: Math.ceil((maxPixels * 8) / (1024 * 1024)),
      });
      return image;
    } catch (error) {
      throw new DataError({ file }, `the JPEG image cannot be decoded (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  throw new DataError({ file }, 'the file is neither a PNG nor a JPEG image', {
    hint: 'Archives may hold only .png and .jpg images.',
  });
}

/**
 * Whether an image is stored without colour (PNG colour types 0 and 4, single-component JPEG), read from
 * its header without decoding. An archive of such images trains on one channel instead of three.
 */
export function isGrayscaleImage(bytes: Buffer): boolean {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
    // IHDR is the first chunk: 8 signature + 4 length + 4 type + 4 width + 4 height + 1 depth, then colour type.
    const colourType = bytes[25];
    return colourType === 0 || colourType === 4;
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1] as number;
      const length = bytes.readUInt16BE(at + 2);
      // Start-of-frame markers (C0..CF but DHT C4, JPG C8, DAC CC) carry the component count at +9.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return bytes[at + 9] === 1;
      }
      at += 2 + length;
    }
  }
  return false;
}

/**
 * Decodes a PNG or JPEG image and resizes it (bilinear) to `size` x `size`, returning `size*size*channels`
 * values in [0, 1], row-major, channels last. Alpha is ignored.
 */
export function decodeImage(bytes: Buffer, file: string, options: ImageOptions): Float32Array {
  const { width, height, data } = decodeRgba(bytes, file, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  if (width === 0 || height === 0) throw new DataError({ file }, 'the image has no pixels');
  const { size, channels } = options;
  const out = new Float32Array(size * size * channels);
  const pixel = (x: number, y: number, c: number): number => data[(y * width + x) * 4 + c] as number;
  for (let oy = 0; oy < size; oy++) {
    // Sample at pixel centres so that downscaling and upscaling stay symmetric.
    const sy = Math.min(Math.max(((oy + 0.5) * height) / size - 0.5, 0), height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, height - 1);
    const fy = sy - y0;
    for (let ox = 0; ox < size; ox++) {
      const sx = Math.min(Math.max(((ox + 0.5) * width) / size - 0.5, 0), width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, width - 1);
      const fx = sx - x0;
      const rgb = [0, 1, 2].map(
        (c) =>
          (pixel(x0, y0, c) * (1 - fx) + pixel(x1, y0, c) * fx) * (1 - fy) +
          (pixel(x0, y1, c) * (1 - fx) + pixel(x1, y1, c) * fx) * fy,
      ) as [number, number, number];
      const at = (oy * size + ox) * channels;
      if (channels === 1) out[at] = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
      else for (let c = 0; c < 3; c++) out[at + c] = rgb[c as 0 | 1 | 2] / 255;
    }
  }
  return out;
}
