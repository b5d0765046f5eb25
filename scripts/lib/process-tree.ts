/** CPU time of a process and everything it spawned, from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself, in seconds. */
  cpuS: number;
}

/** USER_HZ: /proc's CPU times are in these ticks on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

function readStat(pid: number): ProcStat | undefined {
  try {
    // The command name is in parentheses and may hold spaces: the fields start after the last ")".
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(fields[1]),
      cpuS: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** pid → its CPU seconds so far, for `root` and its live descendants. */
export function processTreeCpu(root: number): Map<number, number> {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== undefined);
  const tree = new Map<number, number>();
  const rootStat = all.find((stat) => stat.pid === root);
  if (!rootStat) return tree;
  tree.set(root, rootStat.cpuS);
  for (let grew = true; grew; ) {
    grew = false;
    for (const stat of all) {
      if (!tree.has(stat.pid) && tree.has(stat.ppid)) {
        tree.set(stat.pid, stat.cpuS);
        grew = true;
      }
    }
  }
  return tree;
}

/** CPU seconds the tree used between two samples, by the processes alive at the second (keep the window steady). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}
