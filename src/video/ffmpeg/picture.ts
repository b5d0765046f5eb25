/**
 * The camera's picture at a profile's resolution. The sample video rarely has the profile's aspect ratio; a camera's
 * sensor fills its own frame, so the source is scaled to cover the frame and cropped about its centre (no bars, no
 * stretching). Sizes are rounded down to even numbers: 4:2:0 video has no odd sizes.
 */

export interface PictureSize {
  width: number;
  height: number;
}

export function evenPictureSize(size: PictureSize): PictureSize {
  return {
    width: Math.max(2, size.width - (size.width % 2)),
    height: Math.max(2, size.height - (size.height % 2)),
  };
}

/** An ffmpeg filter chain from any picture to the camera's framing at `size`. */
export function cameraFramingFilter(size: PictureSize): string {
  const { width, height } = evenPictureSize(size);
  return `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},setsar=1`;
}
