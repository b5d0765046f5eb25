/** xs:duration and xs:dateTime as ONVIF requests carry them (PT1M, PT0.5S, P1DT2H…). Pure. */

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Milliseconds of a day/time duration, or undefined when `text` is not one (years and months are refused). */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return Math.round(
    ((Number(days ?? 0) * 24 + Number(hours ?? 0)) * 60 + Number(minutes ?? 0)) * 60_000 +
      Number(seconds ?? 0) * 1000,
  );
}

/** A termination time as a duration from `now` or an absolute time: ms from now, or undefined if it is neither. */
export function parseTerminationTime(text: string, now: number): number | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined) return duration;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text.trim())) return undefined;
  const at = Date.parse(text.trim());
  return Number.isFinite(at) ? at - now : undefined;
}
