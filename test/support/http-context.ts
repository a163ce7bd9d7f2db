import type { ExecutionContext } from '@nestjs/common';

/** A controller with no decorators: a route that is neither @Public nor limited to roles. */
export class AnyController {
  handler(): void {}
}

/** The ExecutionContext a guard sees for `req` on a handler of `controller` (AnyController by default). */
export function httpContextOf(req: object, controller: { prototype: { handler: () => void } } = AnyController): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => controller.prototype.handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({ header: () => undefined }) }),
  } as unknown as ExecutionContext;
}
