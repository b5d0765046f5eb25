import { resolve } from 'node:path';
import { runScenario } from '../src/replay/runner.js';
import { loadScenario } from '../src/replay/scenario.js';
const loaded = await loadScenario(resolve('fixtures/scenarios/bench/porch-minute.json'));
if (!loaded.ok) throw new Error('x');
for (let i = 0; i < 2; i++) { const u0 = process.cpuUsage(); const r = await runScenario(loaded.value); const u = process.cpuUsage(u0); console.log(Math.round(r.wallMs), 'ms', Math.round((u.user + u.system) / 1000), 'node cpu', JSON.stringify(r.timings)); }
