import { Module } from '@nestjs/common';
import { WaitingController } from './controllers/waiting.controller';
import { ObservabilityModule } from './observability.module';
import { WaitingRoomService } from './services/waiting-room.service';

/** The waiting room's API and live pushes (the rules are in the store). Builds on CoreModule (global) and the live gateway. */
@Module({
  imports: [ObservabilityModule],
  controllers: [WaitingController],
  providers: [WaitingRoomService],
  exports: [WaitingRoomService],
})
export class WaitingRoomModule {}
