import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { BrokerError } from '../errors/error-codes';
import { POOL_ID } from './grant.dto';

/** Path ids of pools and members: checked before any lookup. */
@Injectable()
export class IdPipe implements PipeTransform<string, string> {
  transform(value: string, meta: ArgumentMetadata): string {
    if (typeof value !== 'string' || !POOL_ID.test(value)) {
      const name = meta.data ?? 'id';
      throw new BrokerError('validation-failed', `${name} must be lower-case letters, digits and dashes`, {
        errors: [{ path: `path:${name}`, message: 'not a valid id' }],
      });
    }
    return value;
  }
}
