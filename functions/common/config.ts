import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CharlieError } from './errors.ts';
import { maxConfiguredTabCharacters, reservedTabNames, sameTabName, tabNameProblem } from './excel.ts';

/**
 * The one configuration of a deployment: `charlie.config.json` at the repository root.
 * CDK validates it at synth time and compiles the validated result into every function
 * (functions/common/bundled-config.ts), so functions carry no schema library; the local
 * runner validates it at start. Nothing else knows an export's columns.
 */

const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a local time as HH:MM');

const timeZone = z.string().refine(isTimeZone, { message: 'unknown IANA time zone' });

const regexSource = z.string().refine(isRegex, { message: 'not a valid regular expression' });

const email = z.email();

/**
 * A sender rule: an exact address, a domain (`@mypurecloud.com`) or a subdomain pattern
 * (`*.pure.cloud`, any depth, not the bare domain). functions/common/exports.ts applies them.
 */
const senderRule = z
  .string()
  .trim()
  .refine((rule) => /^(@|\*\.)[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(rule) || email.safeParse(rule).success, {
    message: 'expected an address (no-reply@mypurecloud.com), a domain (@mypurecloud.com) or *.domain (*.pure.cloud)',
  });

/**
 * The hosts of Genesys Cloud's regions, from which its scheduled exports are mailed, as the
 * Genesys platform SDK lists them (PureCloudRegionHosts:
 * https://app.unpkg.com/purecloud-platform-client-v2@223.0.0/files/src/purecloud-platform-client-v2/PureCloudRegionHosts.js).
 */
export const genesysRegionHosts = [
  'mypurecloud.com',
  'mypurecloud.ie',
  'mypurecloud.com.au',
  'mypurecloud.jp',
  'mypurecloud.de',
  'usw2.pure.cloud',
  'cac1.pure.cloud',
  'apne2.pure.cloud',
  'euw2.pure.cloud',
  'aps1.pure.cloud',
  'use2.us-gov-pure.cloud',
  'sae1.pure.cloud',
  'mec1.pure.cloud',
  'apne3.pure.cloud',
  'euc2.pure.cloud',
] as const;

/** The default senders: any address at a Genesys Cloud region's host or a subdomain of it. */
export const genesysSenders: readonly string[] = genesysRegionHosts.flatMap((host) => [`@${host}`, `*.${host}`]);

/**
 * A workbook tab: a name Excel takes, short enough for the continuation tabs of a long day
 * (`IB Calls (2)` … ` (99)`), not one the workbook writes itself.
 */
const tabName = z
  .string()
  .max(maxConfiguredTabCharacters, {
    message: `at most ${maxConfiguredTabCharacters} characters: Excel takes 31, and a type past a tab's rows continues on tabs named like "IB Calls (2)"`,
  })
  .superRefine((name, ctx) => {
    const problem = tabNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `an Excel tab name ${problem}` });
    const reserved = reservedTabNames.find((other) => sameTabName(other, name));
    if (reserved) ctx.addIssue({ code: 'custom', message: `"${reserved}" is a tab the workbook writes itself` });
    if (/ \(\d+\)$/.test(name)) {
      ctx.addIssue({ code: 'custom', message: 'must not end like a continuation tab, " (2)"' });
    }
  });

/** How a CSV cell is read and stored. */
export const valueKinds = ['datetime', 'duration_ms', 'count', 'flag', 'text'] as const;
export type ValueKind = (typeof valueKinds)[number];

/** How an export writes the decimal mark of its numbers. */
export const decimalSettings = ['auto', '.', ','] as const;
export type DecimalSetting = (typeof decimalSettings)[number];

const columnSchema = z.object({
  name: z.string().min(1),
  kind: z.enum(valueKinds),
});

