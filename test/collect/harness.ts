import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { type CollectDeps, collect } from '../../functions/collect/collect.ts';
import { createGraphMailSource, type GraphMailOptions, type GraphMailSource } from '../../functions/collect/graph.ts';
import type { MailSource } from '../../functions/collect/mail.ts';
import { loadConfigFile } from '../../functions/common/config.ts';
import type { RunInput } from '../../functions/common/contracts.ts';
import { acceptedAddress } from '../../functions/common/exports.ts';
import { type FakeGraph, type FakeGraphOptions, type FakeMessage, startFakeGraph } from '../../local/graph-server.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

/** What the collect tests share: the local S3 emulator, fake Graph mailboxes over loopback, and small exports. */

export const config = loadConfigFile();
export const date = '2026-03-09';
export const executionId = 'arn:aws:states:us-east-1:000000000000:execution:charlie:collect-test';
export const clientSecret = 'local-secret';
export const genesys = acceptedAddress(config.mailbox.senders);

export const ibCallsCsv = [
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle',
  '2026-03-09 09:00:00,2026-03-09 10:00:00,1.0,Initial Direction: Inbound; Queue: LLSA-IB-DM,voice,0b6a3b8e-2f4e-4d55-9a51-1b6f0c7e8d21,José Peña,4.0,900806.5',
  ',,,,,,,,',
  '',
].join('\n');
export const acqHeader =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle\n';
export const dialsHeader =
  'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle,Avg Handle,Avg Talk,Avg Hold,Avg ACW,Total Handle,Total Talk,Total Hold,Total ACW\n';

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A Genesys export email with one CSV attachment, unless `attachments` says otherwise. */
export function csvMessage(
  id: string,
  overrides: Partial<FakeMessage> & { csv?: string; name?: string } = {},
): FakeMessage {
  const { csv, name, ...message } = overrides;
  return {
    internetMessageId: `<${id}@mypurecloud.com>`,
    subject: 'Scheduled export: IB_Calls',
    from: genesys,
    receivedDateTime: '2026-03-09T15:00:30Z',
    sentDateTime: '2026-03-09T15:00:00Z',
    attachments: [
      {
        name: name ?? 'IB_Calls_2026-03-09_1000.csv',
        contentType: 'text/csv',
        content: Buffer.from(csv ?? ibCallsCsv),
      },
    ],
    ...message,
  };
}

/** An email as MIME, the way a mail client writes it (an attached email is a message/rfc822 part). */
export async function mime(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

export interface Harness {
  readonly stack: LocalStack;
  /** A directory removed after the file's tests. */
  readonly dir: string;
  fakeGraph(options: Partial<FakeGraphOptions>): Promise<FakeGraph>;
  graphSource(fake: FakeGraph, options?: Partial<GraphMailOptions>): GraphMailSource;
  run(mail: MailSource | undefined, input?: RunInput, overrides?: Partial<CollectDeps>): ReturnType<typeof collect>;
  storedKeys(prefix?: string): Promise<string[]>;
  objectBytes(key: string): Promise<Uint8Array>;
  metadata(key: string): Promise<Record<string, string> | undefined>;
  put(key: string, body: string | Uint8Array, metadata?: Record<string, string>): Promise<void>;
}

/** Starts the local stack for a test file; empties the data bucket before each test and stops the fakes after it. */
export function useHarness(): Harness {
  let stack: LocalStack | undefined;
  let dir = '';
  const fakes: FakeGraph[] = [];
  const bucket = () => (stack as LocalStack).resources.dataBucket;
  const s3 = () => (stack as LocalStack).clients.s3;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-collect-test-'));
    stack = await startLocalStack(join(dir, 'stack'));
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: bucket() }));
    for (const object of listed.Contents ?? []) {
      await s3().send(new DeleteObjectCommand({ Bucket: bucket(), Key: object.Key }));
    }
  });
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
  });

  return {
    get stack() {
      return stack as LocalStack;
    },
    get dir() {
      return dir;
    },
    async fakeGraph(options) {
      const fake = await startFakeGraph({
        user: config.mailbox.user,
        folderPath: config.mailbox.folder,
        tenantId: config.mailbox.tenantId,
        clientSecret,
        ...options,
      });
      fakes.push(fake);
      return fake;
    },
    graphSource(fake, options = {}) {
      return createGraphMailSource({
        mailbox: { ...config.mailbox, graphBaseUrl: fake.graphBaseUrl, authorityHost: fake.authorityHost },
        credential: { clientSecret },
        retry: { sleep: async () => {} },
        ...options,
      });
    },
    run(mail, input = { date }, overrides = {}) {
      return collect(
        { input, executionId },
        {
          config,
          s3: s3(),
          resources: (stack as LocalStack).resources,
          mail,
          now: () => Date.parse('2026-03-10T12:00:00Z'),
          ...overrides,
        },
      );
    },
    async storedKeys(prefix = 'raw/') {
      const listed = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key as string).sort();
    },
    async objectBytes(key) {
      const object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
      return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
    },
    async metadata(key) {
      return (await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }))).Metadata;
    },
    async put(key, body, metadata) {
      await s3().send(
        new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body, ...(metadata ? { Metadata: metadata } : {}) }),
      );
    },
  };
}

/** The export as Genesys mailed it, and that email forwarded as an attachment by someone else. */
export async function forwarded(attachments: { filename: string; content: Buffer | string }[]) {
  const original = await mime({
    from: { name: 'Genesys Cloud', address: genesys },
    to: config.mailbox.user,
    subject: 'Scheduled export: IB_Calls',
    date: new Date('2026-03-09T14:05:00Z'),
    messageId: '<original@mypurecloud.com>',
    text: 'Your scheduled export ran.',
    attachments,
  });
  return {
    original,
    forward: await mime({
      from: genesys,
      to: config.mailbox.user,
      subject: 'FW: Scheduled export: IB_Calls',
      date: new Date('2026-03-09T18:30:00Z'),
      messageId: '<forward@mypurecloud.com>',
      text: 'See the attached export.',
      attachments: [{ filename: 'Scheduled export.eml', content: original, contentType: 'message/rfc822' }],
    }),
  };
}
