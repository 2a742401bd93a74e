import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import {
  ActionError,
  cancelRun,
  redriveRun,
  rerunInput,
  resendInput,
  startRun,
  undoInput,
} from '../actions/actions.ts';
import type { ExecutionControl } from '../actions/executions.ts';
import type { Resources } from '../common/clients.ts';
import type { Config } from '../common/config.ts';
import type { RunInput } from '../common/contracts.ts';
import { rawKeyParts, reportKey } from '../common/keys.ts';
import { logger } from '../common/observability.ts';
import { localDate } from '../common/time.ts';
import { dayAudit, writeAudit } from './audit.ts';
import type {
  ActionAccepted,
  AuditEntry,
  DayStatus,
  ExecutionState,
  MeResponse,
  Role,
  TodayResponse,
} from './contract.ts';
import {
  DAYS_PAGE,
  type DaysDeps,
  dayDetail,
  dayRecord,
  executionDate,
  hourVolumes,
  lateExports,
  latestDayView,
  listDays,
  requireDay,
} from './days.ts';
import { health, type MonitoringSource, nextRuns } from './health.ts';
import { type ApiResponse, errorResponse, HttpError, json, text } from './http.ts';
import { rejectsCsv } from './rejects.ts';
import { type RoleSettings, rolesOf } from './roles.ts';
import { type WorkbookStore, workbookLink } from './workbooks.ts';

/** The console's settings the API needs (the configuration's `console` section, defaults filled in). */
export interface ApiSettings extends RoleSettings {
  downloadSeconds: number;
}

export interface ConsoleDeps {
  config: Config;
  settings: ApiSettings;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  executions: ExecutionControl;
  workbooks: WorkbookStore;
  monitoring: MonitoringSource;
  now?: () => Date;
}

export type ConsoleRequest = APIGatewayProxyEventV2WithJWTAuthorizer;

/** Who calls, as the verified token says. */
interface Caller {
  subject: string;
  name?: string;
  email?: string;
  roles: Role[];
  /** How the audit log names them. */
  who: string;
}

interface Call {
  caller: Caller;
  params: string[];
  query: Record<string, string | undefined>;
  body: unknown;
  deps: Required<ConsoleDeps>;
  days: DaysDeps;
}

interface Route {
  method: 'GET' | 'POST';
  path: RegExp;
  /** The role the route needs; none: any signed-in user (`/me`, so the app can say what is missing). */
  role?: Role;
  handle(call: Call): Promise<ApiResponse>;
}

const date = '(\\d{4}-\\d{2}-\\d{2}|[^/]+)';
const id = '([^/]+)';

/** Every route of the API and the role it needs: the one place roles are enforced. */
const routes: Route[] = [
  { method: 'GET', path: /^\/me$/, handle: me },
  { method: 'GET', path: /^\/days$/, role: 'viewer', handle: days },
  { method: 'GET', path: new RegExp(`^/days/${date}$`), role: 'viewer', handle: day },
  { method: 'GET', path: new RegExp(`^/days/${date}/rejects\\.csv$`), role: 'viewer', handle: rejects },
  { method: 'GET', path: new RegExp(`^/days/${date}/workbook$`), role: 'viewer', handle: workbook },
  { method: 'GET', path: new RegExp(`^/days/${date}/workbook/versions$`), role: 'viewer', handle: versions },
  { method: 'POST', path: new RegExp(`^/days/${date}/rerun$`), role: 'operator', handle: rerun },
  { method: 'POST', path: new RegExp(`^/days/${date}/undo$`), role: 'operator', handle: undo },
  { method: 'POST', path: new RegExp(`^/days/${date}/resend$`), role: 'operator', handle: resend },
  { method: 'GET', path: new RegExp(`^/executions/${id}$`), role: 'viewer', handle: execution },
  { method: 'POST', path: new RegExp(`^/executions/${id}/cancel$`), role: 'operator', handle: cancel },
  { method: 'POST', path: new RegExp(`^/executions/${id}/redrive$`), role: 'operator', handle: redrive },
  { method: 'GET', path: /^\/today$/, role: 'viewer', handle: today },
  { method: 'GET', path: /^\/health$/, role: 'viewer', handle: healthRoute },
];

/** The routes as API Gateway declares them (lib/console.ts), e.g. `GET /days/{date}`. */
export const routeKeys: readonly string[] = routes.map(
  (route) =>
    `${route.method} ${route.path.source
      .replace(/^\^|\$$/g, '')
      .replace(/\\\//g, '/')
      .replace(/\\\./g, '.')
      .replace(`/days/${date}`, '/days/{date}')
      .replace(`/executions/${id}`, '/executions/{id}')}`,
);

/**
 * The API: one handler for every route, behind API Gateway's JWT authorizer (which has checked
 * the token's signature, issuer, audience and expiry). Roles come from the token's claims and
 * are checked here on every route; every refusal is `{ error: { code, message } }`.
 */
