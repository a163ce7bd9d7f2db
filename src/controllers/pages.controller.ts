import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Public } from '../auth/route-metadata';
import { BrokerError } from '../errors/error-codes';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Scripts and styles only from here; the pages talk to this origin's REST API and WebSocket only. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** src/public beside the sources (tsx, jest) or beside dist/ (the built broker, with src/public shipped). */
function publicDir(): string {
  const candidates = [join(__dirname, '..', 'public'), join(__dirname, '..', '..', 'src', 'public')];
  const dir = candidates.find((d) => existsSync(join(d, 'ops.html')));
  if (!dir) throw new Error(`the pages (ops.html, …) are not in ${candidates.join(' or ')}`);
  return dir;
}

interface Asset {
  body: Buffer;
  type: string;
}

/**
 * The two pages the broker serves, plain HTML/CSS/JS with no build step:
 * `/` for employees (sign in with a token, request and end a session) and
 * `/ops` for operations (live capacity wall screen). Files are read once at
 * start-up; only those files are served.
 */
@ApiExcludeController()
@Public()
@Controller()
export class PagesController {
  private readonly assets = new Map<string, Asset>();

  constructor() {
    const dir = publicDir();
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) this.assets.set(name, { body: readFileSync(join(dir, name)), type });
    }
  }

  @Get()
  selfService(@Res() reply: FastifyReply): void {
    this.send(reply, 'self-service.html');
  }

  @Get('ops')
  ops(@Res() reply: FastifyReply): void {
    this.send(reply, 'ops.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    if (name.endsWith('.html')) throw new BrokerError('route-not-found');
    this.send(reply, name);
  }

  private send(reply: FastifyReply, name: string): void {
    const a = this.assets.get(name);
    if (!a) throw new BrokerError('route-not-found');
    void reply
      .header('Content-Type', a.type)
      .header('Content-Security-Policy', PAGE_CSP)
      .header('X-Content-Type-Options', 'nosniff')
      .header('Referrer-Policy', 'no-referrer')
      .header('Cache-Control', 'no-cache')
      .send(a.body);
  }
}
