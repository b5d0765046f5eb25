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
    this.events = new Counter({
      name: 'doorbell_events_total',
      help: 'Device events published (ding, ding end, motion, clip…), by kind',
      labelNames: ['kind'],
      registers,
    });
    this.acknowledged = new Counter({
      name: 'doorbell_events_acknowledged_total',
      help: 'Events the broker acknowledged (QoS 1 PUBACK); they leave the outbox',
      registers,
    });
    this.publishLatency = new Histogram({
      name: 'doorbell_publish_latency_seconds',
      help: "From an event handed to the MQTT client to the broker's PUBACK",
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.connectLatency = new Histogram({
      name: 'doorbell_connect_latency_seconds',
      help: "From a device's start to its first CONNACK",
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.reconnects = new Counter({
      name: 'doorbell_mqtt_reconnects_total',
      help: 'MQTT sessions re-established after the first',
      registers,
    });
    this.errors = new Counter({
      name: 'doorbell_mqtt_errors_total',
      help: 'MQTT client errors and refused subscriptions',
      registers,
    });
    this.uploads = new Counter({
      name: 'doorbell_uploads_total',
      help: 'Clip uploads by result: uploaded, retry (an attempt failed), failed (given up)',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'doorbell_outbox_depth',
      help: 'Events waiting for the broker’s acknowledgement',
      registers,
      collect() {
        this.set(source.outboxDepth());
      },
    });
    new Gauge({
      name: 'doorbell_upload_queue_depth',
      help: 'Clips waiting in the upload spool',
      registers,
      collect() {
        this.set(source.uploadQueueDepth?.() ?? 0);
      },
    });
    new Gauge({
      name: 'doorbell_devices',
      help: 'Doorbells this process hosts',
      registers,
      collect() {
        this.set(source.devices().total);
      },
    });
    new Gauge({
      name: 'doorbell_devices_connected',
      help: 'Doorbells with a live MQTT session',
      registers,
      collect() {
        this.set(source.devices().connected);
      },
    });
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
