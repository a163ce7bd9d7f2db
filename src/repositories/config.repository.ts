import { Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config.loader';

/**
 * The configuration read once at start-up (environment + pools file). Inject
 * this; nothing else reads process.env or the file.
 */
@Injectable()
export class ConfigRepository {
  private hosts: Map<string, string> | null = null;

  constructor(private readonly config: AppConfig) {}

  get(): AppConfig {
    return this.config;
  }

  /** Host name of a gateway or session host, as the config file gives it (for grant views). */
  memberHost = (pool: string, member: string): string | undefined => {
    this.hosts ??= new Map(this.config.broker.pools.flatMap((p) => p.members.filter((m) => m.host).map((m) => [`${p.id}/${m.id}`, m.host!] as const)));
    return this.hosts.get(`${pool}/${member}`);
  };
}
