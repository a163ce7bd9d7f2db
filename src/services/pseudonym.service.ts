import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { ConfigRepository } from '../repositories/config.repository';

/**
 * Pseudonymises employee ids with a keyed hash (HMAC-SHA-256, key from
 * BROKER_PSEUDONYM_KEY). Stores, audit records and logs only ever see the
 * pseudonym; without the key it cannot be turned back into an id.
 */
@Injectable()
export class PseudonymService {
  private readonly key: string;

  constructor(config: ConfigRepository) {
    this.key = config.get().pseudonymKey;
  }

  /** 22 base64url characters (132 bits). */
  of(subject: string): string {
    return createHmac('sha256', this.key).update(subject, 'utf8').digest('base64url').slice(0, 22);
  }
}
