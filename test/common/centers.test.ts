import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  centerDataDir,
  centerNames,
  chooseConfig,
  chooseConfigPath,
  loadCenter,
  loadCenters,
} from '../../functions/common/centers.ts';
import { fromRoot } from '../../lib/paths.ts';

const examples = fromRoot('examples', 'centers');
const east = JSON.parse(readFileSync(join(examples, 'example-east.json'), 'utf8')) as Record<string, unknown>;
const west = JSON.parse(readFileSync(join(examples, 'example-west.json'), 'utf8')) as Record<string, unknown>;

/** A centers folder holding the files given, by name. */
function centersFolder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'charlie-centers-'));
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(content));
  return dir;
}

function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('a folder of centers', () => {
  it('holds one validated configuration per file, named by the file', () => {
    expect(centerNames(examples)).toEqual(['example-east', 'example-west']);
    const centers = loadCenters(examples);
    expect(centers.map((c) => [c.name, c.config.name, c.config.timeZone])).toEqual([
      ['example-east', 'example-east', 'America/New_York'],
      ['example-west', 'example-west', 'America/Los_Angeles'],
    ]);
  });

  it('refuses an unknown center, listing the known ones', () => {
    expect(errorOf(() => loadCenter(examples, 'example-north'))).toBe(
      `No center "example-north" in ${examples}: the centers are example-east, example-west`,
    );
    expect(errorOf(() => loadCenter(centersFolder({}), 'east'))).toMatch(/holds no center configuration/);
  });

  it('refuses a file whose name is not its configuration name', () => {
    const dir = centersFolder({ east: { ...east, name: 'example-east' } });
    expect(errorOf(() => loadCenter(dir, 'east'))).toBe(
      `Invalid ${join(dir, 'east.json')}:\n  name: is "example-east", but a center's name is its file's: set "name": "east" (or rename the file)`,
    );
  });

  it('refuses an invalid center with its file and the bad field', () => {
    const dir = centersFolder({ 'example-east': { ...east, timeZone: 'Mars/Olympus' } });
    expect(errorOf(() => loadCenters(dir))).toContain(`${join(dir, 'example-east.json')}:\n  timeZone:`);
  });

  it('refuses centers sharing a sender identity, a Graph secret or a mailbox folder', () => {
    const sharing = { ...west, delivery: east.delivery, mailbox: east.mailbox };
    const dir = centersFolder({ 'example-east': east, 'example-west': sharing });
    expect(errorOf(() => loadCenters(dir))).toBe(
      `Centers in ${dir} must not share resources:\n` +
        '  delivery.from is the same in example-east, example-west: give each center its own\n' +
        '  mailbox.secretName is the same in example-east, example-west: give each center its own\n' +
        '  mailbox.user and mailbox.folder is the same in example-east, example-west: give each center its own',
    );
  });
});

describe('the configuration a command acts on', () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it('is a center by name, a file, or charlie.config.json where there is no centers folder', () => {
    expect(chooseConfig({ center: 'example-west', centersDir: examples })).toMatchObject({
      center: 'example-west',
      path: join(examples, 'example-west.json'),
      config: { name: 'example-west' },
    });
    expect(chooseConfigPath({ config: 'other.json' })).toEqual({ path: 'other.json' });
    process.chdir(fromRoot());
    expect(chooseConfig({})).toMatchObject({ path: 'charlie.config.json', config: { name: 'charlie' } });
  });

  it('names its center where the centers folder exists, and one configuration only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'charlie-repo-'));
    mkdirSync(join(dir, 'centers'));
    copyFileSync(join(examples, 'example-east.json'), join(dir, 'centers', 'example-east.json'));
    process.chdir(dir);
    expect(errorOf(() => chooseConfig({}))).toBe(
      'centers/ holds the centers (example-east): name one with --center NAME, or a file with --config FILE',
    );
    expect(chooseConfig({ center: 'example-east' }).path).toBe(join('centers', 'example-east.json'));
    expect(errorOf(() => chooseConfig({ center: 'example-east', config: 'charlie.config.json' }))).toBe(
      '--center and --config name two configurations: give one',
    );
    expect(errorOf(() => chooseConfig({ centersDir: examples }))).toBe(`--centers ${examples} needs --center NAME`);
  });

  it("keeps a center's local stack in its own folder", () => {
    expect(centerDataDir('.local/demo', 'example-east')).toBe(join('.local/demo', 'example-east'));
    expect(centerDataDir('.local/demo', undefined)).toBe('.local/demo');
  });
});
