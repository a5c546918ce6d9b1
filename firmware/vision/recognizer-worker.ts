import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeImage, rotateQuarter, type RgbImage } from './image';
import { FaceRecognizer } from './recognizer';
import { ownedWhole, type AnalyseRequest, type WorkerData, type WorkerReply } from './recognizer-protocol';

/**
 * The recognizer's own thread, started by remote-recognizer.ts: model load, warm-up and each frame's
 * inference take from tens of milliseconds to seconds, which on the daemon's thread would hold up GPIO
 * edges, NFC polling and MQTT. Frames arrive by transfer and are zeroed once analysed; nothing here
 * writes anywhere or opens a socket.
 */
function serve(port: MessagePort): void {
  const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  FaceRecognizer.load(workerData as WorkerData).then(
    ({ recognizer, backend }) => {
      port.on('message', (req: AnalyseRequest) => analyse(recognizer, req, post));
      post({ type: 'ready', backend, dimensions: recognizer.dimensions });
    },
    (err: Error) => post({ type: 'load-failed', name: err.name, message: err.message }),
  );
}

function analyse(recognizer: FaceRecognizer, req: AnalyseRequest, post: (reply: WorkerReply, transfer?: ArrayBuffer[]) => void): void {
  const pixels: RgbImage[] = [];
  try {
    pixels.push(decodeImage(req.bytes, req.contentType));
    pixels.push(rotateQuarter(pixels[0]!, req.turns));
    const analysis = recognizer.analyse(pixels[1]!);
    if (analysis.kind !== 'face') return post({ type: 'analysis', analysis });
    const embedding = ownedWhole(analysis.embedding);
    if (embedding !== analysis.embedding) analysis.embedding.fill(0);
    post({ type: 'analysis', analysis: { ...analysis, embedding } }, [embedding.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: 'analyse-failed', message: (err as Error).message });
  } finally {
    req.bytes.fill(0);
    for (const p of pixels) p.data.fill(0);
  }
}

if (!parentPort) throw new Error('recognizer-worker.js runs as a worker thread, started by remote-recognizer');
serve(parentPort);
