import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { droppedInstrumentMetrics, prometheusReader } from './prometheus.js';

export { metricsHandler, type MetricsHandler } from './prometheus.js';

const unprobed = new Set(['/healthz', '/readyz']);

/**
 * Starts the OpenTelemetry SDK for a service. Context propagation (W3C traceparent) always runs,
 * so trace ids reach logs and outgoing headers; spans are exported over OTLP/HTTP only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads it and its siblings itself).
 */
export function startTelemetry(serviceName: string): NodeSDK {
  // Services are ES modules: instrumentations can only patch what they import (node:http, pg)
  // through import-in-the-middle's loader hook, registered before those modules load.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const exporting = Boolean(process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (!exporting) {
    // Nothing leaves the process, so record nothing: spans stay non-recording (their ids still
    // reach logs and outgoing traceparent headers) and no logs pipeline runs. Left to
    // the SDK's defaults, it records every span and HTTP histogram and posts metrics to
    // localhost:4318 every minute; profiling coordination's ping path showed that as ~5 % of its
    // CPU. An operator's explicit OTEL_* setting still wins.
    process.env['OTEL_TRACES_SAMPLER'] ??= 'always_off';
    process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  }
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    ...(exporting ? { traceExporter: new OTLPTraceExporter() } : { spanProcessors: [] }),
    // Metrics are pulled: Prometheus scrapes /metrics on the service port (prometheus.ts). Readers
    // given here replace the OTEL_METRICS_EXPORTER ones, so nothing is pushed to localhost:4318.
    metricReaders: [prometheusReader()],
    views: droppedInstrumentMetrics,
    instrumentations: [
      new HttpInstrumentation({
        // Probes are not traced: they would drown real traffic.
        ignoreIncomingRequestHook: (req) => unprobed.has((req.url ?? '').split('?')[0] ?? ''),
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      // No undici (fetch) instrumentation: the kit's tRPC client sets traceparent itself, and a
      // second injected header would make the receiver see two values and start a new trace.
    ],
  });
  sdk.start();
  const shutdown = () => void sdk.shutdown().catch(() => undefined);
  process.once('beforeExit', shutdown);
  return sdk;
}
