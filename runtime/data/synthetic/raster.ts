import type { Rgb } from '../../image/draw.ts';

/** A canvas with a per-pixel owner id, so a person's visible area and box can be measured. */
export class Canvas {
  readonly data: Uint8Array;
  readonly owner: Int16Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.owner = new Int16Array(width * height).fill(-1);
  }

  set(x: number, y: number, color: Rgb, owner: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = y * this.width + x;
    this.data[i * 3] = color[0];
    this.data[i * 3 + 1] = color[1];
    this.data[i * 3 + 2] = color[2];
    this.owner[i] = owner;
  }

  /** Fills every pixel whose center passes `inside`, within a bounding box. */
  fill(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Rgb,
    owner: number,
    inside: (x: number, y: number) => boolean,
  ): void {
    const xs = Math.max(0, Math.floor(x0));
    const xe = Math.min(this.width - 1, Math.ceil(x1));
    const ys = Math.max(0, Math.floor(y0));
    const ye = Math.min(this.height - 1, Math.ceil(y1));
    for (let y = ys; y <= ye; y++)
      for (let x = xs; x <= xe; x++) if (inside(x + 0.5, y + 0.5)) this.set(x, y, color, owner);
  }

  /** A segment whose radius tapers linearly from r0 to r1 (a limb). */
  capsule(
    ax: number,
    ay: number,
    bx: number,
    by: number,
    r0: number,
    r1: number,
    color: Rgb,
    owner: number,
  ): void {
    const dx = bx - ax;
    const dy = by - ay;
    const length2 = dx * dx + dy * dy || 1;
    const r = Math.max(r0, r1);
    this.fill(
      Math.min(ax, bx) - r,
      Math.min(ay, by) - r,
      Math.max(ax, bx) + r,
      Math.max(ay, by) + r,
      color,
      owner,
      (x, y) => {
        const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / length2));
        const radius = r0 + (r1 - r0) * t;
        return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= radius * radius;
      },
    );
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, angle: number, color: Rgb, owner: number): void {
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const r = Math.max(rx, ry);
    this.fill(cx - r, cy - r, cx + r, cy + r, color, owner, (x, y) => {
      const u = (x - cx) * cos + (y - cy) * sin;
      const v = -(x - cx) * sin + (y - cy) * cos;
      return (u / rx) ** 2 + (v / ry) ** 2 <= 1;
    });
  }

  /** A convex polygon (points in order). */
  polygon(points: readonly (readonly [number, number])[], color: Rgb, owner: number): void {
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    this.fill(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), color, owner, (x, y) => {
      let sign = 0;
      for (let i = 0; i < points.length; i++) {
        const [ax, ay] = points[i]!;
        const [bx, by] = points[(i + 1) % points.length]!;
        const cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
        if (cross !== 0) {
          if (sign === 0) sign = Math.sign(cross);
          else if (Math.sign(cross) !== sign) return false;
        }
      }
      return true;
    });
  }
}
