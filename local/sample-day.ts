import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Config, ExportSpec } from '../functions/common/config.ts';
import { acceptedAddress } from '../functions/common/exports.ts';
import { dayWindow, instantToIso } from '../functions/common/time.ts';
import { ZipWriter } from '../functions/workbook/zip.ts';

/**
 * A realistic day of Genesys exports for the local pipeline and the tests: every export
 * type mailed hourly, each CSV holding the day so far in hourly intervals (the current one
 * incomplete, the earlier ones repeated unchanged), blank padding rows after the data, some
 * files written by Windows tooling (BOM, CRLF), late and out-of-order mail, a resent export,
 * and one unrelated newsletter. The same seed gives the same bytes. A scale sets the agents,
 * the interval length, how often each type is exported and which types and hours the day has.
 */

/** How big a generated day is. */
export interface SampleScale {
  /** Agents working the day; the first twelve are named as in `agentNames`. */
  agents: number;
  /** The length of an export's intervals, in minutes (a divisor of 60). */
  intervalMinutes: number;
  /** Minutes between two exports of a type (a multiple of the interval length). */
  cadenceMinutes: number;
  /** Only the first hours of the day (none: the whole day); the whole-day re-export follows them. */
  hours?: number;
  /** The export types mailed (none: every configured type). */
  types?: string[];
  /** Attachments zipped, as Genesys mails large exports. */
  zip: boolean;
}

/** The named days `npm start -- --scenario NAME` generates. */
export const scenarios = {
  /** A small center: twelve agents, hourly intervals. */
  sample: { agents: 12, intervalMinutes: 60, cadenceMinutes: 60, zip: false },
  /** A large center: 1,000 agents, 15-minute intervals, hourly exports holding the day so far. */
  large: { agents: 1000, intervalMinutes: 15, cadenceMinutes: 60, zip: true },
} as const satisfies Record<string, SampleScale>;

export type ScenarioName = keyof typeof scenarios;

export function isScenario(name: string): name is ScenarioName {
  return Object.hasOwn(scenarios, name);
}

export interface SampleDayOptions {
  config: Config;
  /** Business date `YYYY-MM-DD`. */
  date: string;
  dir: string;
  seed?: number;
  /** Default: the `sample` scenario. */
  scale?: SampleScale;
  /** Told as each file is written. */
  onProgress?: (done: number, total: number) => void;
}

/** What a generated day holds, per export type: distinct files (by content), their data rows, and the distinct rows (by identity) among them. */
export interface SampleTypeCounts {
  files: number;
  rows: number;
  distinct: number;
}

export interface SampleDay {
  emails: SampleEmail[];
  types: Record<string, SampleTypeCounts>;
}

export interface SampleEmail {
  /** The `.eml` file written. */
  file: string;
  subject: string;
  from: string;
  /** ISO instants: the Date header, and the newest Received header. */
  sentAt: string;
  receivedAt: string;
  /** The CSV (inside the zip when zipped): its name, type, hash and size. */
  attachment?: { name: string; type: string; sha256: string; bytes: number; zipped?: boolean };
}

/** One export as Genesys makes it; its CSV is made when it is written, so a large day is never all in memory. */
interface SampleExport {
  type: string;
  /** Scheduled local time, as the attachment name carries it. */
  scheduled: string;
  /** When it was made (the mail's Date), epoch ms. */
  exportedAt: number;
  content(): Buffer;
}

const defaultSeed = 20260309;
const hourMs = 3_600_000;

/** The agents of the generated day: their names are the PII the logs must never carry. */
export const agentNames = [
  'José Peña',
  'Zoë Müller',
  'Aaliyah Johnson',
  'Marcus Thompson',
  'Priya Raman',
  'Diego Hernández',
  'Emily Carter',
  'Kwame Mensah',
  'Sofia Rossi',
  "Liam O'Brien",
  'Mei Chen',
  'Noah Williams',
];

