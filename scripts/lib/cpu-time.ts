import { readFileSync } from 'node:fs';

/** CPU seconds used so far by this process and its reaped children (ffmpeg), from /proc on Linux. */
export function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in USER_HZ ticks
  } catch {
    children = Number.NaN;
  }
  return (own.user + own.system) / 1e6 + children;
}

export interface Timing {
  wallS: number;
  cpuS: number;
}

/** Wall and CPU seconds (this process and the children it reaped meanwhile) of `run`. */
export async function measure(run: () => Promise<unknown>): Promise<Timing> {
  const cpu = cpuSeconds();
  const started = performance.now();
  await run();
  return { wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds() - cpu };
}
