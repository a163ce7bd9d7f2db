import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { NoRateLimit, Public, Roles, routeMetadata } from '../../src/auth/route-metadata';

@Roles('operator')
class OperatorController {
  change() {}
  @Roles('employee', 'operator')
  read() {}
  @Public()
  @NoRateLimit()
  probe() {}
}

/** Inherits change() with other class metadata. */
@Public()
class PublicController extends OperatorController {}

class PlainController {
  any() {}
}

const contextOf = (controller: Function, handler: Function) => ({ getHandler: () => handler, getClass: () => controller }) as unknown as ExecutionContext;

describe('routeMetadata', () => {
  it("reads @Public, @Roles and @NoRateLimit, the handler's overriding its controller's", () => {
    const reflector = new Reflector();
    const of = (controller: Function, handler: Function) => ({ ...routeMetadata(reflector, contextOf(controller, handler)) });
    expect(of(OperatorController, OperatorController.prototype.change)).toEqual({ isPublic: false, roles: ['operator'], noRateLimit: false });
    expect(of(OperatorController, OperatorController.prototype.read)).toEqual({ isPublic: false, roles: ['employee', 'operator'], noRateLimit: false });
    expect(of(OperatorController, OperatorController.prototype.probe)).toEqual({ isPublic: true, roles: ['operator'], noRateLimit: true });
    expect(of(PublicController, PublicController.prototype.change)).toEqual({ isPublic: true, roles: ['operator'], noRateLimit: false });
    expect(of(PlainController, PlainController.prototype.any)).toEqual({ isPublic: false, roles: undefined, noRateLimit: false });
  });

  it('asks the reflector once per handler and controller, not once per request', () => {
    const reflector = new Reflector();
    const lookups = jest.spyOn(reflector, 'getAllAndOverride');
    class FreshController {
      @Roles('operator')
      handler() {}
    }
    const first = routeMetadata(reflector, contextOf(FreshController, FreshController.prototype.handler));
    const perRoute = lookups.mock.calls.length;
    expect(perRoute).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(routeMetadata(reflector, contextOf(FreshController, FreshController.prototype.handler))).toBe(first);
    expect(lookups).toHaveBeenCalledTimes(perRoute);
    // The same handler under a subclass is read on its own.
    class SubController extends FreshController {}
    routeMetadata(reflector, contextOf(SubController, SubController.prototype.handler));
    expect(lookups).toHaveBeenCalledTimes(2 * perRoute);
  });
});
