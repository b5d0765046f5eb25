// The console's live view: the device's HLS stream played with Media Source Extensions, with the motion box drawn
// for each presented frame, or the agent's annotated JPEGs (/api/live) where HLS cannot play.
import { HlsUnavailable, startHlsPlayer } from './hls-player.js';
import { FrameRateMeter, startLiveView } from './live-stream.js';
import { drawMotionBox } from './motion-overlay.js';

/**
 * The real stream (colour, full frame rate) when the browser and the device can; the agent's JPEGs otherwise.
 * `el`: the page's {view, video, overlay, canvas, fps, message} elements; `playlistUrl` null when there is no HLS.
 */
export function startConsoleLiveView(el, motionTrack, playlistUrl) {
  const showLiveStatus = (status) => showStatus(el, status);
  const startJpegLive = () => startJpeg(el, showLiveStatus);
  const canPlay =
    typeof MediaSource !== 'undefined' && 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  if (!playlistUrl || !canPlay) {
    startJpegLive();
    return;
  }
  el.view.dataset.mode = 'hls';
  el.canvas.hidden = true;
  el.video.hidden = false;
  el.overlay.hidden = false;
  const video = el.video;
  const meter = new FrameRateMeter();
  let frames = 0;
  let message;
  const player = startHlsPlayer(video, playlistUrl, (status) => {
    message = status.message;
  });
  // Each presented frame: count it, and draw the motion box of the device instant that frame shows.
  let frameRequest;
  const watchNextFrame = () => {
    if (frameRequest === undefined) frameRequest = video.requestVideoFrameCallback(onFrame);
  };
  const onFrame = (now, metadata) => {
    frameRequest = undefined;
    frames = metadata.presentedFrames;
    el.view.dataset.frames = String(frames);
    meter.tick(now);
    const overlay = el.overlay;
    if (overlay.width !== video.videoWidth || overlay.height !== video.videoHeight) {
      overlay.width = video.videoWidth;
      overlay.height = video.videoHeight;
    }
    const deviceMs = player.timeline.deviceMsAt(metadata.mediaTime);
    drawMotionBox(overlay, motionTrack.boxAt(deviceMs));
    overlay.dataset.mediaTime = String(metadata.mediaTime);
    if (deviceMs !== undefined) overlay.dataset.deviceMs = String(Math.round(deviceMs));
    watchNextFrame();
  };
  watchNextFrame();
  // Whatever a new source (a player that started over) does to pending callbacks, frames stay watched.
  video.addEventListener('playing', watchNextFrame);
  const ticker = setInterval(
    () => showLiveStatus({ fps: meter.rate(performance.now()), frames, message }),
    500,
  );
  player.ended.catch((error) => {
    if (!(error instanceof HlsUnavailable)) throw error;
    // This device serves no HLS (or this browser cannot play it): the agent's annotated JPEGs instead.
    clearInterval(ticker);
    player.stop();
    el.video.hidden = true;
    el.overlay.hidden = true;
    el.canvas.hidden = false;
    startJpegLive();
  });
}

function showStatus(el, status) {
  el.fps.textContent = `${status.fps.toFixed(1)} fps`;
  el.view.dataset.fps = status.fps.toFixed(2);
  const waiting = status.frames === 0 ? 'Waiting for frames…' : '';
  el.message.textContent = status.message ?? waiting;
  el.message.hidden = !status.message && status.frames > 0;
}

function startJpeg(el, onStatus) {
  el.view.dataset.mode = 'jpeg';
  startLiveView(el.canvas, onStatus, undefined, (frames) => {
    el.view.dataset.frames = String(frames);
  });
}
