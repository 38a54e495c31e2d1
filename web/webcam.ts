import type { RgbImage } from '../runtime/image/rgb-image.ts';

/** One camera frame: its pixels as the network reads them, and a canvas holding it for drawing. */
export interface WebcamFrame {
  readonly image: RgbImage;
  readonly picture: OffscreenCanvas;
}

/**
 * The camera as a source of frames. Frames are taken one at a time, when the previous prediction is
 * done, so a slow adapter lowers the frame rate instead of queueing work.
 */
export class Webcam {
  private constructor(
    private readonly stream: MediaStream,
    private readonly video: HTMLVideoElement,
    private readonly canvas: OffscreenCanvas,
  ) {}

  static async open(video: HTMLVideoElement): Promise<Webcam> {
    if (!navigator.mediaDevices?.getUserMedia)
      throw new Error('this browser offers no camera here (navigator.mediaDevices needs a secure context)');
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    } catch (error) {
      throw new Error(
        `the camera could not be opened: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    video.srcObject = stream;
    video.muted = true;
    await video.play();
    if (video.videoWidth === 0)
      await new Promise((resolve) => video.addEventListener('resize', resolve, { once: true }));
    return new Webcam(stream, video, new OffscreenCanvas(video.videoWidth, video.videoHeight));
  }

  /** The current frame as 8-bit RGB (alpha dropped, as decodeImageFile does). */
  frame(): WebcamFrame {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('this browser cannot read pixels from a 2D canvas');
    context.drawImage(this.video, 0, 0, width, height);
    const rgba = context.getImageData(0, 0, width, height).data;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
      data[o] = rgba[i]!;
      data[o + 1] = rgba[i + 1]!;
      data[o + 2] = rgba[i + 2]!;
    }
    return { image: { width, height, data }, picture: this.canvas };
  }

  close(): void {
    for (const track of this.stream.getTracks()) track.stop();
    this.video.srcObject = null;
  }
}

/** Frames per second over the last few frames, so the number follows the current speed. */
export class FrameRate {
  private readonly times: number[] = [];

  tick(now: number): number {
    this.times.push(now);
    if (this.times.length > 10) this.times.shift();
    if (this.times.length < 2) return 0;
    return ((this.times.length - 1) * 1000) / (now - this.times[0]!);
  }
}
