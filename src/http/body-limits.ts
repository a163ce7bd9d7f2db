import { BULK_RENEWAL_MAX_IDS } from '../domain/grant';
import { BrokerError } from '../errors/error-codes';

/** What a JSON body of one route may be, checked on the raw text before it is parsed into objects. */
export interface BodyLimits {
  /** Bytes of the body (Fastify's bodyLimit: 413 payload-too-large while it is still arriving). */
  bytes: number;
  /** Objects and arrays nested inside each other, the outermost counting as 1 (400 nesting-too-deep). */
  depth: number;
  /** Entries of any one array (413 array-too-long). */
  arrayItems: number;
}

/** Every body but those below: a grant request, a member state, a failure report, a small PATCH. */
export const DEFAULT_BODY_LIMITS: BodyLimits = { bytes: 64 * 1024, depth: 4, arrayItems: 1_000 };

/**
 * Routes whose bodies are larger, by `METHOD path` as registered. A gateway agent's bulk renewal
 * carries every grant its member holds (at most BULK_RENEWAL_MAX_IDS of each list, about 600 KB).
 */
export const ROUTE_BODY_LIMITS: Readonly<Record<string, BodyLimits>> = {
  'POST /v1/pools/:pool/members/:member/renewals': { bytes: 4 * 1024 * 1024, depth: 2, arrayItems: BULK_RENEWAL_MAX_IDS },
};

export function bodyLimitsFor(method: string, url: string | undefined): BodyLimits {
  return ROUTE_BODY_LIMITS[`${method} ${url ?? ''}`] ?? DEFAULT_BODY_LIMITS;
}

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * One pass over JSON text, before JSON.parse: refuses nesting deeper than `limits.depth` and arrays
 * longer than `limits.arrayItems`, in time linear in the text and constant stack. Text that is not
 * JSON passes through untouched for the parser to refuse; nothing here throws but the two limits.
 */
export function checkJsonShape(text: string, limits: BodyLimits): void {
  // commas[d] counts the separators of the container open at depth d; -1 marks an object.
  const commas: number[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (commas.length >= limits.depth) {
        throw new BrokerError('nesting-too-deep', `the body nests objects and arrays more than ${limits.depth} deep`);
      }
      commas.push(c === OPEN_ARRAY ? 0 : -1);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) commas.pop();
    else if (c === COMMA && commas.length > 0) {
      const top = commas.length - 1;
      if (commas[top]! >= 0 && ++commas[top]! >= limits.arrayItems) {
        throw new BrokerError('array-too-long', `an array in the body has more than ${limits.arrayItems} entries`);
      }
    }
  }
}
