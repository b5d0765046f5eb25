import type { Agent } from '../agent/agent.js';
import { DoorbellMetrics } from '../metrics/doorbell-metrics.js';
import { MetricsServer } from '../metrics/metrics-server.js';
import { type CliIo, UserError, writeLine } from './io.js';
import { portFrom } from './options.js';
import type { OptionSpecs } from './spec.js';

/** `--metrics-port`: a Prometheus endpoint, on `doorbell start` and `doorbell fleet` alike. */
export const metricsOptionSpec = {
  'metrics-port': {
    type: 'string',
    value: 'N',
    help: 'serve Prometheus metrics on http://HOST:N/metrics (default: none; 0 picks a free port)',
    env: 'DOORBELL_METRICS_PORT',
  },
  'metrics-host': {
    type: 'string',
    value: 'ADDR',
    help: 'address of the metrics endpoint (default 127.0.0.1; 0.0.0.0 for a scraper off this machine)',
    env: 'DOORBELL_METRICS_HOST',
  },
} satisfies OptionSpecs;

export interface MetricsFlags {
  'metrics-port'?: string | undefined;
  'metrics-host'?: string | undefined;
}

/** Starts the endpoint when --metrics-port is given and prints where it is; undefined otherwise. */
export async function serveMetrics(
  flags: MetricsFlags,
  metrics: DoorbellMetrics,
  io: CliIo,
): Promise<MetricsServer | undefined> {
  if (flags['metrics-port'] === undefined) return undefined;
  const port = portFrom(flags['metrics-port'], 0, '--metrics-port');
  const server = new MetricsServer(metrics, { port, host: flags['metrics-host'] ?? '127.0.0.1' });
  try {
    await server.start();
  } catch (error) {
    throw new UserError(
      `--metrics-port ${port}: cannot listen (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  writeLine(io.stdout, `  metrics:   ${server.url}`);
  return server;
}

/** An agent's metrics: its events and uploads as counters, its queues and session as gauges. */
export function agentMetrics(agent: () => Agent | undefined): DoorbellMetrics {
  return new DoorbellMetrics({
    outboxDepth: () => agent()?.state().queues.outbox ?? 0,
    uploadQueueDepth: () => agent()?.state().queues.uploads ?? 0,
    devices: () => ({ total: 1, connected: agent()?.mqttConnected ? 1 : 0 }),
  });
}

/** After agent.start(): counts what the running agent publishes and uploads. */
export function watchAgent(agent: Agent, metrics: DoorbellMetrics): void {
  agent.bus.subscribe((event) => metrics.eventSent(event));
  const queue = agent.uploadQueue;
  queue?.on('uploaded', () => metrics.upload('uploaded'));
  queue?.on('retry', () => metrics.upload('retry'));
  queue?.on('failed', () => metrics.upload('failed'));
}
