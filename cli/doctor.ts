import { type CloudFormationClient, paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { type CloudWatchClient, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { GetScheduleCommand, type GetScheduleCommandOutput, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetAccountCommand, GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { listAgents } from '../functions/agent-upload/tokens.ts';
import { type FileOutcome, previewMessages } from '../functions/collect/collect.ts';
import { GraphError } from '../functions/collect/graph.ts';
import type { MailMessage, MailSource } from '../functions/collect/mail.ts';
import type { Resources } from '../functions/common/clients.ts';
import { type Config, ConfigError, loadConfigFile } from '../functions/common/config.ts';
import { agentInboxKey } from '../functions/common/keys.ts';
import { addDays, instantToIso, localDate, localToInstant } from '../functions/common/time.ts';

/**
 * `charlie doctor`: checks a set-up end to end and changes nothing. Each check is a plain
 * function returning a result; `formatChecklist` turns the results into the printed checklist.
 */

export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

/** One line of the checklist: what was checked, how it went, and for a failure or a warning what to do next. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  next?: string;
  /** Lines listed under it: messages, schedules, agents, alarms. */
  items?: string[];
}

/** What the checks read: the mailbox, the data stores, and the AWS services the local stack has no stand-in for. */
export interface DoctorEnvironment {
  /** Where the checks run, for the checklist's first line. */
  description: string;
  mail: MailSource;
  s3: S3Client;
  dynamodb: DynamoDBDocumentClient;
  resources: Resources;
  /** The deployed stack's services; none on the local stack. */
  aws?: {
    stackName: string;
    cloudformation: CloudFormationClient;
    scheduler: SchedulerClient;
    cloudwatch: CloudWatchClient;
    ses: SESv2Client;
  };
}

/** How far back the mailbox is read: a day of hourly exports. */
export const messageWindowHours = 24;

/**
 * Messages read through at most (the newest): a day of seven types mailed hourly is 168.
 * Each attachment is downloaded to be recognised, as a run would.
 */
export const maxMessagesChecked = 500;

/** An agent is expected to have uploaded within this long. */
export const agentUploadHours = 24;

/** How far back an agent's uploads are listed, so that a quiet agent's last upload can still be named. */
export const agentLookbackDays = 7;

const hourMs = 3_600_000;

const notOnLocalStack = 'not on the local stack';

const symbols: Record<CheckStatus, string> = { ok: '✓', fail: '✗', warn: '!', skip: '–' };

export function formatChecklist(heading: string, results: readonly CheckResult[]): string {
  const lines = [heading, ''];
  for (const result of results) {
    lines.push(`${symbols[result.status]} ${result.name}: ${result.detail}`);
    for (const item of result.items ?? []) lines.push(`    ${item}`);
    if (result.next && (result.status === 'fail' || result.status === 'warn')) lines.push(`    → ${result.next}`);
  }
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  lines.push(
    '',
    `${count('ok')} ✓, ${count('fail')} ✗, ${count('warn')} !, ${count('skip')} – (${results.length} checks)`,
    '',
  );
  return lines.join('\n');
}

/** 0 when nothing failed, 1 otherwise: warnings and checks not made do not fail. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/** The configuration, read and validated as every command reads it; its errors name the fields. */
export function checkConfiguration(path: string): { result: CheckResult; config?: Config } {
  try {
    const config = loadConfigFile(path);
    return {
      config,
      result: {
        name: 'Configuration',
        status: 'ok',
        detail: `${path}: ${config.exports.length} export types, time zone ${config.timeZone}`,
      },
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      result: {
        name: 'Configuration',
        status: 'fail',
        detail: error.message,
        next: `Correct the fields named above in ${path}; the other checks need a valid configuration`,
      },
    };
  }
}

/**
 * A token for the app, the mailbox, Mail.Read and the folder, by listing the folder's
 * messages of the last day exactly as collect lists them; the messages when all four hold.
 */
export async function checkMailbox(
  config: Config,
  mail: MailSource,
  now: number,
): Promise<{ results: CheckResult[]; messages?: MailMessage[] }> {
  const { user, folder, clientId, tenantId, secretName } = config.mailbox;
  const token = `Graph token for app ${clientId}`;
  const mailbox = `Mailbox ${user}`;
  const permission = `Mail.Read on ${user}`;
  const folderName = `Folder ${folder}`;
  const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
  const notChecked = (name: string, why: string): CheckResult => ({
    name,
    status: 'skip',
    detail: `not checked: ${why}`,
  });
  const window = { start: new Date(now - messageWindowHours * hourMs).toISOString(), end: new Date(now).toISOString() };
  try {
    const messages: MailMessage[] = [];
    for await (const message of mail.messages(window)) messages.push(message);
    return {
      messages,
      results: [
        ok(token, `issued in tenant ${tenantId}`),
        ok(mailbox, 'found'),
        ok(permission, 'granted: the folder was listed'),
        ok(folderName, `${messages.length} messages with attachments in the last ${messageWindowHours} hours`),
      ],
    };
  } catch (error) {
    const message = (error as Error).message;
    const issued = ok(token, `issued in tenant ${tenantId}`);
    if (error instanceof GraphError && error.code === 'FolderNotFound') {
      return {
        results: [
          issued,
          ok(mailbox, 'found'),
          ok(permission, 'granted'),
          {
            name: folderName,
            status: 'fail',
            detail: message,
            next: 'Set mailbox.folder to the path of the folder Genesys mail is filed in, from the mailbox root (e.g. Inbox/Genesys), or create that folder',
          },
        ],
      };
    }
    if (error instanceof GraphError && error.code === 'ErrorInvalidUser') {
      return {
        results: [
          issued,
          { name: mailbox, status: 'fail', detail: message, next: "Set mailbox.user to the mailbox's address" },
          notChecked(permission, 'no mailbox'),
          notChecked(folderName, 'no mailbox'),
        ],
      };
    }
    if (error instanceof GraphError && error.status === 403) {
      return {
        results: [
          issued,
          notChecked(mailbox, 'Graph denied access before telling'),
          {
            name: permission,
            status: 'fail',
            detail: message,
            next: 'Grant the app Mail.Read on this mailbox: docs/graph.md, "Give it Mail.Read on the one mailbox"',
          },
          notChecked(folderName, 'no access to the mailbox'),
        ],
      };
    }
    return {
      results: [
        {
          name: token,
          status: 'fail',
          detail: message,
          next: `Check mailbox.tenantId, mailbox.clientId and the credential in the Secrets Manager secret ${secretName}: docs/graph.md, "Store the credential"`,
        },
        notChecked(mailbox, 'no token'),
        notChecked(permission, 'no token'),
        notChecked(folderName, 'no token'),
      ],
    };
  }
}

/** What a run would do with each message of the last day: the export types it holds, or ignored and why. */
export async function checkMessages(
  env: Pick<DoctorEnvironment, 'mail' | 's3' | 'resources'>,
  config: Config,
  messages: readonly MailMessage[],
  now: number,
): Promise<CheckResult> {
  const name = `Messages of the last ${messageWindowHours} hours`;
  if (messages.length === 0) {
    return {
      name,
      status: 'warn',
      detail: `none with attachments in ${config.mailbox.folder}`,
      next: `Check that the Genesys export schedules mail ${config.mailbox.user} and that a mail rule files them into ${config.mailbox.folder}`,
    };
  }
  const checked = messages.slice(-maxMessagesChecked);
  let outcomes: FileOutcome[][];
  try {
    outcomes = await previewMessages(
      { config, s3: env.s3, resources: env.resources, mail: env.mail, now: () => now },
      checked,
    );
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail: `reading them failed: ${(error as Error).message}`,
      next: 'Run the check again: a throttled or dropped request passes on a later try; otherwise the message says what failed',
    };
  }
  const types = new Map<string, { messages: number; latest: string }>();
  const listed: string[] = [];
  let ignored = 0;
  const fixes = new Set<string>();
  let suspicious = 0;
  checked.forEach((message, i) => {
    const files = outcomes[i] ?? [];
    const found = [...new Set(files.flatMap((o) => ('type' in o ? [o.type] : [])))];
    const reasons = files.flatMap((o) =>
      o.kind === 'ignored'
        ? [o.reason]
        : o.kind === 'quarantined'
          ? [`unreadable, a run would keep it aside: ${o.reason}`]
          : [],
    );
    for (const o of files) {
      if (o.kind === 'quarantined' || (o.kind === 'ignored' && o.severity === 'suspicious')) suspicious++;
      if (o.kind === 'ignored' && o.fix) fixes.add(o.fix);
    }
    for (const type of found) {
      const seen = types.get(type);
      types.set(type, { messages: (seen?.messages ?? 0) + 1, latest: message.receivedAt });
    }
    if (found.length === 0) ignored++;
    // A message taken whole is counted under its types; one with anything left behind is listed with why.
    if (reasons.length > 0) {
      const verdict = [...(found.length > 0 ? [found.join(', ')] : []), `ignored: ${reasons.join('; ')}`].join('; ');
      listed.push(
        `${shortTime(message.receivedAt, config.timeZone)}  ${message.from ?? '(no sender)'}  "${message.subject}"  → ${verdict}`,
      );
    }
  });
  const collected = checked.length - ignored;
  const items = [
    ...[...types].map(
      ([type, seen]) =>
        `${type}: ${seen.messages} messages, the latest received ${shortTime(seen.latest, config.timeZone)}`,
    ),
    ...listed,
  ];
  if (messages.length > checked.length) items.push(`(${messages.length - checked.length} older messages not checked)`);
  // The changes the reasons name, then what to do with mail not meant to be collected.
  const fix = [
    ...[...fixes].slice(0, 3),
    'A message meant to be collected: change the rule its reason names (mailbox.senders, exports[].match); others can be filed out of the folder',
  ].join('; ');
  if (collected === 0 || suspicious > 0) {
    return {
      name,
      status: 'fail',
      detail:
        collected === 0
          ? `${checked.length} checked, none would be collected (times in ${config.timeZone})`
          : `${checked.length} checked: ${collected} would be collected, ${suspicious} files that look like exports would not (times in ${config.timeZone})`,
      items,
      next: fix,
    };
  }
  if (ignored > 0) {
    return {
      name,
      status: 'warn',
      detail: `${checked.length} checked: ${collected} would be collected, ${ignored} ignored (times in ${config.timeZone})`,
      items,
      next: fix,
    };
  }
  return {
    name,
    status: 'ok',
    detail: `${checked.length} checked, each would be collected (times in ${config.timeZone})`,
    items,
  };
}

/** The SES identity the reports are sent from: the address itself, or its domain, verified for sending. */
export async function checkSenderIdentity(ses: SESv2Client, from: string): Promise<CheckResult> {
  const name = `SES identity ${from}`;
  const domain = from.slice(from.lastIndexOf('@') + 1);
  const unverified: string[] = [];
  for (const identity of [from, domain]) {
    try {
      const found = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
      if (found.VerifiedForSendingStatus) return { name, status: 'ok', detail: `verified (${identity})` };
      unverified.push(`${identity} is ${found.VerificationStatus ?? 'not verified'}`);
    } catch (error) {
      if ((error as Error).name !== 'NotFoundException') throw error;
    }
  }
  if (unverified.length === 0) {
    return {
      name,
      status: 'fail',
      detail: `neither ${from} nor ${domain} is an SES identity in this account and region`,
      next: 'Deploy (npx cdk deploy): it creates the identity of delivery.from, and SES mails it a verification link',
    };
  }
  return {
    name,
    status: 'fail',
    detail: `not verified: ${unverified.join(', ')}`,
    next: `Open the verification link SES mailed to ${from} (the SES console resends it: Identities → ${from})`,
  };
}

/** Whether SES sends from this account at all, and to anyone (out of the sandbox). */
export async function checkSesAccount(ses: SESv2Client, config: Config): Promise<CheckResult> {
  const name = 'SES account';
  const account = await ses.send(new GetAccountCommand({}));
  if (account.SendingEnabled === false) {
    return {
      name,
      status: 'fail',
      detail: `sending is paused for this account (enforcement status ${account.EnforcementStatus ?? 'unknown'})`,
      next: 'See the SES console, Account dashboard: the reason and how to resume sending',
    };
  }
  if (!account.ProductionAccessEnabled) {
    const { to, cc, bcc, admins, intraday } = config.delivery;
    const recipients = [
      ...new Set([
        ...to,
        ...cc,
        ...bcc,
        ...admins,
        ...(intraday ? [...intraday.to, ...intraday.cc, ...intraday.bcc] : []),
      ]),
    ];
    return {
      name,
      status: 'fail',
      detail: `in the SES sandbox: mail reaches verified addresses only (${recipients.join(', ')} would each need verifying)`,
      next: 'Request production access: SES console → Account dashboard → Request production access',
    };
  }
  return { name, status: 'ok', detail: 'out of the sandbox, sending enabled' };
}

/** The configured run times and when each runs next, in the center's zone. */
export function checkNextRuns(config: Config, now: number): CheckResult {
  const { schedule, timeZone } = config;
  const items = runTimes(config).map(
    ({ label, time }) => `${label} ${time} → next ${localTime(nextLocal(time, timeZone, now), timeZone)}`,
  );
  if (!schedule.enabled) {
    return {
      name: 'Schedules',
      status: 'warn',
      detail: 'schedule.enabled is false: no run starts by itself',
      items,
      next: 'Set schedule.enabled to true and deploy',
    };
  }
  return { name: 'Schedules', status: 'ok', detail: `run times in ${timeZone}`, items };
}

/**
 * The deployed run schedules against the configuration: each configured time has an enabled
 * schedule in the center's zone. The stack's schedules are found among its resources, and
 * told apart by their cron fields and whether their input asks for an intraday run.
 */
export async function checkDeployedSchedules(
  aws: Pick<NonNullable<DoctorEnvironment['aws']>, 'cloudformation' | 'scheduler' | 'stackName'>,
  config: Config,
): Promise<CheckResult> {
  const name = 'Deployed schedules';
  const deployed: GetScheduleCommandOutput[] = [];
  for await (const page of paginateListStackResources({ client: aws.cloudformation }, { StackName: aws.stackName })) {
    for (const resource of page.StackResourceSummaries ?? []) {
      if (resource.ResourceType !== 'AWS::Scheduler::Schedule' || !resource.PhysicalResourceId) continue;
      const schedule = await aws.scheduler.send(new GetScheduleCommand({ Name: resource.PhysicalResourceId }));
      // Runs start the state machine; the run checks invoke a function.
      if (schedule.Target?.Arn?.includes(':states:')) deployed.push(schedule);
    }
  }
  const items: string[] = [];
  const problems: string[] = [];
  const matched = new Set<GetScheduleCommandOutput>();
  for (const { label, time, intraday } of runTimes(config)) {
    const schedule = deployed.find((s) => cronTime(s.ScheduleExpression) === time && isIntraday(s) === intraday);
    if (!schedule) {
      problems.push(`no deployed schedule for the ${label} ${time}`);
      continue;
    }
    matched.add(schedule);
    items.push(`${label} ${time}: ${schedule.Name} ${schedule.State} in ${schedule.ScheduleExpressionTimezone}`);
    if (schedule.ScheduleExpressionTimezone !== config.timeZone) {
      problems.push(`${schedule.Name} runs in ${schedule.ScheduleExpressionTimezone}, not ${config.timeZone}`);
    }
    if (config.schedule.enabled && schedule.State !== 'ENABLED') problems.push(`${schedule.Name} is ${schedule.State}`);
  }
  for (const schedule of deployed.filter((s) => !matched.has(s))) {
    problems.push(`${schedule.Name} (${schedule.ScheduleExpression}) is not in the configuration`);
  }
  if (problems.length > 0) {
    return {
      name,
      status: 'fail',
      detail: problems.join('; '),
      items,
      next: 'Deploy this configuration (npx cdk deploy): it creates, updates and removes the schedules to match',
    };
  }
  return { name, status: 'ok', detail: `${matched.size} run schedules match the configuration`, items };
}

/**
 * Each Windows agent that holds a token has uploaded lately: its newest object under the
 * agent inbox, whose keys sort by receipt time within the agent's folder.
 */
export async function checkAgentUploads(
  env: Pick<DoctorEnvironment, 's3' | 'dynamodb' | 'resources'>,
  config: Config,
  now: number,
): Promise<CheckResult> {
  const name = 'Agent uploads';
  const agents = (await listAgents({ dynamodb: env.dynamodb, table: env.resources.table })).filter(
    (agent) => !agent.revokedAt,
  );
  if (agents.length === 0) {
    return { name, status: 'skip', detail: 'no Windows agent has a token (mail is read through Graph only)' };
  }
  const items: string[] = [];
  const quiet: string[] = [];
  for (const { agentId } of agents) {
    const since = new Date(now - agentLookbackDays * 24 * hourMs).toISOString();
    // A key made of the cut-off time and an empty hash sorts before every later upload of the agent.
    const startAfter = agentInboxKey(config.agentInbox.prefix, agentId, since, '', '');
    let latest: { key: string; at: Date | undefined } | undefined;
    const listing = paginateListObjectsV2(
      { client: env.s3 },
      { Bucket: env.resources.dataBucket, Prefix: `${config.agentInbox.prefix}${agentId}/`, StartAfter: startAfter },
    );
    for await (const page of listing) {
      const last = page.Contents?.at(-1);
      if (last?.Key) latest = { key: last.Key, at: last.LastModified };
    }
    const at = latest?.at?.getTime();
    if (at === undefined) {
      quiet.push(agentId);
      items.push(`${agentId}: no upload in the last ${agentLookbackDays} days`);
    } else {
      if (now - at > agentUploadHours * hourMs) quiet.push(agentId);
      items.push(`${agentId}: last upload ${localTime(at, config.timeZone)} (${latest?.key})`);
    }
  }
  if (quiet.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `${quiet.join(', ')}: no upload in the last ${agentUploadHours} hours`,
      items,
      next: "On the agent's Windows machine, check its scheduled task and its log (docs/windows-agent.md); revoke the token of an agent that is gone",
    };
  }
  return {
    name,
    status: 'ok',
    detail: `${agents.length} agents uploaded in the last ${agentUploadHours} hours`,
    items,
  };
}

