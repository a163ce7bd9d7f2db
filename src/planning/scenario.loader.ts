import { loadYamlFile } from '../config/config.loader';
import { scenarioSchema, type Scenario } from './scenario.schema';

/**
 * Reads and validates a planning scenario. A bad file throws config.loader's ConfigError naming
 * the file, the path inside it (e.g. `agencies[3].teleworkShare`) and the reason.
 */
export function loadScenario(file: string): Scenario {
  return loadYamlFile(file, scenarioSchema);
}
