import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { defaultCentersDir, loadCenters } from '../functions/common/centers.ts';
import { ConfigError, defaultConfigPath, loadConfigFile } from '../functions/common/config.ts';
import { createApp, createCentersApp } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';

const app = new App();

/** A path from an environment variable, then from `cdk synth -c key=...`. */
function requested(variable: string, contextKey: string): string | undefined {
  const value: unknown = process.env[variable] ?? app.node.tryGetContext(contextKey);
  return typeof value === 'string' && value !== '' ? resolve(value) : undefined;
}

// A folder of centers (CHARLIE_CENTERS_DIR, -c centers=DIR) or one file (CHARLIE_CONFIG_FILE,
// -c config=FILE); neither: the repository's centers/ folder if it exists, else charlie.config.json.
const centersDir = requested('CHARLIE_CENTERS_DIR', 'centers');
const configPath = requested('CHARLIE_CONFIG_FILE', 'config');

try {
  if (centersDir && configPath) {
    throw new ConfigError('Both a centers folder and a configuration file were given: give one');
  }
  const defaultCenters = resolve(repoRoot, defaultCentersDir);
  if (centersDir) createCentersApp(loadCenters(centersDir), { app });
  else if (configPath) createApp(loadConfigFile(configPath), { app });
  else if (existsSync(defaultCenters)) createCentersApp(loadCenters(defaultCenters), { app });
  else createApp(loadConfigFile(resolve(repoRoot, defaultConfigPath)), { app });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The message names every bad field; a stack trace would only bury it.
  console.error(error.message);
  process.exit(1);
}
