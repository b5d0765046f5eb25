// Pure formatting helpers for the console page (no DOM), shared with the unit tests via format.d.ts.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "59 d 23 h", "5 h 12 min", "12 min", "< 1 min", or "expired". */
export function formatCountdown(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return 'expired';
  if (ms >= DAY) {
    const days = Math.floor(ms / DAY);
    const hours = Math.floor((ms % DAY) / HOUR);
    return `${days} d ${hours} h`;
  }
  if (ms >= HOUR) {
    const hours = Math.floor(ms / HOUR);
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return `${hours} h ${minutes} min`;
  }
  if (ms >= MINUTE) return `${Math.floor(ms / MINUTE)} min`;
  return '< 1 min';
}

/** "382 KB", "1.4 MB". */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Seconds between two ISO times, as "14 s" or "2 min 5 s". */
export function formatDuration(startIso, endIso) {
  const seconds = Math.max(0, Math.round((Date.parse(endIso) - Date.parse(startIso)) / 1000));
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Local wall-clock time "HH:MM:SS" of an ISO timestamp. */
export function formatClockTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '--:--:--';
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** "Mon 14:03" style label for a clip start. */
export function formatClipStart(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const day = date.toLocaleDateString('en', { weekday: 'short', day: 'numeric', month: 'short' });
  return `${day} ${formatClockTime(iso).slice(0, 5)}`;
}

export function formatUptime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
}

/** A word for a Wi-Fi signal level. */
export function signalQuality(rssi) {
  if (rssi >= -55) return 'excellent';
  if (rssi >= -67) return 'good';
  if (rssi >= -75) return 'fair';
  return 'weak';
}

const PRESS_REFUSALS = {
  booting: 'the doorbell is still booting',
  bounce: 'ignored as a contact bounce',
  'chime-window': 'still chiming from the last ring',
  'battery-empty': 'the battery is empty',
};

/** Why a press did not ring, in words. */
export function describeRefusal(reason) {
  return PRESS_REFUSALS[reason] ?? String(reason ?? 'unknown reason');
}

/** Title and one line of detail for a timeline entry, or undefined for events the timeline skips. */
export function describeEvent(event) {
  const p = event.payload;
  switch (event.kind) {
    case 'ding':
      return { title: 'Ding', detail: `pressed via ${p.source} · #${p.seq}` };
    case 'ding-ended':
      return p.outcome === 'answered'
        ? { title: 'Answered', detail: 'someone answered the door' }
        : { title: 'Missed', detail: 'nobody answered the ring' };
    case 'motion': {
      if (p.type === 'update') return undefined;
      const zones = p.zones.length > 0 ? ` in ${p.zones.join(', ')}` : '';
      const score = `score ${Math.round(p.score * 100)}%`;
      if (p.type === 'start') return { title: 'Motion started', detail: `${score}${zones}` };
      const took = p.endedAt ? ` · ${formatDuration(p.startedAt, p.endedAt)}` : '';
      return { title: 'Motion ended', detail: `${score}${zones}${took}` };
    }
    case 'clip':
      return {
        title: 'Clip saved',
        detail: `${p.trigger} · ${formatDuration(p.startedAt, p.endedAt)} · ${formatBytes(p.bytes)}${p.encrypted ? ' · encrypted' : ''}`,
      };
    default:
      return undefined;
  }
}
