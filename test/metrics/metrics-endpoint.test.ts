import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it, vi } from 'vitest';
import { findOnPath } from '../../src/video/locate.js';
import { spawnCli, stopChild, subscriber, tempDir } from '../helpers/mqtt.js';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; count?: string }>;
}

const promtool = findOnPath('promtool');

/**
 * One scrape, checked as Prometheus reads it: promtool's own parser and linter (`promtool check metrics`, from the
 * Debian prometheus package) when installed, and parse-prometheus-text-format for the values.
 */
async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  if (promtool) {
    const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const complaints = `${check.stdout}${check.stderr}`.split('\n').filter(Boolean);
    // Exit 1 is a text that does not parse; 3 lint findings, accepted only for prom-client's own nodejs_* gauges
    // (e.g. nodejs_active_handles_total, a gauge with a counter's suffix). Ours must lint clean.
    expect(check.status === 0 || check.status === 3, complaints.join('\n')).toBe(true);
    expect(complaints.filter((line) => !line.startsWith('nodejs_'))).toEqual([]);
  }
  const families = parsePrometheusTextFormat(text) as Family[];
  return new Map(families.map((family) => [family.name, family]));
}

function value(families: Map<string, Family>, name: string): number {
  const family = families.get(name);
  if (!family) throw new Error(`no ${name} in the scrape`);
  return family.metrics.reduce((sum, metric) => sum + Number(metric.value ?? metric.count ?? 0), 0);
}

function metricsUrl(output: string): string {
  const url = /metrics: +(http:\/\/\S+\/metrics)/.exec(output)?.[1];
  if (!url) throw new Error(`no metrics URL yet:\n${output}`);
  return url;
}

describe('Prometheus /metrics', () => {
  it('a fleet serves its counters in the text format, and they move between two scrapes', async () => {
    const fleet = spawnCli([
      'fleet',
      ...['--count', '4', '--video', 'none', '--ring-every', '1', '--port', '0'],
      ...['--metrics-port', '0'],
    ]);
    try {
      await fleet.waitForOutput('fleet of 4 doorbell(s)', 20_000);
      const url = metricsUrl(fleet.output());
      const first = await scrape(url);
      expect(value(first, 'doorbell_devices')).toBe(4);
      await vi.waitFor(async () => expect(value(await scrape(url), 'doorbell_devices_connected')).toBe(4), {
        timeout: 10_000,
      });
      await new Promise((r) => setTimeout(r, 2500));
      const second = await scrape(url);
      for (const counter of ['doorbell_events_total', 'doorbell_events_acknowledged_total']) {
        expect(value(second, counter), counter).toBeGreaterThan(value(first, counter));
      }
      expect(second.get('doorbell_publish_latency_seconds')?.type).toBe('HISTOGRAM');
      expect(value(second, 'doorbell_publish_latency_seconds')).toBe(
        value(second, 'doorbell_events_acknowledged_total'),
      );
      expect(second.get('doorbell_events_total')?.metrics.map((m) => m.labels?.['kind'])).toContain('ding');
      expect(second.get('process_resident_memory_bytes')).toBeDefined();
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await stopChild(fleet.child);
    }
  }, 60_000);

  it('an agent (doorbell start) counts its events and acknowledgements', async () => {
    const dataDir = tempDir();
    const agent = spawnCli([
      'start',
      ...['--id', 'metered', '--port', '0', '--video', 'none', '--data-dir', dataDir],
      ...['--bucket', join(dataDir, 'bucket'), '--metrics-port', '0', '--no-discovery'],
    ]);
    try {
      await agent.waitForOutput('metrics:', 30_000);
      const url = metricsUrl(agent.output());
      const broker = /broker (mqtt:\/\/\S+)/.exec(agent.output())![1]!;
      const first = await scrape(url);
      expect(value(first, 'doorbell_devices')).toBe(1);
      const watch = await subscriber(broker, 'doorbell/metered/events/#');
      await vi.waitFor(
        async () => {
          await watch.client.publishAsync('doorbell/metered/request/press', '{}');
          expect(watch.on('doorbell/metered/events/ding').length).toBeGreaterThan(0);
        },
        { timeout: 15_000, interval: 300 },
      );
      await watch.client.endAsync();
      await vi.waitFor(
        async () => {
          const second = await scrape(url);
          expect(value(second, 'doorbell_events_total')).toBeGreaterThan(
            value(first, 'doorbell_events_total'),
          );
          expect(value(second, 'doorbell_events_acknowledged_total')).toBeGreaterThan(
            value(first, 'doorbell_events_acknowledged_total'),
          );
          expect(value(second, 'doorbell_devices_connected')).toBe(1);
          expect(second.has('doorbell_upload_queue_depth')).toBe(true);
        },
        { timeout: 10_000 },
      );
    } finally {
      await stopChild(agent.child);
    }
  }, 60_000);
});
