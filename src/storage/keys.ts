/**
 * Object keys are built here from validated parts, never concatenated from user input.
 * Layout (DESIGN.md): clips/<deviceId>/<yyyy>/<mm>/<dd>/<clipId>.mp4 (+ .jpg thumbnail).
 */
import { UserError } from '../util/user-error.js';

export const DEVICE_ID_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** Letters, digits, "_" and "-"; starts with a letter or digit. No dots, so no "..", no extension games. */
export const CLIP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/**
 * One key segment: no "/", "\", NUL or other control characters, and no leading "." (so no ".", "..",
 * or hidden names that could clash with a bucket's own temp and sidecar files).
 */
const KEY_SEGMENT_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
const MAX_KEY_LENGTH = 1024;

export const CLIPS_PREFIX = 'clips/';

export type ClipObjectKind = 'clip' | 'thumbnail';

const EXTENSION: Record<ClipObjectKind, string> = { clip: '.mp4', thumbnail: '.jpg' };

/** A key or key part that could escape the bucket root or is otherwise unsafe. */
export class InvalidKeyError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidKeyError';
  }
}

function show(value: unknown): string {
  return JSON.stringify(String(value));
}

export function assertDeviceId(deviceId: string): string {
  if (typeof deviceId !== 'string' || !DEVICE_ID_PATTERN.test(deviceId)) {
    throw new InvalidKeyError(`deviceId ${show(deviceId)} is invalid: must match [a-z0-9_-]{1,64}`);
  }
  return deviceId;
}

export function assertClipId(clipId: string): string {
  if (typeof clipId !== 'string' || !CLIP_ID_PATTERN.test(clipId)) {
    throw new InvalidKeyError(
      `clipId ${show(clipId)} is invalid: must be 1-128 of A-Z a-z 0-9 "_" "-", starting with a letter or digit`,
    );
  }
  return clipId;
}

/**
 * Checks any key handed to a bucket: relative, "/"-separated safe segments, no "." or ".." segment,
 * no NUL/backslash/control characters. Returns the key unchanged.
 */
export function assertSafeKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(`key ${show(key)} is empty`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(`key ${show(key.slice(0, 40))}… is longer than ${MAX_KEY_LENGTH} characters`);
  }
  if (key.startsWith('/'))
    throw new InvalidKeyError(`key ${show(key)} is absolute: keys are relative to the bucket`);
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') {
      throw new InvalidKeyError(
        `key ${show(key)} contains a "${segment}" segment that could escape the bucket`,
      );
    }
    if (!KEY_SEGMENT_PATTERN.test(segment)) {
      throw new InvalidKeyError(
        `key ${show(key)} has an invalid segment ${show(segment)}: use A-Z a-z 0-9 "." "_" "-" (not first) between single "/"`,
      );
    }
  }
  return key;
}

/** Checks a list prefix: empty, or a safe key optionally ending in "/". */
export function assertSafePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

export interface ClipKeyParts {
  deviceId: string;
  clipId: string;
  /** When the clip was recorded; its UTC date picks the folder. ISO-8601 string or epoch ms. */
  recordedAt: string | number;
}

function utcDateFolders(recordedAt: string | number): string {
  const date = new Date(recordedAt);
  if (Number.isNaN(date.getTime()))
    throw new InvalidKeyError(`recordedAt ${show(recordedAt)} is not a valid time`);
  const yyyy = String(date.getUTCFullYear()).padStart(4, '0');
  const mm = String(date.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(date.getUTCDate()).padStart(2, '0');
  return `${yyyy}/${mm}/${dd}`;
}

/** clips/<deviceId>/<yyyy>/<mm>/<dd>/<clipId>.mp4 (or .jpg for the thumbnail). */
export function clipObjectKey(parts: ClipKeyParts, kind: ClipObjectKind = 'clip'): string {
  const deviceId = assertDeviceId(parts.deviceId);
  const clipId = assertClipId(parts.clipId);
  return assertSafeKey(
    `${CLIPS_PREFIX}${deviceId}/${utcDateFolders(parts.recordedAt)}/${clipId}${EXTENSION[kind]}`,
  );
}

/** The prefix under which one device's clips live: clips/<deviceId>/ */
export function devicePrefix(deviceId: string): string {
  return `${CLIPS_PREFIX}${assertDeviceId(deviceId)}/`;
}

export interface ParsedClipKey {
  deviceId: string;
  clipId: string;
  kind: ClipObjectKind;
  /** yyyy/mm/dd */
  date: string;
}

const CLIP_KEY_PATTERN =
  /^clips\/([a-z0-9_-]{1,64})\/(\d{4})\/(\d{2})\/(\d{2})\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.(mp4|jpg)$/;

/** The parts of a key built by clipObjectKey, or undefined for any other key. */
export function parseClipKey(key: string): ParsedClipKey | undefined {
  const match = CLIP_KEY_PATTERN.exec(key);
  if (!match) return undefined;
  const [, deviceId, yyyy, mm, dd, clipId, extension] = match;
  return {
    deviceId: deviceId!,
    clipId: clipId!,
    kind: extension === 'mp4' ? 'clip' : 'thumbnail',
    date: `${yyyy}/${mm}/${dd}`,
  };
}

/** The thumbnail key that belongs to a clip key (same folder, .jpg). */
export function siblingThumbnailKey(clipKey: string): string | undefined {
  const parsed = parseClipKey(clipKey);
  if (parsed?.kind !== 'clip') return undefined;
  return clipKey.replace(/\.mp4$/, '.jpg');
}
