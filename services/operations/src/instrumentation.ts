// Loaded with `node --import` before anything else so instrumentations patch modules first.
import { startTelemetry } from '@platform/otel';

startTelemetry('operations');
