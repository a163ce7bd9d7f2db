import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Role } from './token-minter';

const PUBLIC = 'broker:public';
const ROLES = 'broker:roles';
const NO_RATE_LIMIT = 'broker:no-rate-limit';

/** The route needs no token (health, metrics, pages, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** The route needs one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);
/** The route is never rate limited (the health probes: an orchestrator must always get an answer). */
export const NoRateLimit = () => SetMetadata(NO_RATE_LIMIT, true);

/** What the guards read of a route's decorators, the handler's overriding its controller's. */
export interface RouteMetadata {
  /** Marked @Public(). */
  readonly isPublic: boolean;
  /** The roles @Roles names, if any. */
  readonly roles: Role[] | undefined;
  /** Marked @NoRateLimit(). */
  readonly noRateLimit: boolean;
}

/** Per controller class, then handler: a handler a subclass inherits may carry other class metadata. */
const byClass = new WeakMap<Function, WeakMap<Function, RouteMetadata>>();

/**
 * The route metadata of this context, read once per handler: decorators are applied when the classes
 * load, so the look-ups RateLimitGuard and AuthGuard made on every request always found the same.
 */
export function routeMetadata(reflector: Reflector, context: ExecutionContext): RouteMetadata {
  const handler = context.getHandler();
  const controller = context.getClass();
  let byHandler = byClass.get(controller);
  if (byHandler === undefined) byClass.set(controller, (byHandler = new WeakMap()));
  let metadata = byHandler.get(handler);
  if (metadata === undefined) {
    const targets = [handler, controller];
    metadata = Object.freeze({
      isPublic: reflector.getAllAndOverride<boolean>(PUBLIC, targets) === true,
      roles: reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets),
      noRateLimit: Boolean(reflector.getAllAndOverride<boolean>(NO_RATE_LIMIT, targets)),
    });
    byHandler.set(handler, metadata);
  }
  return metadata;
}
