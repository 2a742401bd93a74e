import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorEnvironment } from '../cli/doctor.ts';
import { createGraphMailSource } from '../functions/collect/graph.ts';
import type { Config } from '../functions/common/config.ts';
import { localDate, previousLocalDate } from '../functions/common/time.ts';
import { fakeGraphAccess, fakeMailboxOf, loadMailboxDir, startFakeGraph } from './graph-server.ts';
import { writeSampleMailbox } from './sample-day.ts';
import { startLocalStack } from './stack.ts';

/**
 * What `charlie doctor --local` checks: the emulators, and the fake Graph serving a generated
 * sample of yesterday's and today's mail, so that the last 24 hours hold messages at any hour.
 */
export async function startLocalDoctor(
  config: Config,
  now: number,
): Promise<{ environment: DoctorEnvironment; stop: () => Promise<void> }> {
  const work = await mkdtemp(join(tmpdir(), 'charlie-doctor-'));
  const stack = await startLocalStack(join(work, 'stack'));
  try {
    const days = [previousLocalDate(now, config.timeZone), localDate(now, config.timeZone)];
    const messages = [];
    for (const [i, date] of days.entries()) {
      const dir = join(work, `mailbox-${date}`);
      // A seed per day: the same seed would give both days the same message ids.
      await writeSampleMailbox({ config, date, dir, seed: 20260309 + i });
      messages.push(...(await loadMailboxDir(dir)));
    }
    const graph = await startFakeGraph({ messages, ...fakeMailboxOf(config) });
    const mail = createGraphMailSource(fakeGraphAccess(config, graph));
    return {
      environment: {
        description: `the local stack, a fake Graph at ${graph.graphBaseUrl} serving a sample of ${days.join(' and ')}`,
        mail,
        s3: stack.clients.s3,
        dynamodb: stack.clients.dynamodb,
        resources: stack.resources,
      },
      async stop() {
        await graph.stop();
        await stack.stop();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stack.stop();
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}
