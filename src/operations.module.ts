import { Module } from '@nestjs/common';
import { AuditController } from './controllers/audit.controller';
import { OperatorController } from './controllers/operator.controller';
import { ObservabilityModule } from './observability.module';
import { ClockRepository } from './repositories/clock.repository';
import { CronRepository } from './repositories/cron.repository';
import { AuditService } from './services/audit.service';
import { CircuitBreakerService } from './services/circuit-breaker.service';
import { OperatorService } from './services/operator.service';
import { RuntimeChangesService } from './services/runtime-changes.service';
import { ScheduleService } from './services/schedule.service';
import { SessionLimitService } from './services/session-limit.service';

/**
 * Operations (docs/operations.md): the operator API (member states, runtime
 * changes of capacities and limits), the circuit breaker, schedules (capacity
 * plans, maintenance windows, end-of-session warnings) and the audit trail's
 * export and retention. Builds on CoreModule (global) and the live gateway of
 * ObservabilityModule.
 */
@Module({
  imports: [ObservabilityModule],
  controllers: [OperatorController, AuditController],
  providers: [ClockRepository, CronRepository, RuntimeChangesService, OperatorService, CircuitBreakerService, ScheduleService, SessionLimitService, AuditService],
  exports: [RuntimeChangesService, OperatorService, CircuitBreakerService, ScheduleService, SessionLimitService, AuditService, ClockRepository, CronRepository],
})
export class OperationsModule {}
