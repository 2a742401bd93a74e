import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { type Config, ConfigError, defaultConfigPath, loadConfigFile } from '../functions/common/config.ts';
import { createApp } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';

const app = new App();

// CHARLIE_CONFIG_FILE, then `cdk synth -c config=...`, then the repository's charlie.config.json.
const requested: unknown = process.env.CHARLIE_CONFIG_FILE ?? app.node.tryGetContext('config');
const configPath =
  typeof requested === 'string' && requested !== '' ? resolve(requested) : resolve(repoRoot, defaultConfigPath);

let config: Config;
try {
  config = loadConfigFile(configPath);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The message names every bad field; a stack trace would only bury it.
  console.error(error.message);
  process.exit(1);
}

createApp(config, { app });