export const exportSchema = z
  .object({
    /** Export type as Genesys names it, e.g. `IB_Calls`. */
    type: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'letters, digits and _ only'),
    /** Workbook tab, as the operator names it. */
    tab: tabName,
    /** The CSV header, in order; every column is required in a file. */
    columns: z.array(columnSchema).min(1),
    /** Columns that identify a row; `"*"` alone means the whole row. */
    identity: z.union([z.tuple([z.literal('*')]), z.array(z.string()).min(1)]),
    /** The column whose local date is the row's business date. */
    dateColumn: z.string(),
    /** A flag column (1.0) or a YES/NO column telling that the row's data is final. */
    completeColumn: z.string().optional(),
    /** Columns the operator copies, in workbook order. */
    operatorColumns: z.array(z.string()).min(1),
    /** Column letter where the operator pastes the leftmost column. */
    firstColumn: z
      .string()
      .regex(/^[A-Z]{1,2}$/)
      .default('A'),
    /** More columns shown to the right of the operator's, e.g. `Interval Start`, `Agent Id`. */
    extraColumns: z.array(z.string()).default([]),
    /**
     * The decimal mark of the export's numbers: `.`, `,` (with `.` between thousands, `1.234,5`),
     * or `auto`: `,` only where the file's delimiter is `;` or tab, so that a comma cannot
     * separate fields (functions/ingest/rows.ts `decimalReading`).
     */
    decimal: z.enum(decimalSettings).default('auto'),
    /** Matching rules for mail: case-insensitive regular expressions. */
    match: z.object({
      subject: regexSource.optional(),
      attachment: regexSource,
      /** Sender rules for this type alone (as mailbox.senders), instead of the mailbox's. */
      senders: z.array(senderRule).optional(),
    }),
  })
  .superRefine((spec, ctx) => {
    const names = new Set(spec.columns.map((c) => c.name));
    if (names.size !== spec.columns.length) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column names must be unique' });
    }
    const mustExist = (list: readonly string[], path: string) => {
      list.forEach((name, i) => {
        if (name !== '*' && !names.has(name)) {
          ctx.addIssue({ code: 'custom', path: [path, i], message: `"${name}" is not one of columns` });
        }
      });
    };
    mustExist(spec.identity, 'identity');
    mustExist(spec.operatorColumns, 'operatorColumns');
    mustExist(spec.extraColumns, 'extraColumns');
    spec.extraColumns.forEach((name, i) => {
      if (spec.operatorColumns.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['extraColumns', i], message: `"${name}" is already an operator column` });
      }
    });
    mustExist([spec.dateColumn], 'dateColumn');
    if (spec.completeColumn) mustExist([spec.completeColumn], 'completeColumn');
    // Completeness ranks the versions of a row: in its identity, a row completed later would be a second row.
    const complete = spec.completeColumn;
    if (complete !== undefined) {
      spec.identity.forEach((name, i) => {
        if (name === complete || name === '*') {
          ctx.addIssue({
            code: 'custom',
            path: ['identity', i],
            message: `holds the completeness column "${complete}", which ranks versions of a row and cannot identify it: list the identity's columns without it`,
          });
        }
      });
    }
    const dateKind = spec.columns.find((c) => c.name === spec.dateColumn)?.kind;
    if (dateKind && dateKind !== 'datetime') {
      ctx.addIssue({ code: 'custom', path: ['dateColumn'], message: 'must be a datetime column' });
    }
  });

const mailboxSchema = z.object({
  /** Mailbox user principal name or object id. */
  user: z.string().min(1),
  /** Folder path from the mailbox root, e.g. `Inbox/Genesys`. */
  folder: z.string().min(1),
  tenantId: z.string().min(1),
  clientId: z.string().min(1),
  /** Secrets Manager secret holding `{"clientSecret": "..."}` or `{"certificatePem": "...", "privateKeyPem": "..."}`. */
  secretName: z.string().min(1),
  graphBaseUrl: z.url().default('https://graph.microsoft.com/v1.0'),
  authorityHost: z.url().default('https://login.microsoftonline.com'),
  /** Exports received this long after midnight still count for the previous day. */
  graceMinutes: z.number().int().min(0).max(1440).default(120),
  /**
   * Sender rules accepted for every export type, unless a type lists its own: by default the
   * domains of Genesys Cloud's regions; an empty list accepts any sender.
   */
  senders: z.array(senderRule).default([...genesysSenders]),
  /**
   * Attachments larger than this are reported and not stored. Collect spools one at a time per
   * message it reads at once, so its ephemeral storage follows from it (lib/functions.ts).
   */
  maxAttachmentBytes: z
    .number()
    .int()
    .positive()
    .max(1024 * 1024 * 1024)
    .default(50 * 1024 * 1024),
  /**
   * What the zips of one message (or inbox file) may inflate to, all together: past a limit
   * inflating stops and the message is quarantined with the limit as its reason.
   */
  maxInflatedBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  /** Files in the zips of one message, all together. */
  maxZipEntries: z.number().int().positive().default(1_000),
  /** Past the first 16 MiB, the inflated bytes may be at most this many times the zipped bytes read. */
  maxInflateRatio: z.number().int().min(1).default(200),
  /** Folder path messages are moved to once all their exports are stored; needs Mail.ReadWrite. Off when absent. */
  moveProcessedTo: z.string().min(1).optional(),
  /** S3 prefix of saved `.eml` files (backfills), collected like the mailbox. */
  savedMailPrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9/_-]*\/$/, 'a key prefix ending in /')
    .default('inbox/eml/'),
});

