import type { CameraSource } from '../../drivers/camera/source';
import { decodeImage } from '../vision/image';
import { fail, pass, type CheckResult } from './check';

const FIX =
  'check the ribbon cable and that `rpicam-hello --list-cameras` lists a camera; on older images enable it with `sudo raspi-config nonint do_camera 0` and reboot. Cards keep working meanwhile.';

/**
 * Takes one frame from the camera the gate would use and decodes it: the whole path the face pipeline
 * depends on. The frame stays in memory and is zeroed at once (red line 4).
 */
export async function checkCamera(source: CameraSource, timeoutMs: number): Promise<CheckResult> {
  let failure = '';
  const frame = await new Promise<Buffer | null>((resolveFrame) => {
    const timer = setTimeout(() => resolveFrame(null), timeoutMs);
    source.start(
      (f) => {
        clearTimeout(timer);
        resolveFrame(f.bytes);
      },
      (status) => {
        // The source retries on its own; remember why, in case no frame ever comes.
        if (status.state === 'failed') failure = status.reason;
      },
    );
  });
  await source.stop();
  if (!frame) return fail('camera', `no frame from ${source.description} within ${timeoutMs} ms${failure ? `: ${failure}` : ''}`, FIX);
  try {
    const image = decodeImage(frame);
    return pass('camera', `${source.description}: one ${image.width}x${image.height} frame decoded (kept in memory only)`);
  } catch (err) {
    return fail('camera', `${source.description} sent a frame that does not decode: ${(err as Error).message}`, FIX);
  } finally {
    frame.fill(0);
  }
}
