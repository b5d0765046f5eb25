import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceEvent } from '../events/schemas.js';

/** Seconds: from 1 ms to 30 s, the span between a local broker's PUBACK and a struggling cluster's. */
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsSource {
  /** Events waiting in outboxes for the broker's acknowledgement. */
  outboxDepth(): number;
  /** Clips waiting in the upload spool (agents; a fleet records none). */
  uploadQueueDepth?(): number;
  /** Devices hosted, and how many have a live MQTT session. */
  devices(): { total: number; connected: number };
}

/**
 * The Prometheus metrics of a doorbell process (agent or fleet), one registry each, same names for both: what load
 * and operations tools scrape. Counters are fed by the process (its methods below match the fleet's device
 * observer); gauges are read from the source at scrape time.
 */
export class DoorbellMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'kind'>;
  private readonly acknowledged: Counter;
  private readonly publishLatency: Histogram;
  private readonly connectLatency: Histogram;
  private readonly reconnects: Counter;
  private readonly errors: Counter;
  private readonly uploads: Counter<'result'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    const latency = (name: string, help: string) =>
      new Histogram({ name, help, buckets: LATENCY_BUCKETS_S, registers });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    this.events = counter(
      'doorbell_events_total',
      'Device events published (ding, ding end, motion, clip…), by kind',
      ['kind'],
    );
    this.acknowledged = counter(
      'doorbell_events_acknowledged_total',
      'Events the broker acknowledged (QoS 1 PUBACK); they leave the outbox',
    );
    this.publishLatency = latency(
      'doorbell_publish_latency_seconds',
      "From an event handed to the MQTT client to the broker's PUBACK",
    );
    this.connectLatency = latency(
      'doorbell_connect_latency_seconds',
      "From a device's start to its first CONNACK",
    );
    this.reconnects = counter(
      'doorbell_mqtt_reconnects_total',
      'MQTT sessions re-established after the first',
    );
    this.errors = counter('doorbell_mqtt_errors_total', 'MQTT client errors and refused subscriptions');
    this.uploads = counter(
      'doorbell_uploads_total',
      'Clip uploads by result: uploaded, retry (an attempt failed), failed (given up)',
      ['result'],
    );
    gauge('doorbell_outbox_depth', "Events waiting for the broker's acknowledgement", () =>
      source.outboxDepth(),
    );
    gauge(
      'doorbell_upload_queue_depth',
      'Clips waiting in the upload spool',
      () => source.uploadQueueDepth?.() ?? 0,
    );
    gauge('doorbell_devices', 'Doorbells this process hosts', () => source.devices().total);
    gauge(
      'doorbell_devices_connected',
      'Doorbells with a live MQTT session',
      () => source.devices().connected,
    );
  }

  eventSent(event: DeviceEvent): void {
    if (event.kind !== 'state') this.events.inc({ kind: event.kind });
  }

  eventAcknowledged(latencyMs: number): void {
    this.acknowledged.inc();
    this.publishLatency.observe(latencyMs / 1000);
  }

  connected(firstConnectMs: number | undefined): void {
    if (firstConnectMs === undefined) this.reconnects.inc();
    else this.connectLatency.observe(firstConnectMs / 1000);
  }

  error(): void {
    this.errors.inc();
  }

  upload(result: 'uploaded' | 'retry' | 'failed'): void {
    this.uploads.inc({ result });
  }

  /** The text exposition format, as served on /metrics. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