export async function handleConsoleRequest(event: ConsoleRequest, deps: ConsoleDeps): Promise<ApiResponse> {
  const full: Required<ConsoleDeps> = { now: () => new Date(), ...deps };
  try {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath.replace(/\/+$/, '') || '/';
    const matching = routes.filter((route) => route.path.test(path));
    if (matching.length === 0) throw new HttpError('not_found', `No route ${path}`);
    const route = matching.find((r) => r.method === method);
    if (!route) throw new HttpError('not_found', `No route ${method} ${path}`);
    const caller = callerOf(event, full.settings);
    if (route.role && !caller.roles.includes(route.role)) {
      throw new HttpError(
        'forbidden',
        caller.roles.length === 0
          ? 'You have no console role: ask an administrator to add you to the viewer or operator group'
          : `This needs the ${route.role} role`,
      );
    }
    const params = (route.path.exec(path) ?? []).slice(1).map((part) => decodePart(part));
    return await route.handle({
      caller,
      params,
      query: event.queryStringParameters ?? {},
      body: parseBody(event, method),
      deps: full,
      days: {
        config: full.config,
        s3: full.s3,
        dynamodb: full.dynamodb,
        resources: full.resources,
        executions: full.executions,
        now: full.now,
      },
    });
  } catch (error) {
    if (error instanceof HttpError) return errorResponse(error);
    if (error instanceof ActionError) {
      const code = error.kind === 'invalid' ? 'bad_request' : error.kind === 'unknown' ? 'not_found' : 'conflict';
      return errorResponse(new HttpError(code, error.message));
    }
    logger.error('console request failed', { path: event.rawPath, error: (error as Error).name });
    return errorResponse(new HttpError('internal', 'Something went wrong on our side; it was logged'));
  }
}

function callerOf(event: ConsoleRequest, settings: RoleSettings): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  const subject = claims?.sub;
  if (!claims || typeof subject !== 'string') throw new HttpError('unauthorized', 'Sign in: no verified token');
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const email = text('email');
  const name = text('name') ?? text('username') ?? text('cognito:username') ?? text('preferred_username');
  return {
    subject,
    ...(name ? { name } : {}),
    ...(email ? { email } : {}),
    roles: rolesOf(claims, settings),
    who: email ?? name ?? subject,
  };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError('bad_request', `Not a valid path segment: ${part}`);
  }
}

function parseBody(event: ConsoleRequest, method: string): unknown {
  if (method !== 'POST' || !event.body) return {};
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError('bad_request', 'The body is not JSON');
  }
}

async function me({ caller }: Call): Promise<ApiResponse> {
  const body: MeResponse = {
    user: {
      subject: caller.subject,
      ...(caller.name ? { name: caller.name } : {}),
      ...(caller.email ? { email: caller.email } : {}),
    },
    roles: caller.roles,
  };
  return json(200, body);
}

const statuses: readonly DayStatus[] = ['delivered', 'built', 'running', 'failed', 'late', 'missing', 'none'];

async function days({ query, days: deps }: Call): Promise<ApiResponse> {
  const from = query.from === undefined ? undefined : requireDay(query.from, deps);
  const to = query.to === undefined ? undefined : requireDay(query.to, deps);
  const cursor = query.cursor === undefined ? undefined : requireDay(query.cursor, deps);
  if (from && to && from > to) throw new HttpError('bad_request', `from ${from} is after to ${to}`);
  const status = query.status;
  if (status !== undefined && !statuses.includes(status as DayStatus)) {
    throw new HttpError('bad_request', `Unknown status "${status}": one of ${statuses.join(', ')}`);
  }
  const limit = query.limit === undefined ? DAYS_PAGE.default : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > DAYS_PAGE.max) {
    throw new HttpError('bad_request', `limit must be a whole number from 1 to ${DAYS_PAGE.max}`);
  }
  return json(
    200,
    await listDays(deps, {
      limit,
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(cursor ? { cursor } : {}),
      ...(status ? { status: status as DayStatus } : {}),
    }),
  );
}

async function day({ params, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  const audit = await dayAudit(deps.dynamodb, deps.resources.table, date);
  return json(200, await dayDetail(daysDeps, date, audit));
}

async function rejects({ params, days: deps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], deps);
  const record = await dayRecord(deps, date);
  if (!record?.executionId) throw new HttpError('not_found', `No run has built ${date}`);
  const { csv } = await rejectsCsv(deps, date, record.executionId);
  return text(200, 'text/csv; charset=utf-8', csv, {
    'content-disposition': `attachment; filename="charlie-rejects-${date}.csv"`,
  });
}