/** The longest a download link may work (30 days), configured or asked for by `charlie link --hours`. */
export const maxLinkExpiryHours = 24 * 30;

const deliverySchema = z.object({
  from: email,
  to: z.array(email).min(1),
  cc: z.array(email).default([]),
  bcc: z.array(email).default([]),
  /** Receives failure notices. */
  admins: z.array(email).min(1),
  subject: z.string().default('Charlie intraday report {date}'),
  /** The workbook is attached when it is at most this size; a link is always sent. */
  attachMaxBytes: z
    .number()
    .int()
    .min(0)
    .default(10 * 1024 * 1024),
  /** How long a download link works; rotating the link key ends every link sooner. */
  linkExpiryHours: z.number().int().min(1).max(maxLinkExpiryHours).default(168),
  /**
   * Who gets the reports of a day not over yet (intraday schedules, runs for today) and their
   * subject; default: to, cc, bcc and subject above.
   */
  intraday: z
    .object({
      to: z.array(email).min(1),
      cc: z.array(email).default([]),
      bcc: z.array(email).default([]),
      subject: z.string().optional(),
    })
    .optional(),
});

const workbookSchema = z.object({
  /** `excel`: millisecond durations become Excel durations shown [h]:mm:ss; `milliseconds`: raw numbers, for formulas that expect them. */
  durations: z.enum(['excel', 'milliseconds']).default('excel'),
  /** An export type whose latest data is this much older than the newest of any type is flagged late. */
  lateAfterMinutes: z.number().int().min(1).default(90),
  /** The export types the Summary's agent KPIs come from: calls (Handle, Avg Handle), dials (also Avg and Total Talk/Hold/ACW), agent status (Logged In, On Queue, Interacting). */
  kpis: z
    .object({ calls: z.string().optional(), dials: z.string().optional(), agentStatus: z.string().optional() })
    .default({}),
});

/**
 * The web console (lib/console.ts): a Cognito user pool by default, or another OIDC issuer
 * (Entra ID) named by `issuer` and `audience`. Roles come from `roleClaim`: a user in one of
 * `operatorGroups` is an operator, in one of `viewerGroups` a viewer.
 */
const consoleSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Shown in the console's header. */
    centerName: z.string().min(1).default('Contact center'),
    /** Cognito users invited at deploy, each in its group. */
    users: z.array(z.object({ email, role: z.enum(['viewer', 'operator']) })).default([]),
    /** Cognito multi-factor authentication. */
    mfa: z.enum(['off', 'optional', 'required']).default('optional'),
    /** Another OIDC issuer instead of Cognito (e.g. `https://login.microsoftonline.com/<tenant>/v2.0`). */
    issuer: z.url().optional(),
    /** The access tokens' audience the API accepts (with `issuer`): e.g. the Entra app's Application ID URI or client id. */
    audience: z.string().min(1).optional(),
    /** The console's client id at that issuer (with `issuer`). */
    clientId: z.string().min(1).optional(),
    /** Scopes the console asks for (with `issuer`), e.g. `["openid", "profile", "api://charlie/console"]`. */
    scopes: z.array(z.string().min(1)).optional(),
    /** The claim holding the user's groups or roles. */
    roleClaim: z.string().min(1).default('cognito:groups'),
    operatorGroups: z.array(z.string().min(1)).min(1).default(['operator']),
    viewerGroups: z.array(z.string().min(1)).min(1).default(['viewer']),
    /** The Cognito managed login domain prefix (`<prefix>.auth.<region>.amazoncognito.com`); default `<name>-console-<account>`. */
    domainPrefix: z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and - only')
      .optional(),
    /** API requests per second across users, and the burst above it. */
    throttle: z
      .object({
        rate: z.number().min(1).max(10_000).default(20),
        burst: z.number().int().min(1).max(5_000).default(40),
      })
      .default({ rate: 20, burst: 40 }),
    /** How long a presigned workbook URL works, in seconds. */
    downloadSeconds: z.number().int().min(10).max(3_600).default(300),
  })
  .superRefine((section, ctx) => {
    if (section.issuer && (!section.audience || !section.clientId)) {
      ctx.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: 'another OIDC issuer needs console.audience and console.clientId too',
      });
    }
    if (!section.issuer && (section.audience || section.clientId)) {
      ctx.addIssue({
        code: 'custom',
        path: ['audience'],
        message: 'console.audience and console.clientId are for another OIDC issuer: set console.issuer too',
      });
    }
  });

/** Placeholders a SharePoint folder or file name may hold, filled in from the run's date and workbook. */
export const sharepointPlaceholders = ['{yyyy}', '{mm}', '{dd}', '{date}', '{workbook}'] as const;

/** Characters SharePoint refuses in a file or folder name. */
const sharepointForbidden = /["*:<>?\\|#%]/;

/**
 * A copy of each workbook in a SharePoint (or OneDrive) document library, uploaded by Deliver
 * through Microsoft Graph with the mailbox's app registration and secret (Sites.Selected, write
 * on this one site: docs/graph.md). Off when absent.
 */
const sharepointSchema = z
  .object({
    /** The site's Graph id (`contoso.sharepoint.com,<site guid>,<web guid>`), or … */
    siteId: z.string().min(1).optional(),
    /** … its host name and server-relative path: `contoso.sharepoint.com` and `/sites/Reporting`. */
    hostname: z
      .string()
      .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'a host name such as contoso.sharepoint.com')
      .optional(),
    sitePath: z
      .string()
      .regex(/^\/[^?#]*[^/]$/, 'a server-relative path such as /sites/Reporting')
      .optional(),
    /** The document library's drive id, or its name as Graph lists the site's drives (`Documents`); default: the site's default library. */
    driveId: z.string().min(1).optional(),
    library: z.string().min(1).optional(),
    /** The folder in the library, `/`-separated; `{yyyy}`, `{mm}`, `{dd}` and `{date}` are the business day's. */
    folder: z.string().default('Charlie/{yyyy}/{mm}'),
    /** The file's name; `{workbook}` is the workbook's own (Charlie-Intraday-YYYY-MM-DD.xlsx). */
    fileName: z.string().min(1).default('{workbook}'),
  })
  .superRefine((sharepoint, ctx) => {
    const byName = sharepoint.hostname !== undefined || sharepoint.sitePath !== undefined;
    if ((sharepoint.siteId !== undefined) === byName || (byName && !(sharepoint.hostname && sharepoint.sitePath))) {
      ctx.addIssue({ code: 'custom', message: 'name the site by siteId, or by hostname and sitePath (not both)' });
    }
    if (sharepoint.driveId !== undefined && sharepoint.library !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['library'],
        message: 'name the library by driveId or by library, not both',
      });
    }
    for (const key of ['folder', 'fileName'] as const) {
      const names = sharepoint[key].split('/');
      const bad = names.find((name, i) => (key === 'fileName' || i > 0 || name !== '') && !validName(name));
      if (key === 'fileName' ? names.length > 1 || bad !== undefined : bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key === 'fileName' ? 'a file name' : 'folder names separated by /'}, without " * : < > ? \\ | # % and not ending in a dot or space`,
        });
      }
    }
  });

function validName(name: string): boolean {
  return name.trim() !== '' && !sharepointForbidden.test(name) && !/[. ]$/.test(name);
}
/** The figures an alert rule watches, per completed hour of its export type (docs/delivery.md#threshold-alerts). */
export const alertMetrics = ['handled', 'avgHandleSeconds', 'onQueuePercent', 'rejectedRows'] as const;
export type AlertMetric = (typeof alertMetrics)[number];

