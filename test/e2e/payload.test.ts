import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportSpec } from '../../functions/common/config.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { BuildInput, RunManifest } from '../../functions/common/contracts.ts';
import { logger } from '../../functions/common/observability.ts';
import { awsLimits, jsonBytes } from '../../local/aws-limits.ts';
import { type ExecutionSummary, type LocalRunResult, runLocally } from '../../local/local-run.ts';
import { runPipeline } from '../../local/pipeline.ts';

const config = loadConfigFile();
const date = '2026-03-09';
const now = () => Date.parse('2026-03-10T15:00:00Z');
const fileCount = 1_000;

/** Half the state limit: room left for what a day adds that a test does not. */
const budgetBytes = 128 * 1024;

/**
 * File `i` of the day: the export types in turn, one minute apart per type from 08:00, each
 * with one row of its own agent, named as the old tool saved them for the agent inbox.
 */
function exportFile(i: number): { name: string; text: string } {
  const spec = config.exports[i % config.exports.length] as ExportSpec;
  const minute = 8 * 60 + Math.floor(i / config.exports.length);
  const hh = String(Math.floor(minute / 60)).padStart(2, '0');
  const mm = String(minute % 60).padStart(2, '0');
  const cells: Record<string, string> = {
    'Interval Start': `${date} ${hh}:00:00`,
    'Interval End': `${date} ${String(Number(hh) + 1).padStart(2, '0')}:00:00`,
    'Interval Complete': '1.0',
    Filters: 'Queue: LLSA-IB-DM',
    'Media Type': 'voice',
    'Agent Id': `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    'Agent Name': `Agent ${i}`,
    Handle: '2',
    'Full Export Completed': 'YES',
    'Partial Result Timestamp': '',
    Users: `Agent ${i}`,
    Date: `${date} ${hh}:${mm}:00`,
    'Initial Direction': 'Outbound',
    'First Queue': 'LLSA-ACQ-DM',
  };
  const header = spec.columns.map((c) => c.name);
  const row = header.map((name) => cells[name] ?? '61000.5');
  return { name: `${spec.type}__${date}_${hh}${mm}.csv`, text: `${header.join(',')}\n${row.join(',')}\n` };
}

interface StoredEmail {
  subject: string;
}

describe('a day of 1,000 files on the local stack, which enforces the 256 KB state limit', () => {
  let run: LocalRunResult;
  let buildInput: BuildInput | undefined;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    const inbox = mkdtempSync(join(tmpdir(), 'charlie-1000-'));
    mkdirSync(inbox, { recursive: true });
    for (let i = 0; i < fileCount; i++) {
      const file = exportFile(i);
      writeFileSync(join(inbox, file.name), file.text);
    }
    run = await runLocally({
      config,
      date,
      inboxDir: inbox,
      deliver: false,
      outDir: mkdtempSync(join(tmpdir(), 'charlie-1000-out-')),
      keepRunning: true,
      now,
      onEvent: (event) => {
        if (event.type === 'StateEntered' && event.index === undefined && event.state.name === 'Build') {
          buildInput = event.state.input as unknown as BuildInput;
        }
      },
    });
  }, 240_000);
  afterAll(async () => run?.stop());

  it('runs every file, and no state input or output comes near the limit', async () => {
    expect(run.execution.error).toBeUndefined();
    expect(run.execution.succeeded).toBe(true);
    const summary = run.summary as ExecutionSummary;
    expect(summary.files).toBe(fileCount);
    expect(summary.totals).toMatchObject({ read: fileCount, inserted: fileCount, rejected: 0 });
    expect(summary.types.reduce((sum, t) => sum + t.rows, 0)).toBe(fileCount);
    expect(summary.types.reduce((sum, t) => sum + t.files, 0)).toBe(fileCount);

    // The file list is in the manifest, not in the states.
    const object = await run.stack.clients.s3.send(
      new GetObjectCommand({ Bucket: summary.manifest.bucket, Key: summary.manifest.key }),
    );
    const manifest = JSON.parse(await (object.Body?.transformToString() ?? '')) as RunManifest;
    expect(manifest.files).toHaveLength(fileCount);
    expect(jsonBytes(manifest.files)).toBeGreaterThan(awsLimits.stateDataBytes);

    const { largestPayload } = run.execution;
    process.stdout.write(`largest state payload at ${fileCount} files: ${JSON.stringify(largestPayload)}\n`);
    expect(largestPayload.bytes).toBeGreaterThan(0);
    expect(largestPayload.bytes).toBeLessThan(budgetBytes);
  });

  it('fails a state whose output passes 256 KB with States.DataLimitExceeded, and runs nothing after it', async () => {
    // Build redriven with an input just under the limit: its output, the input and the report, is over it.
    const input = buildInput as BuildInput;
    const reason = { reason: 'padding', count: 1, messageId: '<m@example.com>', subject: '', example: '' };
    const padded = (example: string) => ({
      ...input,
      run: { ...input.run, deliver: true, force: true },
      mail: { ...input.mail, ignored: [{ ...reason, example }] },
    });
    const example = 'x'.repeat(awsLimits.stateDataBytes - 1_000 - jsonBytes(padded('')));
    expect(jsonBytes(padded(example))).toBeLessThan(awsLimits.stateDataBytes);

    const sentBefore = await sentEmails(run);
    const failed = await runPipeline({
      config,
      stack: run.stack,
      mail: undefined,
      links: run.links,
      input: { date },
      now,
      redrive: { state: 'Build', input: padded(example) },
    });
    expect(failed.succeeded).toBe(false);
    expect(failed.error?.name).toBe('States.DataLimitExceeded');
    expect(failed.error?.message).toMatch(/The state\/task 'Build' returned a result with a size exceeding/);
    expect(failed.failedState?.state).toBe('Build');
    expect(failed.largestPayload.bytes).toBeGreaterThan(awsLimits.stateDataBytes);
    // Deliver never ran: the only email is the admins' failure notice.
    const sent = (await sentEmails(run)).slice(sentBefore.length);
    expect(sent.map((email) => email.subject)).toEqual([expect.stringMatching(/^\[charlie\] run failed/)]);
  });
});

async function sentEmails(run: LocalRunResult): Promise<StoredEmail[]> {
  const response = await fetch(`${run.stack.sesUrl}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}
