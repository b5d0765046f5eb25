// The console page: state and timeline from /api/events (server-sent events), live view from the device's HLS
// stream (/<deviceId>/hls/index.m3u8, played with Media Source Extensions; /api/live JPEGs where that cannot work),
// clips from /api/clips, controls POST to /api/*. Plain DOM, no framework.
import {
  describeEvent,
  describeRefusal,
  formatBytes,
  formatClipStart,
  formatClockTime,
  formatCountdown,
  formatDuration,
  formatUptime,
  signalQuality,
} from './format.js';
import { startConsoleLiveView } from './live-view.js';
import { MotionTrack } from './motion-overlay.js';

const TIMELINE_LIMIT = 100;
const CLIP_REFRESH_MS = 60_000;
const COUNTDOWN_TICK_MS = 30_000;

const byId = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`console page is missing #${id}`);
  return element;
};

const el = {
  deviceId: byId('device-id'),
  model: byId('model'),
  status: byId('status'),
  health: byId('health'),
  link: byId('link'),
  live: byId('live'),
  liveView: byId('live-view'),
  liveVideo: byId('live-video'),
  liveOverlay: byId('live-overlay'),
  fps: byId('fps'),
  liveMessage: byId('live-message'),
  motionBadge: byId('motion-badge'),
  ring: byId('ring'),
  ringResult: byId('ring-result'),
  motionEnabled: byId('motion-enabled'),
  battery: byId('battery'),
  rssi: byId('rssi'),
  queueUploads: byId('queue-uploads'),
  queueOutbox: byId('queue-outbox'),
  dings: byId('dings'),
  uptime: byId('uptime'),
  firmware: byId('firmware'),
  power: byId('power'),
  problems: byId('problems'),
  streams: byId('streams'),
  timeline: byId('timeline'),
  timelineEmpty: byId('timeline-empty'),
  clips: byId('clips'),
  clipsEmpty: byId('clips-empty'),
  clipCount: byId('clip-count'),
  playerBox: byId('player-box'),
  player: byId('player'),
  playerCaption: byId('player-caption'),
  toast: byId('toast'),
};
const sensitivityInputs = [...document.querySelectorAll('input[name="sensitivity"]')];

/** Server clock minus page clock, so retention countdowns follow the agent's clock. */
let serverOffsetMs = 0;
let pendingControl = 0;
let lastState;
/** Motion events, looked up by the device time of the frame the live video shows. */
const motionTrack = new MotionTrack();

// ---------- HTTP ----------

async function api(path, body) {
  const init =
    body === undefined
      ? { headers: { Accept: 'application/json' } }
      : {
          method: 'POST',
          headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

let toastTimer;
function showToast(message) {
  el.toast.textContent = message;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.toast.hidden = true;
  }, 5000);
}

// ---------- state ----------

function setPill(element, text, tone) {
  element.textContent = text;
  element.className = `pill pill-${tone}`;
}

function renderState(state) {
  el.deviceId.textContent = state.deviceId;
  el.model.textContent = `${state.manufacturer} ${state.model}`;
  document.title = `${state.deviceId} · Doorbell console`;
  const statusTone =
    { idle: 'ok', ringing: 'accent', recording: 'warn', uploading: 'info' }[state.status] ?? 'muted';
  setPill(el.status, state.status, statusTone);
  setPill(el.health, state.healthy ? 'healthy' : 'unhealthy', state.healthy ? 'ok' : 'bad');

  if (state.battery === null) el.battery.textContent = 'wired';
  else renderMeter(el.battery, state.battery, `${Math.round(state.battery)} %`, state.battery < 20);
  const quality = signalQuality(state.rssi);
  const bars = { excellent: 100, good: 75, fair: 50, weak: 25 }[quality];
  renderMeter(el.rssi, bars, `${state.rssi} dBm · ${quality}`, quality === 'weak');
  el.queueUploads.textContent = `${state.queues.uploads} waiting`;
  el.queueOutbox.textContent = `${state.queues.outbox} waiting`;
  el.dings.textContent = state.lastDingAt
    ? `${state.dings} · last ${formatClockTime(state.lastDingAt)}`
    : String(state.dings);
  el.uptime.textContent = formatUptime(state.uptimeS);
  el.firmware.textContent = state.firmware;
  el.power.textContent = state.power;

  el.problems.replaceChildren(
    ...state.problems.map((problem) => {
      const item = document.createElement('li');
      item.textContent = problem;
      return item;
    }),
  );
  el.problems.hidden = state.problems.length === 0;
  renderStreams(state.streams ?? {});

  el.motionBadge.hidden = !state.motion;
  lastState = state;
  if (pendingControl === 0) syncControls(state);
}

