import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportKey } from '../../functions/common/keys.ts';
import { logger } from '../../functions/common/observability.ts';
import type {
  ActionAccepted,
  ApiError,
  DayDetail,
  DaysResponse,
  ExecutionState,
  HealthResponse,
  MeResponse,
  TodayResponse,
  WorkbookLink,
  WorkbookVersions,
} from '../../functions/console-api/contract.ts';
import { routeKeys } from '../../functions/console-api/router.ts';
import { startIdentityProvider } from '../../local/console/identity.ts';
import { api, type ConsoleStack, config, date, signIn, startConsoleStack } from './harness.ts';

const otherAudience = 'https://another-api.example';
let stack: ConsoleStack;
let clock = Date.now();
const tokens: Record<'viewer' | 'operator' | 'nobody', string> = { viewer: '', operator: '', nobody: '' };

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  stack = await startConsoleStack({ otherAudiences: [otherAudience], tokenClock: () => clock });
  tokens.viewer = await signIn(stack.console, 'viewer@example.com');
  tokens.operator = await signIn(stack.console, 'operator@example.com');
  tokens.nobody = await signIn(stack.console, 'nobody@example.com');
}, 120_000);
afterAll(async () => stack?.close());

/** Every route with a path that exists for the sample day. */
function everyRoute(executionId: string): { method: string; path: string; operator: boolean }[] {
  const id = encodeURIComponent(executionId);
  return routeKeys.map((key) => {
    const [method = 'GET', template = '/'] = key.split(' ');
    const path = template.replace('{date}', date).replace('{id}', id);
    return { method, path, operator: method === 'POST' };
  });
}

function errorOf(result: { body: unknown }): ApiError['error'] {
  return (result.body as ApiError).error;
}

