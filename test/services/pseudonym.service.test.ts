import { createHmac } from 'node:crypto';
import type { AppConfig } from '../../src/config/config.loader';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { PseudonymService } from '../../src/services/pseudonym.service';

describe('PseudonymService', () => {
  const key = 'k'.repeat(40);
  const service = new PseudonymService(new ConfigRepository({ pseudonymKey: key } as AppConfig));

  it('gives the first 22 base64url characters of HMAC-SHA-256(key, subject), as every release has (audit records stay linkable)', () => {
    expect(service.of('emp-1')).toBe('y3jA5jRKuPh96mwglcp-5G');
    for (const subject of ['emp-1', 'émp-2', '', 'x'.repeat(500)]) {
      expect(service.of(subject)).toBe(createHmac('sha256', key).update(subject, 'utf8').digest('base64url').slice(0, 22));
    }
  });
});