/** The URLs a video client copies (state's `streams`), as selectable text: RTSP is no link a browser follows. */
function renderStreams(streams) {
  const rows = [
    ['RTSP', streams.rtsp?.main],
    ['RTSP substream', streams.rtsp?.sub],
    ['MJPEG', streams.mjpeg?.main],
    ['HLS', streams.hls?.main],
    ['Snapshot', streams.snapshot],
  ].filter(([, url]) => url);
  el.streams.replaceChildren(
    ...rows.map(([name, url]) => {
      const row = document.createElement('div');
      const term = document.createElement('dt');
      term.textContent = name;
      const value = document.createElement('dd');
      const code = document.createElement('code');
      code.textContent = url;
      value.append(code);
      row.append(term, value);
      return row;
    }),
  );
  el.streams.hidden = rows.length === 0;
}

/** Controls follow the device, except while the user's own change is on its way. */
function syncControls(state) {
  el.motionEnabled.checked = state.motionEnabled;
  for (const input of sensitivityInputs) input.checked = input.value === state.sensitivity;
}

function renderMeter(target, percent, label, low) {
  const meter = document.createElement('span');
  meter.className = low ? 'meter meter-low' : 'meter';
  meter.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'meter-fill';
  fill.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  meter.append(fill);
  const text = document.createElement('span');
  text.textContent = label;
  target.replaceChildren(meter, text);
}

// ---------- timeline ----------

function timelineItem(event) {
  const described = describeEvent(event);
  if (!described) return undefined;
  const variant = event.kind === 'motion' ? `motion-${event.payload.type}` : event.kind;
  const item = document.createElement('li');
  item.className = `event event-${variant}`;
  item.dataset.kind = event.kind;
  item.dataset.eventId = event.payload.id;
  const time = document.createElement('time');
  time.dateTime = event.payload.at;
  time.textContent = formatClockTime(event.payload.at);
  const dot = document.createElement('span');
  dot.className = 'event-dot';
  dot.setAttribute('aria-hidden', 'true');
  const body = document.createElement('div');
  body.className = 'event-body';
  const title = document.createElement('strong');
  title.textContent = described.title;
  const detail = document.createElement('span');
  detail.className = 'event-detail';
  detail.textContent = described.detail;
  body.append(title, detail);
  item.append(time, dot, body);
  return item;
}

/** The timeline entry of one visit (events sharing a sessionId), made when its first event arrives. */
function visitOf(event) {
  const sessionId = event.payload.sessionId ?? event.payload.id;
  const existing = [...el.timeline.children].find((visit) => visit.dataset.sessionId === sessionId);
  if (existing) return existing;
  const visit = document.createElement('li');
  visit.className = 'visit';
  visit.dataset.sessionId = sessionId;
  const head = document.createElement('div');
  head.className = 'visit-head';
  const time = document.createElement('time');
  time.dateTime = event.payload.at;
  time.textContent = `Visit · ${formatClockTime(event.payload.at)}`;
  head.append(time);
  const events = document.createElement('ol');
  events.className = 'visit-events';
  visit.append(head, events);
  el.timeline.prepend(visit);
  return visit;
}

function addToTimeline(event) {
  const item = timelineItem(event);
  if (!item) return;
  visitOf(event).querySelector('.visit-events').prepend(item);
  // The oldest visits go first when the timeline is full.
  while (el.timeline.querySelectorAll('.event').length > TIMELINE_LIMIT)
    el.timeline.lastElementChild?.remove();
  el.timelineEmpty.hidden = true;
}

function onDeviceEvent(event) {
  if (event.kind === 'state') {
    renderState(event.payload);
    return;
  }
  if (event.kind === 'motion') {
    el.motionBadge.hidden = event.payload.type === 'end';
    motionTrack.add(event.payload);
  }
  addToTimeline(event);
  if (event.kind === 'clip') void refreshClips();
}

