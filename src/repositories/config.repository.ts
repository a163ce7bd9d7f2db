import { Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config.loader';

/**
 * The configuration read once at start-up (environment + pools file). Inject
 * this; nothing else reads process.env or the file.
 */
@Injectable()
export class ConfigRepository {
  constructor(private readonly config: AppConfig) {}

  get(): AppConfig {
    return this.config;
  }
}
