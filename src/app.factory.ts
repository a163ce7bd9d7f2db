import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import type { AppConfig } from './config/config.loader';
import { BrokerError, type FieldProblem } from './errors/error-codes';
import { answerClientError, ProblemFilter, sendFrameworkProblem, sendProblem } from './errors/problem.filter';
import { bodyLimitsFor, checkJsonShape, DEFAULT_BODY_LIMITS } from './http/body-limits';
import { securityHeaders } from './http/security-headers';
import { PinoNestLogger, rootLogger } from './logging/logger';
import { addRequestLog } from './logging/request-log';

/** How often Node looks for requests past their timeouts (its default, 30 s, would let them overrun by that much). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface CreateAppOptions {
  /** Keep Nest's own bootstrap logging quiet (tests). */
  quiet?: boolean;
}

/** Builds the whole application, configured alike for src/main.ts and the tests. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const { http } = config.broker;
  const adapter = new FastifyAdapter({
    bodyLimit: DEFAULT_BODY_LIMITS.bytes,
    trustProxy: http.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: http.requestTimeoutSeconds * 1000,
    keepAliveTimeout: http.keepAliveTimeoutSeconds * 1000,
    // Node answers a missing Host with a bare 400 of its own; the onRequest hook below answers it instead.
    http: { headersTimeout: http.headersTimeoutSeconds * 1000, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS, requireHostHeader: false },
    // Errors Fastify raises outside any route (bad URL encoding, over-long path parameters) and the HTTP
    // parser's (framing, header size, timeouts): problem+json like every other error.
    // Nest's adapter types its server as HTTP/1 or HTTP/2; the broker listens on HTTP/1 only.
    frameworkErrors: (error: unknown, req: unknown, reply: unknown) => sendFrameworkProblem(error, req as FastifyRequest, reply as FastifyReply),
    clientErrorHandler: answerClientError,
    // Route schemas (src/dtos) refuse what they do not describe: no silent removal, no coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true } },
    schemaErrorFormatter: (errors, dataVar) => {
      const list = errors.slice(0, 20).map((e) => schemaProblem(e, dataVar)); // a bad bulk renewal could name 20,000
      return new BrokerError('validation-failed', list.map((e) => `${e.path}: ${e.message}`).join('; ') || 'the body is not valid', { errors: list });
    },
  });
  const fastify = adapter.getInstance();
  const log = rootLogger(config.logLevel);
  addRequestLog(fastify, log, { slowMs: config.logSlowMs, sampleEvery: config.logSampleEvery });
  fastify.addHook('onRequest', (req, reply, done) => {
    if (req.raw.httpVersion === '1.1' && !req.headers.host) return sendProblem(req, reply, new BrokerError('malformed-request', 'an HTTP/1.1 request needs a Host header'));
    done();
  });
  fastify.addHook('onSend', securityHeaders);
  fastify.addHook('onRoute', (route) => {
    route.bodyLimit ??= Math.max(...[route.method].flat().map((method) => bodyLimitsFor(method, route.url).bytes));
  });
  // JSON only. Nest turns Fastify's own parser errors into bare HTTP errors without their codes, so the
  // parser raises domain errors itself. An empty body is "no body" (heartbeat and release take none).
  // The route's depth and array limits are checked on the text, before anything is built from it.
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    try {
      checkJsonShape(body as string, bodyLimitsFor(req.method, req.routeOptions.url));
    } catch (e) {
      return done(e as BrokerError, undefined);
    }
    defaultJson(req, body as string, (err, value) =>
      err ? done(new BrokerError('malformed-json', 'the body is not valid JSON'), undefined) : done(null, value),
    );
  });

  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
    // The JSON parser is ours (above); Nest's would answer parse errors without our codes.
    bodyParser: false,
    ...(options.quiet ? { logger: false } : {}),
  });
  if (!options.quiet) app.useLogger(new PinoNestLogger(log));

  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      exceptionFactory: (errors) => {
        const list = flattenValidation(errors);
        return new BrokerError('validation-failed', list.map((e) => `${e.path}: ${e.message}`).join('; ') || 'the body is not valid', { errors: list });
      },
    }),
  );
  app.useGlobalFilters(new ProblemFilter());
  // Live updates for the pages at /ws (src/gateways/live.gateway.ts), on the same port as the API.
  app.useWebSocketAdapter(new WsAdapter(app));
  app.enableShutdownHooks();

  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Telework remote-access broker')
      .setDescription('Capacity pools and session grants for VPN gateways and virtual desktops. Errors are application/problem+json with a stable `code`.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/** One ajv error as a field problem, paths as the class-validator ones were (`/pool`, `/active/3`). */
function schemaProblem(e: { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }, dataVar: string): FieldProblem {
  if (e.keyword === 'additionalProperties') return { path: `${e.instancePath}/${String(e.params.additionalProperty)}`, message: 'unknown field' };
  if (e.keyword === 'required') return { path: `${e.instancePath}/${String(e.params.missingProperty)}`, message: 'is required' };
  if (e.keyword === 'pattern') return { path: e.instancePath, message: 'has not the expected form' };
  return { path: e.instancePath || `/${dataVar}`, message: e.message ?? 'is not valid' };
}

function flattenValidation(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const path = `${parent}/${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((message) =>
      e.constraints?.whitelistValidation === message ? { path, message: 'unknown field' } : { path, message },
    );
    return [...own, ...flattenValidation(e.children ?? [], path)];
  });
}