function connectEvents() {
  const source = new EventSource('/api/events');
  source.addEventListener('hello', (message) => {
    const hello = JSON.parse(message.data);
    serverOffsetMs = Date.parse(hello.now) - Date.now();
    renderState(hello.state);
    el.timeline.replaceChildren();
    for (const event of hello.recent) {
      addToTimeline(event);
      if (event.kind === 'motion') motionTrack.add(event.payload);
    }
    startLive(hello.livePlaylist);
    el.timelineEmpty.hidden = el.timeline.children.length > 0;
    setPill(el.link, 'live', 'ok');
  });
  source.addEventListener('message', (message) => onDeviceEvent(JSON.parse(message.data)));
  source.addEventListener('error', () => {
    setPill(el.link, source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…', 'bad');
    if (source.readyState === EventSource.CLOSED) setTimeout(connectEvents, 5000);
  });
}

// ---------- controls ----------

el.ring.addEventListener('click', async () => {
  el.ring.classList.add('ring-pressed');
  setTimeout(() => el.ring.classList.remove('ring-pressed'), 300);
  try {
    const result = await api('/api/press', {});
    el.ringResult.textContent = result.rang
      ? 'Ding! Rang the chime.'
      : `Not rung: ${describeRefusal(result.reason)}.`;
  } catch (error) {
    el.ringResult.textContent = `Ring failed: ${error.message}`;
  }
});

async function control(path, body, applied, revert) {
  pendingControl++;
  try {
    await api(path, body);
    // The device took it; a state update sent before it did must not flip the control back.
    if (lastState) lastState = { ...lastState, ...applied };
  } catch (error) {
    revert();
    showToast(`Could not change the setting: ${error.message}`);
  } finally {
    pendingControl--;
    // A state update that arrived meanwhile was held back; apply the newest one now.
    if (pendingControl === 0 && lastState) syncControls(lastState);
  }
}

el.motionEnabled.addEventListener('change', () => {
  const enabled = el.motionEnabled.checked;
  void control('/api/motion', { enabled }, { motionEnabled: enabled }, () => {
    el.motionEnabled.checked = !enabled;
  });
});

for (const input of sensitivityInputs) {
  input.addEventListener('change', () => {
    if (!input.checked) return;
    void control('/api/sensitivity', { sensitivity: input.value }, { sensitivity: input.value }, () => {
      input.checked = false;
    });
  });
}

// ---------- clips ----------

let clipsLoading;
function refreshClips() {
  clipsLoading ??= loadClips().finally(() => {
    clipsLoading = undefined;
  });
  return clipsLoading;
}

async function loadClips() {
  try {
    const { now, clips } = await api('/api/clips');
    serverOffsetMs = Date.parse(now) - Date.now();
    clips.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
    el.clips.replaceChildren(...clips.map(clipItem));
    el.clipsEmpty.hidden = clips.length > 0;
    el.clipCount.textContent = clips.length === 1 ? '1 clip' : `${clips.length} clips`;
  } catch (error) {
    showToast(`Could not list clips: ${error.message}`);
  }
}

function clipItem(clip) {
  const item = document.createElement('li');
  item.className = 'clip';
  item.dataset.clipId = clip.clipId;
  const when = formatClipStart(clip.startedAt);

  const play = document.createElement('button');
  play.type = 'button';
  play.className = 'clip-play';
  play.disabled = !clip.playable;
  play.setAttribute(
    'aria-label',
    clip.playable ? `Play ${clip.trigger} clip from ${when}` : `Clip from ${when} is encrypted`,
  );
  play.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M8 5v14l11-7Z" fill="currentColor"/></svg>';
  play.addEventListener('click', () => playClip(clip, when));

  const body = document.createElement('div');
  body.className = 'clip-body';
  const title = document.createElement('strong');
  title.textContent = `${clip.trigger[0].toUpperCase()}${clip.trigger.slice(1)} · ${when}`;
  const detail = document.createElement('span');
  detail.className = 'clip-detail';
  detail.textContent = `${formatDuration(clip.startedAt, clip.endedAt)} · ${formatBytes(clip.bytes)}`;
  body.append(title, detail);

  const tags = document.createElement('div');
  tags.className = 'clip-tags';
  const retention = document.createElement('span');
  retention.className = 'retention';
  if (clip.legalHold) {
    retention.textContent = 'legal hold';
    retention.classList.add('retention-hold');
  } else {
    retention.dataset.retainUntil = clip.retainUntil;
    renderCountdown(retention);
  }
  tags.append(retention);
  if (clip.encrypted) {
    const lock = document.createElement('span');
    lock.className = 'tag';
    lock.textContent = 'encrypted';
    tags.append(lock);
  }
  item.append(play, body, tags);
  return item;
}

function renderCountdown(element) {
  const left = Date.parse(element.dataset.retainUntil) - (Date.now() + serverOffsetMs);
  const text = formatCountdown(left);
  element.textContent = text === 'expired' ? 'expired, awaiting sweep' : `deleted in ${text}`;
  element.title = `kept until ${new Date(element.dataset.retainUntil).toLocaleString()}`;
  element.classList.toggle('retention-soon', left < 24 * 3600 * 1000);
}

function playClip(clip, when) {
  el.playerBox.hidden = false;
  el.player.src = `/api/clips/${encodeURIComponent(clip.clipId)}`;
  el.playerCaption.textContent = `${clip.trigger} clip · ${when} · ${clip.clipId}`;
  for (const item of el.clips.children)
    item.classList.toggle('clip-active', item.dataset.clipId === clip.clipId);
  el.player.play().catch((error) => {
    // A newer click replacing the source interrupts the previous play(); that is not a failure.
    if (error.name !== 'AbortError') showToast(`Cannot play the clip: ${error.message}`);
  });
}

el.player.addEventListener('error', () => {
  if (el.player.getAttribute('src')) showToast('The clip could not be loaded.');
});

// ---------- live view ----------

let liveStarted = false;
function startLive(playlistUrl) {
  if (liveStarted) return;
  liveStarted = true;
  startConsoleLiveView(
    {
      view: el.liveView,
      video: el.liveVideo,
      overlay: el.liveOverlay,
      canvas: el.live,
      fps: el.fps,
      message: el.liveMessage,
    },
    motionTrack,
    playlistUrl,
  );
}

// ---------- start ----------

connectEvents();
void refreshClips();
setInterval(() => void refreshClips(), CLIP_REFRESH_MS);
setInterval(() => {
  for (const element of el.clips.querySelectorAll('.retention[data-retain-until]')) renderCountdown(element);
}, COUNTDOWN_TICK_MS);