async function workbook({ params, query, caller, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  const key = reportKey(date);
  const link = await workbookLink(deps.workbooks, key, query.version, deps.settings.downloadSeconds, deps.now());
  if (!link) {
    throw new HttpError(
      'not_found',
      query.version ? `${date}'s workbook has no version ${query.version}` : `No workbook for ${date} yet`,
    );
  }
  await audit(deps, caller, { action: 'download', date, detail: { versionId: link.versionId } });
  return json(200, link);
}

async function versions({ params, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  return json(200, { versions: await deps.workbooks.versions(reportKey(date)) });
}

function booleanField(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new HttpError('bad_request', `${name} must be true or false`);
  return value;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError('bad_request', 'The body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

async function rerun({ params, body, caller, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  const fields = objectBody(body);
  const types = deps.config.exports.map((spec) => spec.type);
  const reports = fields.reports;
  if (
    reports !== undefined &&
    (!Array.isArray(reports) || reports.length === 0 || reports.some((r) => !types.includes(r as string)))
  ) {
    throw new HttpError('bad_request', `reports must be a list of export types, of: ${types.join(', ')}`);
  }
  const force = booleanField(fields, 'force');
  const deliver = booleanField(fields, 'deliver');
  const input = rerunInput(date, {
    ...(reports ? { reports: reports as string[] } : {}),
    ...(force ? { force } : {}),
    ...(deliver !== undefined ? { deliver } : {}),
  });
  return started(deps, caller, 'rerun', input);
}

async function undo({ params, body, caller, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  const source = objectBody(body).source;
  if (typeof source !== 'string' || source.trim() === '') {
    throw new HttpError('bad_request', 'source must be a raw key (raw/<date>/<type>/<sha256>.csv) or a message id');
  }
  const parts = rawKeyParts(source);
  if (source.startsWith('raw/') && !parts) throw new HttpError('bad_request', `Not a raw file key: ${source}`);
  if (parts && parts.date !== date) {
    throw new HttpError('bad_request', `${source} belongs to ${parts.date}, not ${date}`);
  }
  return started(deps, caller, 'undo', undoInput([source], { date }));
}

async function resend({ params, caller, deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const date = requireDay(params[0], daysDeps);
  const record = await dayRecord(daysDeps, date);
  if (!record?.builtAt) throw new HttpError('conflict', `${date} has no workbook to send yet: rerun it first`);
  return started(deps, caller, 'resend', resendInput(date));
}

async function started(
  deps: Required<ConsoleDeps>,
  caller: Caller,
  action: 'rerun' | 'undo' | 'resend',
  input: RunInput,
): Promise<ApiResponse> {
  const executionId = await startRun(deps.executions, input, action, deps.now().getTime());
  const { date: day, ...detail } = input;
  await audit(deps, caller, { action, date: day as string, executionId, detail });
  const body: ActionAccepted = { executionId };
  return json(202, body);
}

async function execution({ params, deps }: Call): Promise<ApiResponse> {
  const found = await deps.executions.describe(params[0] as string);
  if (!found) throw new HttpError('not_found', `No execution ${params[0]}`);
  const date = executionDate(found, deps.config.timeZone);
  const body: ExecutionState = {
    executionId: found.executionId,
    status: found.status,
    startedAt: found.startedAt,
    ...(found.stoppedAt ? { stoppedAt: found.stoppedAt } : {}),
    ...(found.failedStage ? { failedStage: found.failedStage } : {}),
    ...(date ? { date } : {}),
  };
  return json(200, body);
}

async function cancel({ params, caller, deps }: Call): Promise<ApiResponse> {
  const stopped = await cancelRun(deps.executions, params[0] as string);
  await audit(deps, caller, {
    action: 'cancel',
    date: executionDate(stopped, deps.config.timeZone) ?? 'unknown',
    executionId: stopped.executionId,
  });
  return json(202, { executionId: stopped.executionId } satisfies ActionAccepted);
}

async function redrive({ params, caller, deps }: Call): Promise<ApiResponse> {
  const redriven = await redriveRun(deps.executions, params[0] as string);
  await audit(deps, caller, {
    action: 'redrive',
    date: executionDate(redriven, deps.config.timeZone) ?? 'unknown',
    executionId: redriven.executionId,
  });
  return json(202, { executionId: redriven.executionId } satisfies ActionAccepted);
}

async function today({ deps, days: daysDeps }: Call): Promise<ApiResponse> {
  const now = deps.now();
  const date = localDate(now.getTime(), deps.config.timeZone);
  const record = await dayRecord(daysDeps, date);
  const view = await latestDayView(daysDeps, date, record);
  const [next] = nextRuns(deps.config, now);
  const shown = {
    date,
    volumeByHour: hourVolumes(view?.hourly ?? []),
    missing: view?.missing ?? [],
    late: lateExports(view),
    ...(record?.builtAt ? { lastRunAt: record.builtAt } : {}),
    ...(next ? { nextRunAt: next.at } : {}),
  };
  const etag = createHash('sha256').update(JSON.stringify(shown)).digest('hex').slice(0, 16);
  return json(200, { ...shown, etag } satisfies TodayResponse);
}

async function healthRoute({ deps }: Call): Promise<ApiResponse> {
  return json(200, await health(deps.config, deps.executions, deps.monitoring, deps.now()));
}

async function audit(
  deps: Required<ConsoleDeps>,
  caller: Caller,
  entry: Omit<AuditEntry, 'at' | 'who'>,
): Promise<void> {
  await writeAudit(deps.dynamodb, deps.resources.table, { at: deps.now().toISOString(), who: caller.who, ...entry });
}
