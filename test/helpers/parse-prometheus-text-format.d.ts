declare module 'parse-prometheus-text-format' {
  /** Metric families of a Prometheus text exposition; values stay strings as written. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