describe('the console API on the local stack', () => {
  it('declares every route of the contract', () => {
    expect([...routeKeys].sort()).toEqual(
      [
        'GET /me',
        'GET /days',
        'GET /days/{date}',
        'GET /days/{date}/rejects.csv',
        'GET /days/{date}/workbook',
        'GET /days/{date}/workbook/versions',
        'POST /days/{date}/rerun',
        'POST /days/{date}/undo',
        'POST /days/{date}/resend',
        'GET /executions/{id}',
        'POST /executions/{id}/cancel',
        'POST /executions/{id}/redrive',
        'GET /today',
        'GET /health',
      ].sort(),
    );
  });

  it('refuses every route without a token, or with one expired, from another issuer or for another audience: 401', async () => {
    const { console } = stack;
    const other = await startIdentityProvider({
      consoleOrigin: console.url,
      clientId: console.clientId,
      audience: console.audience,
    });
    try {
      const foreign = await signIn({ ...console, issuer: other.issuer }, 'operator@example.com');
      const otherAudienceToken = await signIn(console, 'operator@example.com', { resource: otherAudience });
      const expiring = await signIn(console, 'operator@example.com');
      for (const route of everyRoute(stack.run.execution.executionId)) {
        const none = await api(console, route.path, undefined, { method: route.method });
        expect(none.status, `${route.method} ${route.path}`).toBe(401);
        expect(none.body).toEqual({ message: 'Unauthorized' });
        for (const token of [foreign, otherAudienceToken, 'not-a-jwt']) {
          expect((await api(console, route.path, token, { method: route.method })).status).toBe(401);
        }
      }
      clock = Date.now() + 2 * 3600_000;
      expect((await api(console, '/me', expiring)).status).toBe(401);
    } finally {
      clock = Date.now();
      await other.stop();
    }
  });

  it('refuses a viewer every action (403) and a user with no role every page (403), by the API not the page', async () => {
    for (const route of everyRoute(stack.run.execution.executionId)) {
      if (route.path === '/me') continue;
      const body = route.method === 'POST' ? { body: {} } : {};
      const nobody = await api(stack.console, route.path, tokens.nobody, { method: route.method, ...body });
      expect(nobody.status, `${route.method} ${route.path}`).toBe(403);
      expect(errorOf(nobody).message).toMatch(/viewer or operator group/);
      if (!route.operator) continue;
      const viewer = await api(stack.console, route.path, tokens.viewer, { method: route.method, ...body });
      expect(viewer.status, `${route.method} ${route.path}`).toBe(403);
      expect(errorOf(viewer)).toEqual({ code: 'forbidden', message: 'This needs the operator role' });
    }
  });

  it('says who is signed in and with which roles', async () => {
    const me = await api(stack.console, '/me', tokens.viewer);
    expect(me.body).toEqual({
      user: { subject: 'viewer@example.com', name: 'Vera Viewer', email: 'viewer@example.com' },
      roles: ['viewer'],
    } satisfies MeResponse);
    expect(((await api(stack.console, '/me', tokens.operator)).body as MeResponse).roles).toEqual([
      'viewer',
      'operator',
    ]);
    expect(((await api(stack.console, '/me', tokens.nobody)).body as MeResponse).roles).toEqual([]);
  });

  it('answers bad input with 400 or 404 and a message, never a 500 or a stack trace', async () => {
    const cases: [string, string, unknown, number][] = [
      ['GET', '/days/2026-13-45', undefined, 400],
      ['GET', '/days/yesterday', undefined, 400],
      ['GET', '/days/2099-01-01', undefined, 400],
      ['GET', '/days?from=2026-03-09&to=2026-03-01', undefined, 400],
      ['GET', '/days?limit=0', undefined, 400],
      ['GET', '/days?status=great', undefined, 400],
      ['GET', `/days/${date}/workbook?version=no-such-version`, undefined, 404],
      ['GET', '/days/2026-01-01/workbook', undefined, 404],
      ['GET', '/days/2026-01-01/rejects.csv', undefined, 404],
      [
        'GET',
        `/executions/${encodeURIComponent('arn:aws:states:us-east-1:000000000000:execution:charlie-local:nope')}`,
        undefined,
        404,
      ],
      ['POST', '/executions/nope/cancel', undefined, 404],
      ['POST', '/executions/nope/redrive', undefined, 404],
      ['POST', `/days/${date}/undo`, { source: `raw/2026-03-08/Dials/${'a'.repeat(64)}.csv` }, 400],
      ['POST', `/days/${date}/undo`, { source: 'raw/not/a/key.csv' }, 400],
      ['POST', `/days/${date}/undo`, {}, 400],
      ['POST', `/days/${date}/rerun`, { reports: ['NoSuchExport'] }, 400],
      ['POST', `/days/${date}/rerun`, { force: 'yes' }, 400],
      ['POST', `/days/${date}/rerun`, [1, 2], 400],
      ['POST', '/days/2026-01-01/resend', {}, 409],
      ['GET', '/nothing-here', undefined, 404],
      ['DELETE', `/days/${date}`, undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const result = await api(stack.console, path, tokens.operator, {
        method,
        ...(body !== undefined ? { body } : {}),
      });
      expect(result.status, `${method} ${path}`).toBe(status);
      const error = errorOf(result);
      expect(error.message.length, `${method} ${path}`).toBeGreaterThan(0);
      expect(result.text).not.toMatch(/\n\s+at /);
    }
    const notJson = await fetch(`${stack.console.apiUrl}/days/${date}/rerun`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.operator}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ApiError).error.message).toBe('The body is not JSON');
  });

  it('lists the last 90 days, newest first, with the sample day delivered and its rows', async () => {
    const result = await api(stack.console, '/days', tokens.viewer);
    const { days, next } = result.body as DaysResponse;
    expect(days).toHaveLength(90);
    expect(days[0]?.date).toBe('2026-03-10');
    expect(days.map((d) => d.date)).toEqual([...days.map((d) => d.date)].sort().reverse());
    expect(next).toBe(days.at(-1)?.date);
    const sample = days.find((d) => d.date === date);
    const summary = stack.run.summary;
    expect(sample?.status).toBe('delivered');
    expect(sample?.rowsByType).toEqual(Object.fromEntries(summary?.types.map((t) => [t.type, t.rows]) ?? []));
    expect(sample?.workbook?.bytes).toBe(summary?.workbook.bytes);
    expect(days.filter((d) => d.date !== date).every((d) => d.status === 'none')).toBe(true);
    const older = (await api(stack.console, `/days?cursor=${next}&limit=5`, tokens.viewer)).body as DaysResponse;
    expect((older.days[0]?.date ?? '') < (next as string)).toBe(true);
    expect(older.days).toHaveLength(5);
    const delivered = (await api(stack.console, '/days?status=delivered', tokens.viewer)).body as DaysResponse;
    expect(delivered.days.map((d) => d.date)).toEqual([date]);
  });

  it("shows a day: each type's reconciliation, its files and sources, deliveries, executions, volume and agents", async () => {
    const detail = (await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail;
    expect(detail.status).toBe('delivered');
    expect(detail.types.map((t) => t.type)).toEqual(config.exports.map((e) => e.type));
    for (const t of detail.types) {
      expect(t.read, t.type).toBe(t.inserted + t.updated + t.unchanged + t.stale + t.rejected);
    }
    expect(detail.files.length).toBe(stack.run.summary?.files);
    expect(detail.files.every((f) => f.rawKey.startsWith(`raw/${date}/`) && f.outcome === 'ingested')).toBe(true);
    expect(detail.files.every((f) => f.source.kind === 'mail' && f.source.sender)).toBe(true);
    // The report, and the alerts the day crossed, told to the alert rules' recipients.
    expect(detail.deliveries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ messageId: stack.run.summary?.delivery.messageId, bounces: null, complaints: null }),
        expect.objectContaining({ recipients: ['supervisors@example.com'] }),
      ]),
    );
    expect(detail.deliveries).toHaveLength(2);
    expect(detail.executions.map((e) => [e.executionId, e.status])).toContainEqual([
      stack.run.execution.executionId,
      'SUCCEEDED',
    ]);
    expect(detail.volumeByHour).toHaveLength(24);
    expect(detail.volumeByHour[0]?.hour).toBe('00:00');
    expect(detail.agents.columns[0]).toBe('Agent');
    expect(detail.agents.rows.length).toBeGreaterThan(0);
    expect(detail.missing).toEqual([]);
    expect(detail.alerts?.map((r) => [r.rule, r.breached.map((h) => h.hour), r.recovered.map((h) => h.hour)])).toEqual([
      ['calls-low', ['09:00'], ['10:00']],
      ['on-queue-low', ['13:00'], ['14:00']],
    ]);
  });

  it('downloads the current workbook through a short-lived presigned URL, the same bytes as in S3, and audits it', async () => {
    const link = (await api(stack.console, `/days/${date}/workbook`, tokens.viewer)).body as WorkbookLink;
    expect(Date.parse(link.expiresAt)).toBeGreaterThan(0);
    const downloaded = new Uint8Array(await (await fetch(link.url)).arrayBuffer());
    const { s3 } = stack.run.stack.clients;
    const stored = await s3.send(
      new GetObjectCommand({ Bucket: stack.run.stack.resources.reportsBucket, Key: reportKey(date) }),
    );
    expect(Buffer.from(downloaded).equals(Buffer.from(await (stored.Body?.transformToByteArray() ?? [])))).toBe(true);
    expect(link.bytes).toBe(downloaded.length);
    const versions = (await api(stack.console, `/days/${date}/workbook/versions`, tokens.viewer))
      .body as WorkbookVersions;
    expect(versions.versions.filter((v) => v.current).map((v) => v.versionId)).toEqual([link.versionId]);
    const detail = (await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail;
    expect(detail.audit).toContainEqual(
      expect.objectContaining({
        who: 'viewer@example.com',
        action: 'download',
        date,
        detail: { versionId: link.versionId },
      }),
    );
  });

  it('serves the rejected rows of the day as CSV', async () => {
    const csv = await api(stack.console, `/days/${date}/rejects.csv`, tokens.viewer);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toContain(`charlie-rejects-${date}.csv`);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('raw key,type,line,reason,row');
    expect(lines.length - 1).toBe(stack.run.summary?.totals.rejected);
  });

  it('reruns a day as operator: a new execution that reaches its end, a new workbook version, an audit entry', async () => {
    const before = (await api(stack.console, `/days/${date}/workbook/versions`, tokens.viewer))
      .body as WorkbookVersions;
    const started = await api(stack.console, `/days/${date}/rerun`, tokens.operator, {
      method: 'POST',
      body: { deliver: false },
    });
    expect(started.status).toBe(202);
    const { executionId } = started.body as ActionAccepted;
    await stack.console.executions.settled();
    const state = (await api(stack.console, `/executions/${encodeURIComponent(executionId)}`, tokens.viewer))
      .body as ExecutionState;
    expect(state).toMatchObject({ executionId, status: 'SUCCEEDED', date });
    const after = (await api(stack.console, `/days/${date}/workbook/versions`, tokens.viewer)).body as WorkbookVersions;
    expect(after.versions).toHaveLength(before.versions.length + 1);
    const detail = (await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail;
    expect(detail.audit).toContainEqual(
      expect.objectContaining({
        who: 'operator@example.com',
        action: 'rerun',
        executionId,
        detail: { deliver: false },
      }),
    );
    expect(detail.executions.map((e) => e.executionId)).toContain(executionId);
  });

  it('cancels a running execution, and refuses to cancel or redrive one that has ended (409)', async () => {
    const started = (await api(stack.console, `/days/${date}/resend`, tokens.operator, { method: 'POST', body: {} }))
      .body as ActionAccepted;
    const id = encodeURIComponent(started.executionId);
    const cancelled = await api(stack.console, `/executions/${id}/cancel`, tokens.operator, { method: 'POST' });
    expect(cancelled.status).toBe(202);
    const state = (await api(stack.console, `/executions/${id}`, tokens.viewer)).body as ExecutionState;
    expect(state.status).toBe('ABORTED');
    const again = await api(stack.console, `/executions/${id}/cancel`, tokens.operator, { method: 'POST' });
    expect(again.status).toBe(409);
    const finished = encodeURIComponent(stack.run.execution.executionId);
    expect(
      (await api(stack.console, `/executions/${finished}/redrive`, tokens.operator, { method: 'POST' })).status,
    ).toBe(409);
    const audit = ((await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail).audit;
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['resend', 'cancel']));
  });

  it('redrives a failed execution at the state it failed, and undoes a file of the day', async () => {
    const failing = await stack.console.executions.start({ date, reports: ['NoSuchExport'] }, 'failing-run');
    await stack.console.executions.settled();
    expect((await stack.console.executions.describe(failing))?.status).toBe('FAILED');
    const redriven = await api(stack.console, `/executions/${encodeURIComponent(failing)}/redrive`, tokens.operator, {
      method: 'POST',
    });
    expect(redriven.status).toBe(202);
    await stack.console.executions.settled();
    const state = (await api(stack.console, `/executions/${encodeURIComponent(failing)}`, tokens.viewer))
      .body as ExecutionState;
    expect(state).toMatchObject({ status: 'FAILED', failedStage: 'Collect' });

    const detail = (await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail;
    const file = detail.files[0]?.rawKey as string;
    const undone = await api(stack.console, `/days/${date}/undo`, tokens.operator, {
      method: 'POST',
      body: { source: file },
    });
    expect(undone.status).toBe(202);
    await stack.console.executions.settled();
    const after = (await api(stack.console, `/days/${date}`, tokens.viewer)).body as DayDetail;
    expect(after.files).toContainEqual(expect.objectContaining({ rawKey: file, outcome: 'undone' }));
    expect(after.audit).toContainEqual(expect.objectContaining({ action: 'undo', detail: { undo: [file] } }));
  });

  it('tells today so far with an etag that changes when it does, and the health of the runs', async () => {
    const today = (await api(stack.console, '/today', tokens.viewer)).body as TodayResponse;
    expect(today.date).toBe('2026-03-10');
    expect(today.etag).toMatch(/^[0-9a-f]{16}$/);
    expect((await api(stack.console, '/today', tokens.viewer)).body).toEqual(today);
    expect(today.nextRunAt).toBe('2026-03-11T11:00:00.000Z');
    const health = (await api(stack.console, '/health', tokens.viewer)).body as HealthResponse;
    expect(health.lastSuccessfulRun?.date).toBe(date);
    expect(health.nextRuns[0]).toEqual({ at: '2026-03-11T11:00:00.000Z', local: '2026-03-11 06:00', kind: 'daily' });
    expect(health.notes?.join(' ')).toMatch(/no CloudWatch alarms/);
  });

  it('answers CORS preflights for the console origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.console.apiUrl}/days`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight(stack.console.url);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(stack.console.url);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
