// A video file for Chromium's fake camera (--use-file-for-fake-video-capture): a QR code drawn as
// black modules on white, written as uncompressed Y4M (4:2:0, the format Chromium reads).
import { writeFileSync } from "node:fs";
import { encode } from "uqr";

/** Writes `frames` identical frames of the QR code of `text`, centred, to `path`. */
export function writeQrVideo(path: string, text: string, { width = 640, height = 480, frames = 10 } = {}) {
  const { data, size } = encode(text, { ecc: "M", border: 4 });
  const scale = Math.floor((Math.min(width, height) * 0.8) / size);
  const left = (width - size * scale) >> 1;
  const top = (height - size * scale) >> 1;
  // Luma: 235 is video white, 16 video black. Chroma 128 everywhere: no colour.
  const luma = Buffer.alloc(width * height, 235);
  for (let row = 0; row < size; row++)
    for (let col = 0; col < size; col++) {
      if (!data[row]![col]) continue;
      for (let dy = 0; dy < scale; dy++) {
        const start = (top + row * scale + dy) * width + left + col * scale;
        luma.fill(16, start, start + scale);
      }
    }
  const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), luma, chroma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}
