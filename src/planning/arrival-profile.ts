/** The day is modelled in 15-minute slots from 00:00. */
export const SLOT_SECONDS = 900;
export const SLOTS_PER_DAY = 96;
export const DAY_SECONDS = SLOT_SECONDS * SLOTS_PER_DAY;

/**
 * Relative weight of session requests per 15 minutes over an office day, one row per hour
 * (:00, :15, :30, :45). The shape of a public administration with flexitime: nearly nothing at
 * night, the morning ramp from 06:00 with its peak between 07:30 and 08:30, a trickle through
 * the late morning, the lunch break (few new sessions from 11:45, reconnects from 12:30 to 13:30),
 * and the afternoon ebb with a few evening sessions. Only the shape matters: the weights are
 * scaled so that the day holds teleworkers × sessions per teleworker requests.
 */
// prettier-ignore
export const DEFAULT_ARRIVAL_PROFILE: readonly number[] = Object.freeze([
  /* 00 */ 0.05, 0.04, 0.03, 0.03,
  /* 01 */ 0.02, 0.02, 0.02, 0.02,
  /* 02 */ 0.02, 0.02, 0.02, 0.02,
  /* 03 */ 0.02, 0.02, 0.02, 0.02,
  /* 04 */ 0.03, 0.03, 0.04, 0.05,
  /* 05 */ 0.08, 0.12, 0.20, 0.30,
  /* 06 */ 0.50, 0.80, 1.30, 2.00,
  /* 07 */ 3.00, 4.20, 5.40, 6.20,
  /* 08 */ 6.50, 6.00, 5.00, 4.00,
  /* 09 */ 3.20, 2.60, 2.20, 1.90,
  /* 10 */ 1.70, 1.50, 1.40, 1.30,
  /* 11 */ 1.20, 1.10, 1.00, 0.90,
  /* 12 */ 0.90, 1.30, 2.40, 3.20,
  /* 13 */ 3.40, 2.80, 2.00, 1.50,
  /* 14 */ 1.20, 1.00, 0.90, 0.80,
  /* 15 */ 0.70, 0.65, 0.60, 0.55,
  /* 16 */ 0.50, 0.45, 0.40, 0.35,
  /* 17 */ 0.30, 0.28, 0.26, 0.24,
  /* 18 */ 0.22, 0.20, 0.18, 0.17,
  /* 19 */ 0.16, 0.15, 0.14, 0.13,
  /* 20 */ 0.12, 0.12, 0.11, 0.11,
  /* 21 */ 0.10, 0.10, 0.09, 0.09,
  /* 22 */ 0.08, 0.08, 0.07, 0.07,
  /* 23 */ 0.06, 0.06, 0.05, 0.05,
]);

/** "07:45" for slot 31. */
export function slotLabel(slot: number): string {
  const minutes = slot * (SLOT_SECONDS / 60);
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
