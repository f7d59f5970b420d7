/**
 * Tracing of token exchanges: a span per exchange continuing the caller's `traceparent`, its trace id in the
 * attribution record and in log lines, step spans as children; OTLP export to a real HTTP receiver only
 * when configured, nothing otherwise.
 */
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import Koa from 'koa';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isExchangeRecord } from '../../../src/attribution/record.js';
import type { Agent } from '../../../src/domain/agent.js';
import { createLogger } from '../../../src/log.js';
import { tracingStepObserver } from '../../../src/observability/exchange-signals.js';
import { startTracing, tracingOptionsFromEnv, type Tracing } from '../../../src/observability/tracing/tracing.js';
import { hashClientSecret } from '../../../src/provider/client-secret-hash.js';
import { close, listen } from '../../../src/server/listen.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../../support/broker-harness.js';
import { CRM, testCatalog } from '../../support/catalog.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../../support/token-request.js';
import { startUpstreamIdp, type UpstreamIdp } from '../../support/upstream-idp.js';
import { TOKEN_STEPS } from '../../../src/token-endpoint/token-steps.js';

const SECRET = 'tracing-test-agent-secret';
let idp: UpstreamIdp | undefined;
let secretHash: string;
const brokers: RunningTestBroker[] = [];
const tracings: Tracing[] = [];

beforeAll(async () => {
  secretHash = await hashClientSecret(SECRET);
});
afterAll(async () => {
  for (const b of brokers) await b.close();
  for (const t of tracings) await t.shutdown();
  await idp?.close();
});

function agent(): Agent {
  return {
    clientId: 'traced-agent', name: 'traced', owner: 'sec@example.com', status: 'active',
    authentication: { method: 'client_secret_basic', secretHash },
    tools: new Map([['crm', ['crm.accounts.read']]]),
    maxTtlSeconds: 600, actorToken: { allowed: false, subjects: [] }, devOnly: false, source: 'test',
  };
}

async function tracedBroker(tracing: Tracing): Promise<RunningTestBroker> {
  tracings.push(tracing);
  const reserved = await reserveBroker();
  idp ??= await startUpstreamIdp({ audience: reserved.issuer });
  const broker = await reserved.start({
    trustedIssuers: [trustedIssuer(idp.issuer, brokers[0]?.issuer ?? reserved.issuer)],
    catalog: testCatalog(), agents: [agent()], tracing,
  });
  brokers.push(broker);
  return broker;
}

async function exchange(broker: RunningTestBroker, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp!.userToken('alice'), subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read',
  }), { authorization: basic('traced-agent', SECRET), ...headers });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('exchange spans (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let broker: RunningTestBroker;
  beforeAll(async () => {
    broker = await tracedBroker(startTracing({ exporter }));
  });

  it('continues the incoming traceparent: same trace id in the span and the attribution record', async () => {
    exporter.reset();
    const res = await exchange(broker, { traceparent: `00-${TRACE_ID}-${PARENT}-01` });
    expect(res.status).toBe(200);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'token_exchange');
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT);
    expect(span.attributes).toMatchObject({ 'broker.decision': 'granted', 'broker.agent': 'traced-agent', 'broker.tool': 'crm', 'http.response.status_code': 200 });
    expect(broker.sink.records.filter(isExchangeRecord).at(-1)?.trace_id).toBe(TRACE_ID);
    // The pipeline's steps, as children of the exchange's span, in order.
    const children = exporter.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
    // Every step of the pipeline, in its order (token-steps.ts): the list is the source of truth.
    expect(children.map((s) => s.name)).toEqual(TOKEN_STEPS.map((step) => step.name));
    expect(children.length).toBeGreaterThanOrEqual(13);
    expect(children.every((s) => s.attributes['broker.step.outcome'] === 'established' && s.spanContext().traceId === TRACE_ID)).toBe(true);
  });

  it('starts a trace when none is sent (or the header is invalid) and records that trace id', async () => {
    const cases: Record<string, string>[] = [{}, { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` }, { traceparent: 'garbage' }];
    for (const headers of cases) {
      exporter.reset();
      const res = await exchange(broker, headers);
      expect(res.status).toBe(200);
      const span = exporter.getFinishedSpans().find((s) => s.name === 'token_exchange');
      expect(span?.parentSpanContext).toBeUndefined();
      expect(span?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/u);
      expect(broker.sink.records.filter(isExchangeRecord).at(-1)?.trace_id).toBe(span?.spanContext().traceId);
    }
  });

  it('marks a denied exchange with its reason', async () => {
    exporter.reset();
    const res = await rawPost(broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: 'x', subject_token_type: AT_TYPE, resource: CRM }), { authorization: basic('traced-agent', SECRET) });
    expect(res.status).toBe(400);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'token_exchange');
    expect(span?.attributes['broker.decision']).toBe('denied');
    expect(span?.attributes['broker.reason']).toBe(broker.sink.records.filter(isExchangeRecord).at(-1)?.reason);
    // The step that refused is the last child.
    const children = exporter.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === span?.spanContext().spanId);
    expect(children.at(-1)?.attributes['broker.step.outcome']).toBe('refused');
  });

  it('reports pipeline steps as child spans of the exchange span, and puts the trace id in log lines', () => {
    exporter.reset();
    const tracing = tracings[0]!;
    const parent = tracing.tracer!.startSpan('token_exchange');
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } }));
    context.with(trace.setSpan(context.active(), parent), () => {
      tracingStepObserver(tracing.tracer!).onStep('verify_subject_token', 3, 'established');
      tracingStepObserver(tracing.tracer!).onStep('narrow_scopes', 1, 'refused');
      log.info('inside the exchange');
    });
    parent.end();
    log.info('outside');
    const steps = exporter.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
    expect(steps.map((s) => s.name)).toEqual(['verify_subject_token', 'narrow_scopes']);
    expect(steps[0]?.attributes['broker.step.outcome']).toBe('established');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ trace_id: parent.spanContext().traceId, span_id: parent.spanContext().spanId });
    expect(outside?.trace_id).toBeUndefined();
  });
});

describe('OTLP export', () => {
  it('sends the exchange spans to a real OTLP/HTTP receiver when an endpoint is configured', async () => {
    const received: { name: string; traceId: string }[] = [];
    const receiver = new Koa();
    receiver.use(async (ctx) => {
      if (ctx.method !== 'POST' || ctx.path !== '/v1/traces') { ctx.status = 404; return; }
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
      expect(ctx.get('content-type')).toContain('application/json');
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[] };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) received.push(...ss.spans.map((s) => ({ name: s.name, traceId: s.traceId })));
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = {};
    });
    const { server, port } = await listen(receiver.callback(), '127.0.0.1', 0);
    try {
      const options = tracingOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${String(port)}`, OTEL_SERVICE_NAME: 'broker-under-test' });
      const tracing = startTracing(options);
      expect(tracing.tracer).toBeDefined();
      const broker = await tracedBroker(tracing);
      expect((await exchange(broker, { traceparent: `00-${TRACE_ID}-${PARENT}-01` })).status).toBe(200);
      expect((await exchange(broker)).status).toBe(200);
      await tracing.flush();
      const exchanges = received.filter((s) => s.name === 'token_exchange');
      expect(exchanges).toHaveLength(2);
      expect(exchanges.map((s) => s.traceId)).toContain(TRACE_ID);
    } finally {
      await close(server, 0);
    }
  });

  it('is off, with no tracer at all, when nothing is configured', () => {
    expect(tracingOptionsFromEnv({})).toEqual({});
    expect(startTracing(tracingOptionsFromEnv({})).tracer).toBeUndefined();
  });
});
