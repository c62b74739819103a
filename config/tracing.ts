import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

/**
 * Spans as JSON lines on stderr, next to our logs (stdout stays free for `--json` output).
 * Point a log shipper at them, or swap in an OTLP exporter in production.
 */
class JsonLinesSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const s of spans) {
      const ctx = s.spanContext();
      const line = {
        span: s.name,
        service: s.resource.attributes['service.name'],
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        parentSpanId: s.parentSpanId,
        durationMs: s.duration[0] * 1e3 + s.duration[1] / 1e6,
        attributes: s.attributes,
      };
      process.stderr.write(JSON.stringify({ trace: line }) + '\n');
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}
}

/**
 * Optional tracing from client to workflow to activity, with the SDK's OpenTelemetry plugin:
 * one trace, `StartWorkflow` (client) → `RunWorkflow` → `StartActivity` → `RunActivity`.
 * On with `--tracing` or DCO_TRACING=1.
 */
export function tracingPlugin(service: string, enabled = ['1', 'true', 'on'].includes(process.env.DCO_TRACING ?? '')): OpenTelemetryPlugin | undefined {
  if (!enabled) return undefined;
  const resource = new Resource({ 'service.name': `dco-${service}` });
  const spanProcessor = new SimpleSpanProcessor(new JsonLinesSpanExporter());
  // register() installs, process-wide:
  // - the W3C trace-context propagator that writes and reads `traceparent` in Temporal headers;
  // - a context manager. BasicTracerProvider (unlike NodeTracerProvider) installs none by
  //   default, and with the API's no-op one `context.with()`/`startActiveSpan()` never make a
  //   span current: the client interceptor then injects an empty carrier into the workflow's
  //   headers (so RunWorkflow starts a new trace) and the activity interceptor drops the
  //   extracted parent (so RunActivity does too). The workflow sandbox needs nothing: the
  //   plugin's workflow interceptors register their own provider and context manager there,
  //   and OTel's default propagators (W3C trace context, baggage) read the header.
  new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] }).register({
    propagator: new W3CTraceContextPropagator(),
    contextManager: new AsyncLocalStorageContextManager().enable(),
  });
  return new OpenTelemetryPlugin({ resource, spanProcessor });
}
