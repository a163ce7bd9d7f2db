import { Logger } from '@nestjs/common';

// Nest's log lines would bury the test report. A test that checks logging installs its own logger;
// TEST_LOGS=1 shows them all again when chasing a failure.
if (!process.env.TEST_LOGS) Logger.overrideLogger(false);
