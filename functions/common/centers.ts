import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Config, ConfigError, defaultConfigPath, loadConfigFile } from './config.ts';

/**
 * Several centers, each deployed as a stack of its own: a folder of configuration files, one
 * per center, `<folder>/<name>.json`. A center's name is its file's name, and the file's
 * `name` must say the same: the name is the stack's, and every physical name derives from it.
 */

/** The folder the CDK app, the CLI and the local runner take centers from when none is named. */
export const defaultCentersDir = 'centers';

export interface Center {
  readonly name: string;
  /** The configuration file, `<folder>/<name>.json`. */
  readonly path: string;
  readonly config: Config;
}

/** The centers a folder holds, by name; none when the folder is missing. */
export function centerNames(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort();
}

/** One center's validated configuration; an unknown name is refused with the names the folder holds. */
export function loadCenter(dir: string, name: string): Center {
  const { path } = chooseConfigPath({ center: name, centersDir: dir });
  const config = loadConfigFile(path);
  if (config.name !== name) {
    throw new ConfigError(
      `Invalid ${path}:\n  name: is "${config.name}", but a center's name is its file's: set "name": "${name}" (or rename the file)`,
    );
  }
  return { name, path, config };
}

/**
 * Every center of a folder, validated, and checked to share nothing another stack in the same
 * account would collide on or fight over: the SES identity of the sender, the Graph secret,
 * the mailbox folder collected (and moved from).
 */
export function loadCenters(dir: string): Center[] {
  const names = centerNames(dir);
  if (names.length === 0) throw new ConfigError(`${dir} holds no center configuration (<name>.json)`);
  const centers = names.map((name) => loadCenter(dir, name));
  const shared = [
    ...sharedBy(centers, 'delivery.from', (config) => config.delivery.from.toLowerCase()),
    ...sharedBy(centers, 'mailbox.secretName', (config) => config.mailbox.secretName),
    ...sharedBy(
      centers,
      'mailbox.user and mailbox.folder',
      (config) => `${config.mailbox.user.toLowerCase()} ${config.mailbox.folder}`,
    ),
  ];
  if (shared.length > 0) {
    throw new ConfigError(`Centers in ${dir} must not share resources:\n${shared.map((s) => `  ${s}`).join('\n')}`);
  }
  return centers;
}

function sharedBy(centers: readonly Center[], field: string, value: (config: Config) => string): string[] {
  const byValue = new Map<string, string[]>();
  for (const center of centers) {
    const key = value(center.config);
    byValue.set(key, [...(byValue.get(key) ?? []), center.name]);
  }
  return [...byValue.values()]
    .filter((owners) => owners.length > 1)
    .map((owners) => `${field} is the same in ${owners.join(', ')}: give each center its own`);
}

export interface ConfigChoice {
  /** `--center NAME`. */
  readonly center?: string | undefined;
  /** `--centers DIR`, default `centers`. */
  readonly centersDir?: string | undefined;
  /** `--config FILE`. */
  readonly config?: string | undefined;
}

export interface ChosenConfig {
  readonly config: Config;
  /** The file it was read from. */
  readonly path: string;
  /** The center's name, when chosen by `--center`. */
  readonly center?: string;
}

/**
 * The configuration file a command acts on: a center's by name, a file, or `charlie.config.json`.
 * Where the centers folder exists, each command names its center: the repository's single
 * configuration is not what was deployed.
 */
export function chooseConfigPath(choice: ConfigChoice): { path: string; center?: string } {
  const centersDir = choice.centersDir ?? defaultCentersDir;
  const known = centerNames(centersDir);
  if (choice.center !== undefined) {
    if (choice.config !== undefined) throw new ConfigError('--center and --config name two configurations: give one');
    if (!known.includes(choice.center)) {
      throw new ConfigError(
        known.length > 0
          ? `No center "${choice.center}" in ${centersDir}: the centers are ${known.join(', ')}`
          : `No center "${choice.center}": ${centersDir} holds no center configuration (<name>.json)`,
      );
    }
    return { path: join(centersDir, `${choice.center}.json`), center: choice.center };
  }
  if (choice.centersDir !== undefined) throw new ConfigError(`--centers ${choice.centersDir} needs --center NAME`);
  if (choice.config !== undefined) return { path: choice.config };
  if (known.length > 0) {
    throw new ConfigError(
      `${centersDir}/ holds the centers (${known.join(', ')}): name one with --center NAME, or a file with --config FILE`,
    );
  }
  return { path: defaultConfigPath };
}

/** The chosen configuration, validated; a center's checked to bear its file's name. */
export function chooseConfig(choice: ConfigChoice): ChosenConfig {
  const { path, center } = chooseConfigPath(choice);
  if (center === undefined) return { config: loadConfigFile(path), path };
  const loaded = loadCenter(choice.centersDir ?? defaultCentersDir, center);
  return { config: loaded.config, path: loaded.path, center };
}

/** Where a center's local stack is kept: its own folder under the one given, so that centers never share one. */
export function centerDataDir(dir: string, center: string | undefined): string {
  return center === undefined ? dir : join(dir, center);
}
