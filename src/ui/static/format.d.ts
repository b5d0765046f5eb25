// Types for format.js, so the unit tests (TypeScript) can import the page's helpers.
export interface TimelineEntry {
  title: string;
  detail: string;
}
export function formatCountdown(ms: number): string;
export function formatBytes(bytes: number): string;
export function formatDuration(startIso: string, endIso: string): string;
export function formatClockTime(iso: string): string;
export function formatClipStart(iso: string): string;
export function formatUptime(seconds: number): string;
export function signalQuality(rssi: number): string;
export function describeRefusal(reason: string | undefined): string;
export function describeEvent(event: {
  kind: string;
  payload: Record<string, unknown>;
}): TimelineEntry | undefined;
