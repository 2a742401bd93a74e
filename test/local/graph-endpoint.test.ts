import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../functions/common/config.ts';
import { acceptedAddress } from '../../functions/common/exports.ts';
import { selfSignedCertificate } from '../../local/certificate.ts';
import { type FakeGraph, type FakeMessage, startFakeGraph } from '../../local/graph-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = loadConfigFile(join(root, 'charlie.config.json'));
const genesys = acceptedAddress(config.mailbox.senders);
const header = 'Interval Start,Interval End,Interval Complete,Filters,Media Type,Agent Id,Agent Name,Handle';
const csv = (agent: string) =>
  `${header},Avg Handle\n2026-03-09 09:00:00,2026-03-09 10:00:00,1.0,Queue: LLSA-IB-DM,voice,${agent},Mei Chen,2.0,61000.0\n`;

/** A tenant other than the configured one: the flags alone point the runner at it. */
const tenant = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '4a1aa1d5-c567-49d0-ad0b-cd957a47f842',
  clientSecret: 'a-client-secret',
  user: 'genesys-exports@contoso.example',
};

const exportMessage = (n: number): FakeMessage => ({
  internetMessageId: `<export-${n}@mypurecloud.com>`,
  subject: 'Scheduled export: IB_Calls',
  from: genesys,
  receivedDateTime: `2026-03-09T1${n}:00:30Z`,
  sentDateTime: `2026-03-09T1${n}:00:00Z`,
  attachments: [
    {
      name: `IB_Calls_2026-03-09_0${n}00.csv`,
      contentType: 'text/csv',
      content: Buffer.from(csv(`00000000-0000-4000-8000-00000000000${n}`)),
    },
  ],
});

/**
 * The runner as `npm start` runs it, with no CHARLIE_* variables but those given, trusting the
 * fake's certificate as a machine trusts a TLS-inspecting proxy's.
 */
function runner(args: string[], variables: Record<string, string> = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CHARLIE_')));
  return promisify(execFile)(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'local/run.ts', ...args], {
    cwd: root,
    env: { ...env, NODE_EXTRA_CA_CERTS: join(dir, 'graph-ca.pem'), ...variables },
    timeout: 180_000,
  });
}

let dir: string;
let fake: FakeGraph;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlie-graph-endpoint-'));
  fake = await startFakeGraph({
    user: tenant.user,
    folderPath: config.mailbox.folder,
    tenantId: tenant.tenantId,
    clientSecret: tenant.clientSecret,
    messages: [exportMessage(1), exportMessage(2)],
  });
  await writeFile(join(dir, 'graph-ca.pem'), fake.certificatePem);
  // And one saved email, collected in the same run.
  await mkdir(join(dir, 'saved'));
  const saved = await new MailComposer({
    from: genesys,
    subject: 'Scheduled export: IB_Calls',
    date: new Date('2026-03-09T18:00:00Z'),
    attachments: [{ filename: 'IB_Calls_2026-03-09_1300.csv', content: csv('00000000-0000-4000-8000-000000000003') }],
  })
    .compile()
    .build();
  await writeFile(join(dir, 'saved', 'export.eml'), saved);
});

afterAll(async () => {
  await fake?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('npm start against another Graph endpoint', () => {
  it('collects from the endpoint named by flags and CHARLIE_* variables instead of the fake mailbox', async () => {
    const { stdout } = await runner(
      [
        '--date',
        '2026-03-09',
        '--no-deliver',
        '--out',
        join(dir, 'out'),
        '--mailbox',
        join(dir, 'saved'),
        '--graph-base-url',
        fake.graphBaseUrl,
        '--authority-host',
        fake.authorityHost,
        '--tenant',
        tenant.tenantId,
      ],
      {
        CHARLIE_CLIENT_ID: tenant.clientId,
        CHARLIE_CLIENT_SECRET: tenant.clientSecret,
        CHARLIE_GRAPH_MAILBOX: tenant.user,
      },
    );
    expect(stdout).toContain(
      `Collecting the Graph mailbox ${tenant.user}/${config.mailbox.folder} at ${fake.graphBaseUrl}`,
    );
    expect(stdout).not.toContain('Generated a sample day');
    expect(stdout).toContain('Mail: 3 messages seen, 3 matched, 0 ignored; 3 attachments stored');

    const token = fake.requests.find((r) => r.path.endsWith('/oauth2/v2.0/token'));
    expect(token).toMatchObject({ path: `/${tenant.tenantId}/oauth2/v2.0/token`, status: 200 });
    const listing = fake.requests.find((r) => r.path.endsWith('/messages'));
    expect(listing).toMatchObject({ path: expect.stringContaining(`/users/${encodeURIComponent(tenant.user)}/`) });
    expect(listing?.status).toBe(200);
  });

  it('signs in with a certificate and its key given as files', async () => {
    const app = selfSignedCertificate('Charlie Reporting');
    await writeFile(join(dir, 'app.crt'), app.certificatePem);
    await writeFile(join(dir, 'app.key'), app.privateKeyPem);
    const certified = await startFakeGraph({
      user: tenant.user,
      folderPath: config.mailbox.folder,
      tenantId: tenant.tenantId,
      clientCertificatePem: app.certificatePem,
      messages: [exportMessage(3)],
    });
    try {
      const { stdout } = await runner([
        ...['--date', '2026-03-09', '--no-deliver', '--out', join(dir, 'out-certificate')],
        ...['--graph-base-url', certified.graphBaseUrl, '--authority-host', certified.authorityHost],
        ...['--tenant', tenant.tenantId, '--client-id', tenant.clientId, '--graph-mailbox', tenant.user],
        ...['--client-certificate', join(dir, 'app.crt'), '--client-key', join(dir, 'app.key')],
      ]);
      expect(stdout).toContain('Mail: 1 messages seen, 1 matched, 0 ignored; 1 attachments stored');
      expect(certified.requests.find((r) => r.path.endsWith('/oauth2/v2.0/token'))?.status).toBe(200);
    } finally {
      await certified.stop();
    }
  });

  it('asks for a credential when an endpoint is named without one', async () => {
    const failure = await runner(['--graph-base-url', fake.graphBaseUrl]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({
      code: 2,
      stderr:
        'Collecting from a Graph endpoint needs --client-secret (or CHARLIE_CLIENT_SECRET), or --client-certificate and --client-key\n',
    });
  });
});
