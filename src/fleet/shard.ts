/** `--shard i/n`: this process runs devices i, i+n, i+2n, … (0-based), so n processes split one fleet. */
export interface Shard {
  index: number;
  total: number;
}

export function parseShard(text: string): Shard | string {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match)
    return `--shard ${JSON.stringify(text)}: use i/n, e.g. 0/4 (this process runs devices i, i+n, …)`;
  const index = Number(match[1]);
  const total = Number(match[2]);
  if (total < 1 || index >= total) return `--shard ${JSON.stringify(text)}: need 0 ≤ i < n`;
  return { index, total };
}

/** Device numbers (0-based) of one shard of a fleet of `count`. */
export function shardIndices(count: number, shard: Shard = { index: 0, total: 1 }): number[] {
  const out: number[] = [];
  for (let i = shard.index; i < count; i += shard.total) out.push(i);
  return out;
}

/** fleet-00042: fixed width (at least 5 digits) so ids sort and MQTT client ids stay within 23 characters. */
export function fleetDeviceId(index: number, count: number, prefix = 'fleet'): string {
  const digits = Math.max(5, String(Math.max(0, count - 1)).length);
  return `${prefix}-${String(index).padStart(digits, '0')}`;
}