/** The stack's alarms in ALARM: CloudFormation names them after the stack. */
export async function checkAlarms(cloudwatch: CloudWatchClient, stackName: string): Promise<CheckResult> {
  const name = 'Alarms';
  const items: string[] = [];
  const pages = paginateDescribeAlarms(
    { client: cloudwatch },
    { AlarmNamePrefix: `${stackName}-`, StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
  );
  for await (const page of pages) {
    for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      items.push(
        `${alarm.AlarmName}: ${alarm.AlarmDescription ?? ''} (since ${alarm.StateUpdatedTimestamp?.toISOString() ?? '?'})`,
      );
    }
  }
  if (items.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `${items.length} in ALARM`,
      items,
      next: 'docs/operations.md says what each alarm means and what to do; an alarm returns to OK by itself once its metric does',
    };
  }
  return { name, status: 'ok', detail: 'none in ALARM' };
}

/** Every check, in the order a set-up is built; a configuration that does not load stops the rest. */
export async function runDoctor(
  configPath: string,
  /** The environment to check, or a failed check saying why there is none (e.g. no deployed stack). */
  connect: (config: Config) => Promise<DoctorEnvironment | CheckResult>,
  now: number,
): Promise<{ heading: string; results: CheckResult[] }> {
  const loaded = checkConfiguration(configPath);
  const { config } = loaded;
  if (!config) return { heading: 'charlie doctor', results: [loaded.result] };
  const env = await connect(config);
  if (!('mail' in env)) return { heading: 'charlie doctor', results: [loaded.result, env] };
  const results = [loaded.result];
  const mailbox = await checkMailbox(config, env.mail, now);
  results.push(...mailbox.results);
  if (mailbox.messages) results.push(await checkMessages(env, config, mailbox.messages, now));
  const skipped = (name: string): CheckResult => ({ name, status: 'skip', detail: notOnLocalStack });
  const { aws } = env;
  results.push(
    aws
      ? await guarded(`SES identity ${config.delivery.from}`, () => checkSenderIdentity(aws.ses, config.delivery.from))
      : skipped(`SES identity ${config.delivery.from}`),
    aws ? await guarded('SES account', () => checkSesAccount(aws.ses, config)) : skipped('SES account'),
    checkNextRuns(config, now),
    aws
      ? await guarded('Deployed schedules', () => checkDeployedSchedules(aws, config))
      : skipped('Deployed schedules'),
    await guarded('Agent uploads', () => checkAgentUploads(env, config, now)),
    aws ? await guarded('Alarms', () => checkAlarms(aws.cloudwatch, aws.stackName)) : skipped('Alarms'),
  );
  return { heading: `charlie doctor — ${env.description}`, results };
}