const filtersByType: Record<string, string> = {
  IB_Calls:
    'Initial Direction: Inbound; Queue: LLSA-IB-DM; Queue: LLSA-IB-Spanish; Queue: LLSA-IB-Overflow; Media Type: voice',
  QCBS: 'Initial Direction: Outbound; Queue: LLSA-QCB-DM; Queue: LLSA-QCB-Spanish; Media Type: callback',
  ACQ: 'Initial Direction: Inbound; Queue: LLSA-ACQ-DM',
  RESC: 'Initial Direction: Inbound; Queue: LLSA-RESC-DM; Queue: LLSA-RESC-Spanish',
  Dials: 'Initial Direction: Outbound; Queue: LLSA-DIAL-DM; Campaign: LLSA Spring Outreach; Media Type: voice',
  Productivity: '',
  Campaign_Interactions: 'Campaign: LLSA Spring Outreach; Initial Direction: Inbound; Wrap-up: Any',
};

const campaignQueues = ['LLSA-ACQ-DM', 'LLSA-RESC-DM', 'LLSA-IB-DM'];

/** Types written by Windows tooling: UTF-8 with BOM and CRLF line ends. */
const windowsTypes = new Set(['Dials', 'Productivity']);

/** The type re-exported for the whole day shortly after midnight (within the grace period). */
const lateType = 'IB_Calls';

/** Writes the day's mail as `.eml` files into `dir`, one CSV attachment per export. */
export async function writeSampleMailbox(options: SampleDayOptions): Promise<SampleEmail[]> {
  return (await writeSampleDay(options)).emails;
}

/** Writes the day's mail as `.eml` files into `dir`, and tells what the day holds. */
export async function writeSampleDay(options: SampleDayOptions): Promise<SampleDay> {
  const { config, date, dir } = options;
  const seed = options.seed ?? defaultSeed;
  const random = prng(`${seed}/mail`);
  const { exports, counts } = sampleExports(config, date, seed, options.scale ?? scenarios.sample);
  const zip = options.scale?.zip === true;
  await mkdir(dir, { recursive: true });

  const mails: { compose: MailPlan; sentAt: number; receivedAt: number; sample: Omit<SampleEmail, 'file'> }[] = [];
  // Two exports arrive more than an hour late, after the next hour's export.
  const lateIndexes = new Set([Math.floor(exports.length * 0.3), Math.floor(exports.length * 0.6)]);
  exports.forEach((exp, i) => {
    // Mail headers carry whole seconds.
    const sentAt = wholeSeconds(exp.exportedAt + random() * 20_000);
    const delay = lateIndexes.has(i) ? 70 * 60_000 + random() * 600_000 : 5_000 + random() * 85_000;
    const receivedAt = wholeSeconds(sentAt + delay);
    mails.push(exportMail(config, exp, sentAt, receivedAt, random));
  });
  // Genesys occasionally sends an export twice: the same attachment in a second message.
  const resent = exports.find((e) => e.type === 'Dials' && e.scheduled.endsWith(' 14:00')) ?? exports[0];
  if (resent) {
    const sentAt = wholeSeconds(resent.exportedAt + 4 * 60_000);
    mails.push(exportMail(config, resent, sentAt, sentAt + 30_000, random));
  }
  mails.push(newsletter(config, dayWindow(date, config.timeZone).start + 10 * hourMs + 17 * 60_000, random));

  mails.sort((a, b) => a.receivedAt - b.receivedAt);
  const emails: SampleEmail[] = [];
  for (const [i, mail] of mails.entries()) {
    const { attachments, attachment } = await mail.compose.attachments(zip);
    const raw = await new MailComposer({
      ...mail.compose.message,
      attachments,
      date: new Date(mail.sentAt),
      baseBoundary: hex(random, 24),
      headers: receivedHeaders(mail.receivedAt),
    })
      .compile()
      .build();
    const file = join(dir, `${String(i + 1).padStart(3, '0')}-${fileStamp(mail.receivedAt)}.eml`);
    await writeFile(file, raw);
    emails.push({ file, ...mail.sample, ...(attachment ? { attachment } : {}) });
    options.onProgress?.(i + 1, mails.length);
  }
  return { emails, types: counts };
}

/** Writes the day's exports as the old tool saved them: `<Type>__YYYY-MM-DD_HHMM.csv`, for the agent inbox. */
export async function writeSampleInbox(options: SampleDayOptions): Promise<string[]> {
  const { config, date, dir } = options;
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const { exports } = sampleExports(config, date, options.seed ?? defaultSeed, options.scale ?? scenarios.sample);
  for (const exp of exports) {
    const file = join(dir, `${exp.type}__${exp.scheduled.replace(' ', '_').replace(':', '')}.csv`);
    await writeFile(file, exp.content());
    files.push(file);
  }
  return files;
}

