'use strict';
// Reads the Fashion-MNIST IDX files (gzip) that Debian's dataset-fashion-mnist package installs.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

function readIdx(file) {
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  // IDX header: two zero bytes, a type code (0x08 = unsigned byte), the rank, then one big-endian
  // uint32 per dimension.
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new Error(`${file} is not an unsigned-byte IDX file`);
  }
  const rank = bytes[3];
  const shape = [];
  for (let i = 0; i < rank; i++) shape.push(bytes.readUInt32BE(4 + 4 * i));
  const data = bytes.subarray(4 + 4 * rank);
  if (data.length !== shape.reduce((a, b) => a * b, 1))
    throw new Error(`${file}: size does not match its header`);
  return { shape, data };
}

/** The first `limit` training images as floats in [0, 1] ([n, 28, 28, 1] row-major) and their labels. */
function loadFashionMnist(limit, dir = process.env.FASHION_MNIST_DIR || DEFAULT_DIR) {
  const images = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
  const labels = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz'));
  const count = Math.min(limit, images.shape[0], labels.shape[0]);
  const pixels = 28 * 28;
  const features = new Float32Array(count * pixels);
  for (let i = 0; i < count * pixels; i++) features[i] = images.data[i] / 255;
  return { count, features, labels: Int32Array.from(labels.data.subarray(0, count)) };
}

module.exports = { loadFashionMnist, readIdx, DEFAULT_DIR };
