import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { BrokerError } from '../errors/error-codes';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import type { Role } from './token-minter';

const PUBLIC = 'broker:public';
const ROLES = 'broker:roles';

/** The route needs no token (health, metrics, pages, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** The route needs one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

export type AuthedRequest = FastifyRequest & { principal?: Principal };

/** Whether the route of this context is marked @Public(). */
export function isPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()]) === true;
}

/** The roles the route of this context needs (@Roles), if it names any. */
export function rolesNeeded(reflector: Reflector, context: ExecutionContext): Role[] | undefined {
  return reflector.getAllAndOverride<Role[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
}

/** Global guard: every route needs a verified bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly auth: AuthService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (isPublicRoute(this.reflector, context)) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const principal = await this.auth.authenticateRequest(req);
    const needed = rolesNeeded(this.reflector, context);
    if (needed && !needed.some((r) => principal.roles.has(r))) {
      throw new BrokerError('forbidden', `this needs one of the roles: ${needed.join(', ')}`);
    }
    req.principal = principal;
    return true;
  }
}