type MailComposerInput = NonNullable<ConstructorParameters<typeof MailComposer>[0]>;
type MailAttachments = NonNullable<MailComposerInput['attachments']>;

/** A message to compose; its attachments are made when it is written. */
interface MailPlan {
  message: Omit<MailComposerInput, 'attachments'>;
  attachments(zip: boolean): Promise<{ attachments: MailAttachments; attachment?: SampleEmail['attachment'] }>;
}

function exportMail(config: Config, exp: SampleExport, sentAt: number, receivedAt: number, random: () => number) {
  const spec = config.exports.find((e) => e.type === exp.type) as ExportSpec;
  const from = acceptedAddress(spec.match.senders ?? config.mailbox.senders);
  const subject = `Scheduled export: ${exp.type}`;
  const name = `${exp.type}_${exp.scheduled.replace(' ', '_').replace(':', '')}.csv`;
  const compose: MailPlan = {
    message: {
      from: { name: 'Genesys Cloud', address: from },
      to: config.mailbox.user,
      subject,
      messageId: `<${uuid(random)}@mypurecloud.com>`,
      text: `Your scheduled export "${exp.type}" ran at ${exp.scheduled}. The results are attached.\n`,
    },
    async attachments(zip) {
      const content = exp.content();
      const attachment = {
        name,
        type: exp.type,
        sha256: createHash('sha256').update(content).digest('hex'),
        bytes: content.byteLength,
        ...(zip ? { zipped: true } : {}),
      };
      const attached = zip
        ? {
            filename: name.replace(/\.csv$/, '.zip'),
            content: await zipped(name, content, new Date(exp.exportedAt)),
            contentType: 'application/zip',
          }
        : { filename: name, content, contentType: 'text/csv' };
      return { attachments: [attached], attachment };
    },
  };
  return {
    sentAt,
    receivedAt,
    compose,
    sample: { subject, from, sentAt: new Date(sentAt).toISOString(), receivedAt: new Date(receivedAt).toISOString() },
  };
}

/** A zip of one CSV, deflated as the workbook is (Node's zlib), fast enough for a large day's files. */
async function zipped(name: string, content: Buffer, modified: Date): Promise<Buffer> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const zip = new ZipWriter(output, { level: 1, modified });
  const entry = zip.entry(name);
  await entry.write(content);
  await entry.end();
  await zip.end();
  return Buffer.concat(chunks);
}

/** Unrelated mail in the folder: an inline banner image and a PDF, no CSV. */
function newsletter(config: Config, sentAt: number, random: () => number) {
  const from = 'news@contoso-insights.example';
  const subject = 'Contact center trends: the March edition';
  const attachments: MailAttachments = [
    { filename: 'banner.png', content: onePixelPng, contentType: 'image/png', cid: 'banner@contoso-insights' },
    {
      filename: 'March-trends.pdf',
      content: Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n', 'latin1'),
      contentType: 'application/pdf',
    },
  ];
  const compose: MailPlan = {
    message: {
      from: { name: 'Contoso Insights', address: from },
      to: config.mailbox.user,
      subject,
      messageId: `<${uuid(random)}@contoso-insights.example>`,
      html: '<p><img src="cid:banner@contoso-insights" alt="Contoso Insights"></p><p>This month: staffing for spring peaks.</p>',
      text: 'This month: staffing for spring peaks.',
    },
    attachments: async () => ({ attachments }),
  };
  return {
    sentAt,
    receivedAt: sentAt + 40_000,
    compose,
    sample: {
      subject,
      from,
      sentAt: new Date(sentAt).toISOString(),
      receivedAt: new Date(sentAt + 40_000).toISOString(),
    },
  };
}

const onePixelPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Exchange adds a Received header at each hop, newest on top. */
function receivedHeaders(receivedAt: number): { key: string; value: string }[] {
  return [
    {
      key: 'Received',
      value: `from SA1PR04MB8044.namprd04.prod.outlook.com (2603:10b6:806:2f1::9) by DM6PR04MB6362.namprd04.prod.outlook.com with HTTPS; ${rfc2822(receivedAt)}`,
    },
    {
      key: 'Received',
      value: `from mail-usw2.mypurecloud.com (52.34.118.9) by SA1PR04MB8044.mail.protection.outlook.com (10.167.241.29) with Microsoft SMTP Server; ${rfc2822(receivedAt - 3_000)}`,
    },
  ];
}

