/**
 * The audit trail: one append-only record per lease operation and operator
 * action. On Redis a Stream per pool (`<poolBase>audit`, XADD with an auto id);
 * in the embedded store an append-only array per pool with the same fields.
 *
 * Every field is a string, and every record carries all of them in this order
 * (empty where a field does not apply), so both stores write the same records
 * and Redis keeps them compactly. `own` is the owner's pseudonym (keyed hash
 * of the employee id), never a raw id; `by` likewise for operators.
 */
export const auditEvents = [
  'granted',
  'reconnected',
  'refused',
  'released',
  'expired',
  'renewed',
  'offered',
  'claimed',
  'offer-expired',
  'queued',
  'left-queue',
  'operator',
] as const;
export type AuditEvent = (typeof auditEvents)[number];

/** Field names in the order they are written. */
export const auditFields = ['t', 'ev', 'own', 'ag', 'm', 'g', 'code', 'pc', 'by', 'act', 'd'] as const;

export interface AuditFields {
  /** Store time, epoch ms, as a decimal string. */
  t: string;
  ev: AuditEvent;
  /** Owner pseudonym; empty for operator records and bulk-renewal summaries. */
  own: string;
  /** Agency. */
  ag: string;
  /** Member (gateway / session host). */
  m: string;
  /** Grant id, or waiting-ticket id (a ticket becomes the grant of the same id when claimed). */
  g: string;
  /** Refusal code. */
  code: string;
  /** Priority class. */
  pc: string;
  /** Operator pseudonym. */
  by: string;
  /** Operator action name. */
  act: string;
  /** JSON detail (keys in a fixed order per event; see docs/admission.md, "Audit records"). */
  d: string;
}

/** A stored record: its stream id (`<ms>-<seq>`) and its fields. */
export interface AuditRecord extends AuditFields {
  id: string;
}

/** A record with only the fields that apply; the rest are written as ''. */
export type AuditEntry = Pick<AuditFields, 't' | 'ev'> & Partial<Omit<AuditFields, 't' | 'ev'>>;

/** All fields, '' where not given, in the written order. */
export function auditFieldsOf(e: AuditEntry): AuditFields {
  return { t: e.t, ev: e.ev, own: e.own ?? '', ag: e.ag ?? '', m: e.m ?? '', g: e.g ?? '', code: e.code ?? '', pc: e.pc ?? '', by: e.by ?? '', act: e.act ?? '', d: e.d ?? '' };
}
