// Loaded with `node --import` before the example agent so its spans (job handling, calls to
// coordination) join the trace of the trigger and are exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { startTelemetry } from '@platform/otel';

startTelemetry(`agent:${process.env['AGENT_NAME'] ?? 'example-agent'}`);