/**
 * Every export of the day: each type every `cadenceMinutes` from then on through the day (the
 * sample: hourly from 01:00 to 23:00 local), and one whole-day export after midnight. Complete
 * intervals repeat unchanged in every later export, so their lines are made once.
 */
function sampleExports(
  config: Config,
  date: string,
  seed: number,
  scale: SampleScale,
): { exports: SampleExport[]; counts: Record<string, SampleTypeCounts> } {
  const { timeZone } = config;
  const window = dayWindow(date, timeZone);
  const end = scale.hours === undefined ? window.end : Math.min(window.end, window.start + scale.hours * hourMs);
  const intervalMs = scale.intervalMinutes * 60_000;
  const cadenceMs = scale.cadenceMinutes * 60_000;
  if (hourMs % intervalMs !== 0 || cadenceMs % intervalMs !== 0) {
    throw new Error(
      `The interval (${scale.intervalMinutes} min) must divide an hour and the cadence (${scale.cadenceMinutes} min)`,
    );
  }
  const hours: number[] = [];
  for (let at = window.start; at < end; at += hourMs) hours.push(at);
  const intervals: number[] = [];
  for (let at = window.start; at < end; at += intervalMs) intervals.push(at);
  const agents = sampleAgents(scale.agents, seed);
  const campaign = campaignInteractions(hours, agents, timeZone, seed);
  const random = prng(`${seed}/schedule`);
  const specs = scale.types ? config.exports.filter((e) => scale.types?.includes(e.type)) : config.exports;

  const counts: Record<string, SampleTypeCounts> = {};
  const exports: SampleExport[] = [];
  const day: Day = {
    intervals,
    intervalMs,
    agents,
    campaign,
    timeZone,
    seed,
    complete: new Map(),
    distinct: new Map(),
    files: new Set(),
    counts,
  };
  for (const spec of specs) counts[spec.type] = { files: 0, rows: 0, distinct: 0 };
  for (let scheduledAt = window.start + cadenceMs; scheduledAt < end; scheduledAt += cadenceMs) {
    const current = (scheduledAt - window.start) / intervalMs;
    for (const spec of specs) {
      const exportedAt = scheduledAt + 60_000 + Math.floor(random() * 10 * 60_000);
      exports.push(planExport(day, spec, current, scheduledAt, exportedAt));
    }
  }
  const lateSpec = specs.find((e) => e.type === lateType) ?? specs[0];
  if (lateSpec) {
    const scheduledAt = end + 30 * 60_000;
    exports.push(planExport(day, lateSpec, intervals.length, scheduledAt, scheduledAt + 45_000));
  }
  return { exports: exports.sort((a, b) => a.exportedAt - b.exportedAt), counts };
}

interface Agent {
  name: string;
  id: string;
}

/** The first twelve agents are named as in `agentNames`; the others take those names' first and last names in new pairs. */
function sampleAgents(count: number, seed: number): Agent[] {
  const first = agentNames.map((name) => name.slice(0, name.indexOf(' ')));
  const last = agentNames.map((name) => name.slice(name.indexOf(' ') + 1));
  return Array.from({ length: count }, (_, i) => {
    const n = agentNames.length;
    const generated = `${first[i % n]} ${String.fromCharCode(65 + (Math.floor(i / (n * n)) % 26))}. ${last[Math.floor(i / n) % n]}`;
    return { name: agentNames[i] ?? generated, id: uuid(prng(`${seed}/agent/${i}`)) };
  });
}

interface Interaction {
  at: number;
  cells: string[];
}

interface Day {
  intervals: number[];
  intervalMs: number;
  agents: Agent[];
  campaign: Interaction[];
  timeZone: string;
  seed: number;
  /** The CSV text of each type's complete intervals, made once: every later export repeats it. */
  complete: Map<string, { text: string; rows: number }>;
  /** Per type, the identities of the rows made so far. */
  distinct: Map<string, Set<string>>;
  /** The content hashes of the files made so far. */
  files: Set<string>;
  counts: Record<string, SampleTypeCounts>;
}

