import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/charlie.ts';
import { fromRoot } from '../../lib/paths.ts';
import { openKeptDir } from '../../local/kept.ts';
import { captureTerminal } from './terminal.ts';

// Step Functions has no local emulator that serves its API, so the SDK client is mocked here.
const sfn = mockClient(SFNClient);
const examples = fromRoot('examples', 'centers');
const machine = (name: string) => `arn:aws:states:us-east-1:123456789012:stateMachine:${name}-daily-report`;
const terminal = captureTerminal();

beforeEach(() => {
  sfn.reset();
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: ['charlie', 'example-east', 'example-west'].map((name) => ({
      name: `${name}-daily-report`,
      stateMachineArn: machine(name),
      type: 'STANDARD',
      creationDate: new Date(),
    })),
  });
});

describe('charlie --center NAME', () => {
  it("starts the run on that center's state machine", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${machine('example-west')}:rerun-1` });
    const args = ['rerun', '--date', '2026-03-09', '--region', 'us-east-1', '--centers', examples];
    expect(await runCli([...args, '--center', 'example-west'])).toBe(0);
    expect(await runCli([...args, '--center', 'example-east'])).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input.stateMachineArn)).toEqual([
      machine('example-west'),
      machine('example-east'),
    ]);
  });

  it('refuses an unknown center, listing the known ones, and a center given with --config', async () => {
    expect(await runCli(['status', '--center', 'example-north', '--centers', examples])).toBe(2);
    expect(terminal.err).toBe(`No center "example-north" in ${examples}: the centers are example-east, example-west\n`);
    terminal.err = '';
    expect(await runCli(['doctor', '--center', 'example-north', '--centers', examples])).toBe(2);
    expect(terminal.err).toContain('the centers are example-east, example-west');
    terminal.err = '';
    const both = ['status', '--center', 'example-east', '--centers', examples, '--config', 'charlie.config.json'];
    expect(await runCli(both)).toBe(2);
    expect(terminal.err).toBe('--center and --config name two configurations: give one\n');
    expect(sfn.commandCalls(StartExecutionCommand)).toEqual([]);
  });

  it("reads the center's own folder of a kept local stack", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'charlie-cli-centers-'));
    for (const center of ['example-east', 'example-west']) {
      const kept = openKeptDir(join(dir, center));
      kept.saveExecution({
        executionId: `arn:aws:states:us-east-1:000000000000:execution:${center}-local:run-${center}`,
        name: `run-${center}`,
        input: { date: '2026-03-09' },
        status: 'SUCCEEDED',
        startedAt: '2026-03-10T12:00:00.000Z',
        output: { date: '2026-03-09' },
      });
      kept.release();
    }
    expect(await runCli(['status', '--local', dir, '--center', 'example-west', '--centers', examples])).toBe(0);
    expect(terminal.out).toContain('run-example-west');
    expect(terminal.out).not.toContain('run-example-east');
  });
});
