import { readFileSync } from 'node:fs';
import { z } from 'zod';
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
         * table. Off by default; turned off and on again, delete digests/ first.
         */
        enabled: z.boolean().default(false),
      })
      .default({ enabled: false }),
    workbook: workbookSchema.default({ durations: 'excel', lateAfterMinutes: 90, kpis: {} }),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    const types = new Set(config.exports.map((spec) => spec.type));
    for (const [role, type] of Object.entries(config.workbook.kpis)) {
      if (type !== undefined && !types.has(type)) {
        ctx.addIssue({ code: 'custom', path: ['workbook', 'kpis', role], message: `"${type}" is not an export type` });
      }
    }
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
export type ConfigInput = z.input<typeof configSchema>;
export type ExportSpec = Config['exports'][number];
export type ColumnSpec = ExportSpec['columns'][number];

export class ConfigError extends Error {
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