/**
 * One export: intervals up to `current` (exclusive) complete, the current one partial; for
 * Campaign_Interactions, every interaction up to the export time. Its CSV is made (and
 * counted, the first time) when asked for.
 */
function planExport(
  day: Day,
  spec: ExportSpec,
  current: number,
  scheduledAt: number,
  exportedAt: number,
): SampleExport {
  const { intervals, intervalMs, agents, campaign, timeZone, seed, complete } = day;
  const header = spec.columns.map((c) => c.name);
  const newline = windowsTypes.has(spec.type) ? '\r\n' : '\n';
  const count = day.counts[spec.type] as SampleTypeCounts;
  const distinct = day.distinct.get(spec.type) ?? new Set<string>();
  day.distinct.set(spec.type, distinct);

  /** The rows of an interval and how many they are; `fraction` of it past (1: complete). */
  const intervalRows = (index: number, fraction: number): { text: string; rows: number } => {
    const start = intervals[index] as number;
    let text = '';
    let rows = 0;
    for (const agent of agents) {
      const values = intervalValues(spec.type, agent, index, fraction, day);
      if (!values) continue;
      const cells: Record<string, string> = {
        'Interval Start': localText(start, timeZone),
        'Interval End': localText(start + intervalMs, timeZone),
        'Interval Complete': index < current ? '1.0' : '0.0',
        Filters: filtersByType[spec.type] ?? '',
        'Media Type': spec.type === 'QCBS' ? 'callback' : 'voice',
        'Agent Id': agent.id,
        'Agent Name': agent.name,
        ...values,
      };
      text += header.map((name) => csvCell(cells[name] ?? '')).join(',') + newline;
      rows++;
      distinct.add(spec.identity.map((name) => cells[name] ?? '').join('\u001f'));
    }
    return { text, rows };
  };

  const content = (): Buffer => {
    let rows = 0;
    const parts = [header.map(csvCell).join(',') + newline];
    if (spec.type === 'Campaign_Interactions') {
      for (const interaction of campaign) {
        if (interaction.at >= exportedAt) continue;
        parts.push(interaction.cells.map(csvCell).join(',') + newline);
        rows++;
        distinct.add(spec.identity.map((name) => interaction.cells[header.indexOf(name)] ?? '').join('\u001f'));
      }
    } else {
      for (let index = 0; index <= current && index < intervals.length; index++) {
        const key = `${spec.type}/${index}`;
        const fraction = Math.min(1, (exportedAt - (intervals[index] as number)) / intervalMs);
        const made = index < current ? (complete.get(key) ?? intervalRows(index, 1)) : intervalRows(index, fraction);
        if (index < current) complete.set(key, made);
        parts.push(made.text);
        rows += made.rows;
      }
    }
    const random = prng(`${seed}/padding/${spec.type}/${current}`);
    const padding = 150 + Math.floor(random() * 100);
    parts.push((','.repeat(header.length - 1) + newline).repeat(padding));
    const bom = windowsTypes.has(spec.type) ? '\uFEFF' : '';
    const bytes = Buffer.from(bom + parts.join(''), 'utf8');
    // Stored by content: a file made twice (a resent export, an hour with nothing new) is one file.
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!day.files.has(sha256)) {
      day.files.add(sha256);
      count.files += 1;
      count.rows += rows;
      count.distinct = distinct.size;
    }
    return bytes;
  };
  return { type: spec.type, scheduled: localText(scheduledAt, timeZone).slice(0, 16), exportedAt, content };
}

