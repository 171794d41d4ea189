#!/usr/bin/env node
// Builds fixtures/digits-images/digits.zip from scikit-learn's digits.csv.gz (the UCI optdigits test set:
// 1797 8x8 grayscale digits, pixel counts 0..16, the class in the last column), so the image-archive
// path has a small real data set. The archive holds one 8-bit grayscale PNG per digit in class folders
// 0/ .. 9/, stored in the CSV's row order with a fixed timestamp: the same input gives the same bytes.
//
//   cd /tmp && apt-get download python3-sklearn && dpkg -x python3-sklearn*.deb sk
//   node scripts/make-digits-images.cjs \
//     /tmp/sk/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz fixtures/digits-images/digits.zip
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { PNG } = require('pngjs');
const { ZipFile } = require('yazl');

const SIDE = 8;
const MAX_COUNT = 16;

function fail(message) {
  console.error(`make-digits-images: ${message}`);
  process.exit(1);
}

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  fail('usage: make-digits-images.cjs <digits.csv.gz> <out.zip>');
}

const lines = zlib
  .gunzipSync(fs.readFileSync(input))
  .toString('ascii')
  .split('\n')
  .filter((line) => line.trim() !== '');
const zip = new ZipFile();
const perClass = new Map();
lines.forEach((line, row) => {
  const values = line.split(',').map(Number);
  if (values.length !== SIDE * SIDE + 1 || values.some((v) => !Number.isInteger(v))) {
    fail(`line ${row + 1} does not hold ${SIDE * SIDE} pixel counts and a class`);
  }
  const label = values[SIDE * SIDE];
  if (label < 0 || label > 9) fail(`line ${row + 1} has class ${label}, not a digit`);
  const png = new PNG({ width: SIDE, height: SIDE, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const gray = Buffer.alloc(SIDE * SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const count = values[i];
    if (count < 0 || count > MAX_COUNT) fail(`line ${row + 1} has a pixel count ${count} outside 0..16`);
    // 0..16 onto the 8-bit range, so that the decoder's division by 255 gives count / 16.
    gray[i] = Math.round((count * 255) / MAX_COUNT);
  }
  png.data = gray;
  const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
  perClass.set(label, (perClass.get(label) ?? 0) + 1);
  // PNG data does not deflate further; a fixed mtime keeps the archive byte-identical between runs.
  zip.addBuffer(bytes, `${label}/${String(row).padStart(4, '0')}.png`, {
    compress: false,
    mtime: new Date(Date.UTC(2000, 0, 1)),
  });
});
zip.end();
fs.mkdirSync(path.dirname(output), { recursive: true });
zip.outputStream.pipe(fs.createWriteStream(output)).on('close', () => {
  const counts = [...perClass.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`);
  console.log(`wrote ${output}: ${lines.length} images (${counts.join(' ')})`);
});
