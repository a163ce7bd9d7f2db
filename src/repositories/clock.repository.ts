import { Injectable } from '@nestjs/common';

/**
 * This replica's wall clock, for deciding which scheduled step is due. Tests
 * replace it (`useValue`) to move time; the store keeps its own time (Redis
 * TIME) for everything it records.
 */
@Injectable()
export class ClockRepository {
  now(): number {
    return Date.now();
  }
}