/** An agent's figures for one interval, scaled to its length and the part of it already past; none when idle. */
function intervalValues(
  type: string,
  agent: Agent,
  index: number,
  fraction: number,
  day: Pick<Day, 'intervalMs' | 'seed'>,
): Record<string, string> | undefined {
  const random = prng(`${day.seed}/${type}/${agent.id}/${index}`);
  const hour = Math.floor((index * day.intervalMs) / hourMs);
  const length = day.intervalMs / hourMs;
  const busy = hour >= 8 && hour < 18 ? 0.85 : hour >= 6 && hour < 21 ? 0.35 : 0.05;
  if (random() > busy) return undefined;

  if (type === 'Productivity') {
    const loggedIn = Math.round(day.intervalMs * (0.6 + 0.4 * random()) * fraction);
    if (loggedIn === 0) return undefined;
    const onQueue = Math.round(loggedIn * (0.6 + 0.3 * random()));
    const interacting = Math.round(onQueue * (0.4 + 0.4 * random()));
    return {
      'Logged In': msFloat(loggedIn),
      'On Queue': msFloat(onQueue),
      Idle: msFloat(onQueue - interacting),
      'Off Queue': msFloat(loggedIn - onQueue),
      Interacting: msFloat(interacting),
    };
  }

  const maxCalls = type === 'IB_Calls' || type === 'Dials' ? 12 : 5;
  const calls = Math.ceil((1 + Math.floor(random() * maxCalls)) * length * fraction);
  if (calls === 0) return undefined;
  const talk: number[] = [];
  const hold: number[] = [];
  const acw: number[] = [];
  for (let i = 0; i < calls; i++) {
    talk.push(60_000 + Math.floor(random() * 480_000) + (random() < 0.5 ? 0.5 : 0));
    hold.push(random() < 0.3 ? Math.floor(random() * 90_000) : 0);
    acw.push(15_000 + Math.floor(random() * 60_000));
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const totalHandle = sum(talk) + sum(hold) + sum(acw);
  const values: Record<string, string> = { Handle: `${calls}.0` };
  if (type === 'IB_Calls' || type === 'Dials') values['Avg Handle'] = msFloat(totalHandle / calls);
  if (type === 'Dials') {
    // As Genesys exports them: Avg Hold is per hold, and both hold cells are empty when nothing was held.
    const holds = hold.filter((ms) => ms > 0).length;
    Object.assign(values, {
      'Avg Talk': msFloat(sum(talk) / calls),
      'Avg Hold': holds > 0 ? msFloat(sum(hold) / holds) : '',
      'Avg ACW': msFloat(sum(acw) / calls),
      'Total Handle': msFloat(totalHandle),
      'Total Talk': msFloat(sum(talk)),
      'Total Hold': holds > 0 ? msFloat(sum(hold)) : '',
      'Total ACW': msFloat(sum(acw)),
    });
  }
  return values;
}

/**
 * The day's campaign interactions, in time order, as many as the agents make (about five an
 * hour for twelve); an interaction is its filters, user, date, direction and queue.
 */
function campaignInteractions(hours: number[], agents: Agent[], timeZone: string, seed: number): Interaction[] {
  const interactions: Interaction[] = [];
  const perAgents = agents.length / agentNames.length;
  hours.forEach((start, hour) => {
    const random = prng(`${seed}/campaign/${hour}`);
    const base = hour >= 8 && hour < 19 ? 3 + Math.floor(random() * 6) : Math.floor(random() * 2);
    const count = Math.round(base * perAgents);
    for (let i = 0; i < count; i++) {
      const at = start + Math.floor(random() * 60) * 60_000;
      const agent = agents[Math.floor(random() * agents.length)] as Agent;
      const users = random() < 0.25 ? '' : agent.name;
      const queue = campaignQueues[Math.floor(random() * campaignQueues.length)] as string;
      interactions.push({
        at,
        cells: ['YES', '', filtersByType.Campaign_Interactions ?? '', users, localText(at, timeZone), 'Inbound', queue],
      });
    }
  });
  return interactions.sort((a, b) => a.at - b.at);
}

/** Local wall time as Genesys writes it: `YYYY-MM-DD HH:MM:SS`. */
function localText(instant: number, timeZone: string): string {
  return instantToIso(instant, timeZone).slice(0, 19).replace('T', ' ');
}

/** Milliseconds as the exports write them: always a float, `900806.5` or `3600000.0`. */
function msFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function rfc2822(instant: number): string {
  return new Date(instant).toUTCString().replace('GMT', '+0000');
}

function wholeSeconds(instant: number): number {
  return Math.floor(instant / 1000) * 1000;
}

function fileStamp(instant: number): string {
  return new Date(instant).toISOString().slice(0, 19).replace(/[-:]/g, '');
}

function uuid(random: () => number): string {
  const h = hex(random, 32).split('');
  h[12] = '4';
  h[16] = '89ab'[Math.floor(random() * 4)] as string;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function hex(random: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

/** mulberry32 seeded from a label: the same label gives the same sequence. */
function prng(label: string): () => number {
  let state = createHash('sha256').update(label).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
