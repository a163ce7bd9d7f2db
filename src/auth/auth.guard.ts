import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { BrokerError } from '../errors/error-codes';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { routeMetadata } from './route-metadata';

export type AuthedRequest = FastifyRequest & { principal?: Principal };

/** Global guard: every route needs a verified bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const route = routeMetadata(this.reflector, context);
    if (route.isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.auth.authenticateRequest(req);
    const needed = route.roles;
    if (needed && !needed.some((r) => principal.roles.has(r))) {
      throw new BrokerError('forbidden', `this needs one of the roles: ${needed.join(', ')}`);
    }
    req.principal = principal;
    return true;
  }
}
