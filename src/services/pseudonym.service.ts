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

  /**
   * 22 base64url characters (132 bits): the first 22 of the digest's 43. Written out as a string of
   * its own: a slice would be a second heap object keeping all 43 alive, and the token cache holds
   * one pseudonym per employee (docs/performance.md, seventh pass).
   */
  of(subject: string): string {
    const digest = createHmac('sha256', this.key).update(subject, 'utf8').digest('base64url');
    return Buffer.from(digest.slice(0, 22), 'latin1').toString('latin1');
  }
}