/** The columns each metric reads from the rule's export type. */
export const alertMetricColumns: Record<AlertMetric, readonly string[]> = {
  handled: [],
  avgHandleSeconds: ['Handle', 'Avg Handle'],
  onQueuePercent: ['Logged In', 'On Queue'],
  rejectedRows: [],
};

/** The most rules a configuration may hold: each rule's day travels in the state payload (contracts.ts AlertsStatus). */
export const maxAlertRules = 20;

const alertRuleSchema = z
  .object({
    /** Unique; names the rule in the email, the card and the Summary. */
    name: z.string().min(1).max(60),
    /** The export type whose hourly figures it watches. */
    type: z.string(),
    metric: z.enum(alertMetrics),
    /** Fires when the hour's figure is below this value… */
    below: z.number().optional(),
    /** …or above it; exactly one of the two. */
    above: z.number().optional(),
    /** Local hours it covers: those starting at or after `from` and before `to` (default the whole day). */
    hours: z.object({ from: timeOfDay, to: timeOfDay }).optional(),
    /** No firing for an hour with fewer agents in the type's rows. */
    minAgents: z.number().int().min(0).default(0),
    /** No firing for an hour with a smaller volume (interactions handled where the type has Handle, else rows). */
    minVolume: z.number().int().min(0).default(0),
  })
  .superRefine((rule, ctx) => {
    if ((rule.below === undefined) === (rule.above === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "below" and "above"' });
    }
    if (rule.hours && rule.hours.from >= rule.hours.to) {
      ctx.addIssue({ code: 'custom', path: ['hours'], message: '"from" must be before "to"' });
    }
  });

export type AlertRule = z.infer<typeof alertRuleSchema>;

const alertsSchema = z.object({
  /** Who is emailed the firings and recoveries; default delivery.admins. */
  recipients: z.array(email).min(1).optional(),
  rules: z.array(alertRuleSchema).max(maxAlertRules, { message: `at most ${maxAlertRules} rules` }),
});

/** Posts to a Teams channel through a Workflows webhook whose URL is kept in Secrets Manager. */
const teamsSchema = z.object({
  /** The Secrets Manager secret holding `{"url":"https://…"}`, the webhook of a "When a Teams webhook request is received" workflow. */
  webhookSecretName: z.string().min(1),
  /** A summary card after each report is emailed. */
  postSummary: z.boolean().default(true),
  /** Alert firings and recoveries. */
  postAlerts: z.boolean().default(true),
  /** Failed executions. */
  postFailures: z.boolean().default(true),
});

export const configSchema = z
  .object({
    /** Short name used in resource names and the email subject. */
    name: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,30}$/, 'lower-case letters, digits and - only')
      .default('charlie'),
    timeZone,
    schedule: z.object({
      /** Local time of the daily run that reports the day before. */
      daily: timeOfDay,
      /** Extra local times that report the day so far. */
      intraday: z.array(timeOfDay).default([]),
      enabled: z.boolean().default(true),
      /** Minutes after each scheduled time by which a run must have succeeded, or the `RunLate` alarm goes off. */
      lateAfterMinutes: z.number().int().min(5).max(720).default(60),
    }),
    mailbox: mailboxSchema,
    agentInbox: z
      .object({
        /** S3 prefix where the Windows agent (or an operator) puts files. */
        prefix: z
          .string()
          .regex(/^[a-z0-9][a-z0-9/_-]*\/$/, 'a key prefix ending in /')
          .default('inbox/agent/'),
      })
      .default({ prefix: 'inbox/agent/' }),
    exports: z.array(exportSchema).min(1),
    delivery: deliverySchema,
    endpoints: z
      .object({
        /**
         * Concurrent executions reserved for, and the most taken by, each public function URL
         * (download links, the agent endpoint): a flood of requests is throttled there (429) and
         * cannot take the account's concurrency from the pipeline. Reserving needs headroom in the
         * account's concurrency quota; `null` reserves none, for an account without it.
         */
        reservedConcurrency: z.number().int().min(1).max(100).nullable().default(5),
      })
      .default({ reservedConcurrency: 5 }),
    storage: z
      .object({
        /** Write shards per export type and day: spreads a day's writes over partitions. */
        shards: z.number().int().min(1).max(64).default(8),
        /**
         * Days the day's data is kept: stored rows after their business date (DynamoDB TTL), raw
         * files, rejects and exclusion marks after they were written (S3 lifecycle).
         */
        keepDays: z.number().int().min(1).default(400),
      })
      .default({ shards: 8, keepDays: 400 }),
    rowDigests: z
      .object({
        /**
         * Ingest decides rows against a snapshot of what is stored for the day and type, kept in
         * S3 under digests/ (functions/ingest/digests.ts), instead of reading each row from the
         * table. Turned off and on again, delete digests/ first.
         */
        enabled: z.boolean().default(true),
      })
      .default({ enabled: true }),
    workbook: workbookSchema.default({ durations: 'excel', lateAfterMinutes: 90, kpis: {} }),
    /** The web console; absent: none is deployed (the local stack serves one with --serve either way). */
    console: consoleSchema.optional(),
    sharepoint: sharepointSchema.optional(),
    /** Threshold alerts on the hourly figures; off when absent. */
    alerts: alertsSchema.optional(),
    /** A Teams channel for summary cards, alerts and failures; off when absent. */
    teams: teamsSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    const types = new Set(config.exports.map((spec) => spec.type));
    for (const [role, type] of Object.entries(config.workbook.kpis)) {
      if (type !== undefined && !types.has(type)) {
        ctx.addIssue({ code: 'custom', path: ['workbook', 'kpis', role], message: `"${type}" is not an export type` });
      }
    }
    config.alerts?.rules.forEach((rule, i) => {
      const path = ['alerts', 'rules', i];
      const spec = config.exports.find((e) => e.type === rule.type);
      if (!spec) {
        ctx.addIssue({ code: 'custom', path: [...path, 'type'], message: `"${rule.type}" is not an export type` });
      } else {
        const missing = alertMetricColumns[rule.metric].filter((name) => !spec.columns.some((c) => c.name === name));
        if (missing.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'metric'],
            message: `${rule.metric} needs the columns ${missing.join(', ')}, which ${rule.type} does not have`,
          });
        }
      }
      if (config.alerts?.rules.findIndex((other) => other.name === rule.name) !== i) {
        ctx.addIssue({ code: 'custom', path: [...path, 'name'], message: 'names another rule too' });
      }
    });
    config.exports.forEach((spec, i) => {
      const first = seen.get(spec.type.toLowerCase());
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['exports', i, 'type'], message: `duplicates exports[${first}]` });
      }
      seen.set(spec.type.toLowerCase(), i);
      const sameTab = config.exports.findIndex((other) => sameTabName(other.tab, spec.tab));
      if (sameTab < i) {
        ctx.addIssue({
          code: 'custom',
          path: ['exports', i, 'tab'],
          message: `duplicates exports[${sameTab}] (Excel compares tab names ignoring case)`,
        });
      }
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ConsoleConfig = z.infer<typeof consoleSchema>;

/** The console's settings when the configuration has no console section (the local stack serves one anyway). */
export function consoleDefaults(): ConsoleConfig {
  return consoleSchema.parse({});
}
export type ConfigInput = z.input<typeof configSchema>;
export type SharePointConfig = NonNullable<Config['sharepoint']>;
export type ExportSpec = Config['exports'][number];
export type ColumnSpec = ExportSpec['columns'][number];

export class ConfigError extends CharlieError {
  override name = 'ConfigError';
}

/** Validates parsed JSON; the error names every bad field by its path. */
export function parseConfig(value: unknown, source = 'configuration'): Config {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
  throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}`);
}

export function parseConfigText(text: string, source = 'configuration'): Config {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Invalid ${source}: not JSON (${(error as Error).message})`);
  }
  return parseConfig(value, source);
}

export const defaultConfigPath = 'charlie.config.json';

export function loadConfigFile(path = defaultConfigPath): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read configuration ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function isRegex(value: string): boolean {
  try {
    new RegExp(value, 'i');
    return true;
  } catch {
    return false;
  }
}