/** A check whose service call failed (denied, throttled, unreachable) fails with the service's message; the others still run. */
async function guarded(name: string, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail: `could not check: ${(error as Error).name}: ${(error as Error).message}`,
      next: 'Check that the AWS credentials in the shell may read this (see the error), and the region',
    };
  }
}

/** The runs the configuration schedules: the daily one, then the intraday ones. */
function runTimes(config: Config): { label: string; time: string; intraday: boolean }[] {
  return [
    { label: 'daily run', time: config.schedule.daily, intraday: false },
    ...[...new Set(config.schedule.intraday)].map((time) => ({ label: 'intraday run', time, intraday: true })),
  ];
}

/** The next instant after `now` at which the zone's clocks show `time` (HH:MM). */
function nextLocal(time: string, timeZone: string, now: number): number {
  const today = localDate(now, timeZone);
  for (let days = 0; ; days++) {
    const at = localToInstant(`${addDays(today, days)} ${time}:00`, timeZone);
    if (at !== undefined && at > now) return at;
  }
}

/** `03-09 06:00`: a received time in the center's zone, within a day or so of now. */
function shortTime(iso: string, timeZone: string): string {
  const local = instantToIso(Date.parse(iso), timeZone);
  return `${local.slice(5, 10)} ${local.slice(11, 16)}`;
}

/** `2026-03-09 06:00 (UTC-05:00)`. */
function localTime(instant: number, timeZone: string): string {
  const iso = instantToIso(instant, timeZone);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} (UTC${iso.slice(19)})`;
}

/** "06:05" from a Scheduler expression `cron(5 6 * * ? *)`. */
function cronTime(expression: string | undefined): string | undefined {
  const fields = /^cron\((\d+) (\d+) /.exec(expression ?? '');
  if (!fields) return undefined;
  return `${String(fields[2]).padStart(2, '0')}:${String(fields[1]).padStart(2, '0')}`;
}

function isIntraday(schedule: GetScheduleCommandOutput): boolean {
  try {
    return (JSON.parse(schedule.Target?.Input ?? '{}') as { intraday?: unknown }).intraday === true;
  } catch {
    return false;
  }
}
