import { renderSVG } from "uqr";

/**
 * The QR code a till camera reads: it encodes the purchase reference (what the merchant's scan
 * accepts). Error correction M survives a scuffed screen; a 4-module quiet zone is what
 * phone readers expect.
 */
export function qrSvg(text: string): string {
  return renderSVG(text, { ecc: "M", border: 4, pixelSize: 8 });
}
