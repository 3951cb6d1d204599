// Reads QR codes from the camera: the browser's BarcodeDetector where it reads QR codes, otherwise
// the same API from the barcode-detector package (ZXing compiled to WebAssembly), served from this
// site's /vendor/ folder and loaded only when a camera scan starts without a native detector.
const PONYFILL = "/vendor/barcode-detector/ponyfill.js";
const WASM = "/vendor/zxing-wasm/zxing_reader.wasm";
const INTERVAL_MS = 150;

async function nativeDetector() {
  if (!("BarcodeDetector" in globalThis)) return null;
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new globalThis.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error("The QR reader could not be loaded. Type the code instead."));
    document.head.append(script);
  });
}

async function bundledDetector() {
  if (!globalThis.BarcodeDetectionAPI) await loadScript(PONYFILL);
  const api = globalThis.BarcodeDetectionAPI;
  // The package would fetch its .wasm from a CDN: point it at our own copy, and load it now.
  await api.prepareZXingModule({ overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM : prefix + path) }, fireImmediately: true });
  return new api.BarcodeDetector({ formats: ["qr_code"] });
}

function cameraError(error) {
  if (!navigator.mediaDevices?.getUserMedia) return new Error("The camera needs a secure (https) page. Type the code instead.");
  if (error?.name === "NotAllowedError") return new Error("The camera was not allowed. Allow it in the browser's settings, or type the code instead.");
  if (error?.name === "NotFoundError" || error?.name === "OverconstrainedError") return new Error("No camera was found. Type the code instead.");
  return new Error("The camera could not be started. Type the code instead.");
}

/** Starts the camera in `video` and calls onCode with the first QR code read; returns stop(). */
export async function startScanner(video, { onCode, onStatus }) {
  if (!navigator.mediaDevices?.getUserMedia) throw cameraError();
  const detectorPromise = nativeDetector().then((d) => d ?? bundledDetector());
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false });
  } catch (error) {
    throw cameraError(error);
  }
  let stopped = false;
  let timer;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  video.srcObject = stream;
  await video.play().catch(() => {});
  onStatus("Loading the QR reader…");
  let detector;
  try {
    detector = await detectorPromise;
  } catch (error) {
    stop();
    throw error;
  }
  onStatus("Point the camera at the customer's QR code.");

  const tick = async () => {
    if (stopped) return;
    try {
      if (video.readyState >= 2) {
        const [code] = await detector.detect(video);
        if (code?.rawValue && !stopped) {
          stop();
          return onCode(code.rawValue.trim());
        }
      }
    } catch {
      // A frame that cannot be read: try the next one.
    }
    timer = setTimeout(tick, INTERVAL_MS);
  };
  tick();
  return stop;
}
