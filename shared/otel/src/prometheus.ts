import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';

/** Answers a scrape: the Prometheus text format of every metric the process records. */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

/*
 * Why OpenTelemetry's Prometheus exporter and not prom-client: the code already records through
 * @opentelemetry/api only and this package owns the SDK, so metrics follow the same rule as traces
 * (instruments in code, export chosen here: a push reader for OTLP can be added beside this one
 * without touching a service). prom-client would put a second metrics API and registry in every
 * service. What prom-client would give for free (process and event-loop metrics) is not needed
 * for the dashboards here; the exporter's handler serves the same text format on our own port.
 */
let exporter: PrometheusExporter | undefined;

/**
 * The Prometheus exporter as a pull reader of the SDK's MeterProvider. It never opens its own port
 * (preventServerStart): the kit's HTTP server serves /metrics on the service port, where the
 * ServiceMonitor and the probes already point. Collecting happens on each scrape, so observable
 * gauges (outbox backlog, consumer lag) are read then and only then.
 */
export function prometheusReader(): PrometheusExporter {
  exporter ??= new PrometheusExporter({
    preventServerStart: true,
    // `service_name` on every series (not `service`: Prometheus sets that target label itself from
    // the Kubernetes Service, and the two would collide).
    withResourceConstantLabels: /^service\.name$/,
    // Host and process attributes (command line included) would make target_info noisy; the
    // scope label would add nothing the metric names do not already say.
    withoutTargetInfo: true,
    withoutScopeInfo: true,
  });
  return exporter;
}

/** The scrape handler, or undefined when the SDK (instrumentation.ts) was not started in this process. */
export function metricsHandler(): MetricsHandler | undefined {
  const current = exporter;
  return current ? (req, res) => current.getMetricsRequestHandler(req, res) : undefined;
}

/**
 * The instrumentations' own metrics are dropped. HTTP: the kit records each tRPC/REST call itself
 * (by procedure, bounded labels), and profiling showed the instrumentation's recording on
 * coordination's ping path as a few per cent of its CPU. pg: it only records queries under a
 * parent span (requireParentSpan), so the relay's and the sagas' queries would be missing; the
 * services measure their pools themselves.
 */
export const droppedInstrumentMetrics: ViewOptions[] = ['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-pg'].map(
  (meterName) => ({
    meterName,
    aggregation: { type: AggregationType.DROP },
  }),
);
