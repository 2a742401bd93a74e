import type { Config } from './config.ts';

/**
 * The configuration inside a Lambda bundle. CDK validated it at synth time (defaults
 * filled in) and inlined it here with esbuild `define`, so a function neither reads it from
 * disk or its environment nor carries the schema library to check it again.
 */
export function loadBundledConfig(): Config {
  const text = process.env.CHARLIE_CONFIG;
  if (!text) throw new Error('CHARLIE_CONFIG was not bundled into this function: deploy it with the CDK app');
  return JSON.parse(text) as Config;
}
