/** What a `Range` request header asks of a resource of known size. */
export type ByteRangeRequest =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * Parses a single `bytes=` range (RFC 9110 §14.1.2). Multi-range and malformed headers are answered
 * with the whole resource, which the RFC allows; `end` is inclusive.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRangeRequest {
  if (header === undefined) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < start) return { kind: 'full' };
  return { kind: 'partial', start, end };
}

/** Yields bytes [start, end] (inclusive) of a byte stream and stops reading as soon as it has them. */
export async function* sliceBytes(
  source: AsyncIterable<Buffer | Uint8Array>,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const chunkStart = position;
    position += chunk.length;
    if (position <= start) continue;
    const from = Math.max(0, start - chunkStart);
    const to = Math.min(chunk.length, end + 1 - chunkStart);
    if (to > from) yield chunk.subarray(from, to);
    if (position > end) return;
  }
}
