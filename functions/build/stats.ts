import type { Config, ExportSpec } from '../common/config.ts';
import {
  addCounts,
  type DayKpis,
  emptyCounts,
  type HourlyVolume,
  type IngestResult,
  type TypeSummary,
} from '../common/contracts.ts';
import type { CellValue } from '../common/rows.ts';

/** One row of an export type: its configured columns by name. */
export type RowValues = Record<string, CellValue | undefined>;

/** A stored row as the workbook reads it. */
export interface SourceRow {
  values: RowValues;
  /** When the export holding this version was made (ISO instant). */
  exportedAt: string;
}

/** The Genesys columns the figures are read from. */
const figureColumns = {
  handle: 'Handle',
  avgHandle: 'Avg Handle',
  totalTalk: 'Total Talk',
  totalHold: 'Total Hold',
  totalAcw: 'Total ACW',
  loggedIn: 'Logged In',
  onQueue: 'On Queue',
  interacting: 'Interacting',
} as const;

/** Columns whose text names the agent (interval exports, Campaign Interactions). */
const agentColumns = ['Agent Name', 'Users'];

type KpiRole = keyof Config['workbook']['kpis'];

/** The column naming the agent in an export type, if it has one. */
export function agentColumn(spec: ExportSpec): string | undefined {
  return agentColumns.find((name) => spec.columns.some((c) => c.name === name));
}

/** The columns the figures need from an export type, beyond those shown. */
export function figureColumnsOf(spec: ExportSpec): string[] {
  const names = new Set(spec.columns.map((c) => c.name));
  return Object.values(figureColumns).filter((name) => names.has(name));
}

/** Sums over the rows of one agent (or of everyone), from the KPI export types. */
export interface AgentFigures {
  calls: number;
  dials: number;
  /** Interactions whose handle time is known, and that time. */
  handled: number;
  handleMs: number;
  /** Interactions whose talk, hold and ACW are known (the export has totals), and those times. */
  splitHandled: number;
  talkMs: number;
  holdMs: number;
  acwMs: number;
  loggedInMs: number;
  onQueueMs: number;
  interactingMs: number;
}

/** An agent's KPIs as the Summary shows them; a figure is absent when its exports have no data. */
export interface AgentKpis {
  calls?: number;
  dials?: number;
  avgHandleMs?: number;
  avgTalkMs?: number;
  avgHoldMs?: number;
  avgAcwMs?: number;
  loggedInMs?: number;
  /** Fractions of logged-in time. */
  onQueue?: number;
  interacting?: number;
}

/** What the workbook tells about the day, beside its rows. */
export interface DayContent {
  types: TypeSummary[];
  missing: string[];
  late: string[];
  hourly: HourlyVolume[];
  kpis: DayKpis;
  /** Per agent, by name in collation order. */
  agents: { agent: string; kpis: AgentKpis }[];
  /** Everyone's, named or not. */
  everyone: AgentKpis;
}

function emptyFigures(): AgentFigures {
  return {
    calls: 0,
    dials: 0,
    handled: 0,
    handleMs: 0,
    splitHandled: 0,
    talkMs: 0,
    holdMs: 0,
    acwMs: 0,
    loggedInMs: 0,
    onQueueMs: 0,
    interactingMs: 0,
  };
}

const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** Tallies the rows of the day as they are written: counts, latest export, volume by hour, agent figures. */
export class DayStats {
  private readonly tallies = new Map<string, TypeTally>();
  readonly agents = new Map<string, AgentFigures>();
  readonly everyone = emptyFigures();
  readonly roles = new Set<KpiRole>();

  constructor(private readonly config: Config) {}

  /** The tally of an export type; rows are added to it one by one. */
  type(spec: ExportSpec): TypeTally {
    let tally = this.tallies.get(spec.type);
    if (!tally) {
      const roles = Object.entries(this.config.workbook.kpis) as [KpiRole, string | undefined][];
      const role = roles.find(([, type]) => type === spec.type)?.[0];
      tally = new TypeTally(spec, this, role);
      this.tallies.set(spec.type, tally);
    }
    return tally;
  }

  agent(name: string): AgentFigures {
    let figures = this.agents.get(name);
    if (!figures) {
      figures = emptyFigures();
      this.agents.set(name, figures);
    }
    return figures;
  }

  /** The day's summary, with this run's ingest counts per type. */
  content(ingested: readonly IngestResult[]): DayContent {
    const tallies = this.config.exports.map((spec) => this.type(spec));
    const types: TypeSummary[] = tallies.map((tally) => {
      const files = ingested.filter((result) => result.type === tally.spec.type);
      return {
        type: tally.spec.type,
        tab: tally.spec.tab,
        rows: tally.rows,
        ...(tally.lastExportAt ? { lastExportAt: tally.lastExportAt } : {}),
        ingest: files.reduce((sum, result) => addCounts(sum, result.counts), emptyCounts()),
        files: files.length,
      };
    });
    const newest = Math.max(...tallies.map((t) => t.lastExportMs));
    const lateMs = this.config.workbook.lateAfterMinutes * 60_000;
    const hourly: HourlyVolume[] = Array.from({ length: 24 }, (_, hour) => ({
      hour,
      volumes: Object.fromEntries(tallies.map((t) => [t.spec.type, t.hourly[hour] ?? 0])),
    }));
    const everyone = this.kpisOf(this.everyone);
    const kpis: DayKpis = {
      ...(everyone.calls !== undefined ? { callsHandled: everyone.calls } : {}),
      ...(everyone.dials !== undefined ? { dialsHandled: everyone.dials } : {}),
      ...(everyone.avgHandleMs !== undefined ? { avgHandleMs: everyone.avgHandleMs } : {}),
      ...(everyone.avgTalkMs !== undefined ? { avgTalkMs: everyone.avgTalkMs } : {}),
      ...(everyone.avgHoldMs !== undefined ? { avgHoldMs: everyone.avgHoldMs } : {}),
      ...(everyone.avgAcwMs !== undefined ? { avgAcwMs: everyone.avgAcwMs } : {}),
      ...(everyone.onQueue !== undefined ? { onQueuePct: percent(everyone.onQueue) } : {}),
      ...(everyone.interacting !== undefined ? { interactingPct: percent(everyone.interacting) } : {}),
      ...(this.roles.size > 0 ? { agents: this.agents.size } : {}),
    };
    return {
      types,
      missing: tallies.filter((t) => t.rows === 0).map((t) => t.spec.type),
      late: tallies.filter((t) => t.rows > 0 && newest - t.lastExportMs > lateMs).map((t) => t.spec.type),
      hourly,
      kpis,
      agents: [...this.agents.keys()]
        .sort(collator.compare)
        .map((agent) => ({ agent, kpis: this.kpisOf(this.agents.get(agent) ?? emptyFigures()) })),
      everyone,
    };
  }

  /** Figures become KPIs only where the export types they come from had rows. */
  private kpisOf(f: AgentFigures): AgentKpis {
    const { roles } = this;
    const handling = roles.has('calls') || roles.has('dials');
    return {
      ...(roles.has('calls') ? { calls: f.calls } : {}),
      ...(roles.has('dials') ? { dials: f.dials } : {}),
      ...(handling && f.handled > 0 ? { avgHandleMs: Math.round(f.handleMs / f.handled) } : {}),
      ...(handling && f.splitHandled > 0
        ? {
            avgTalkMs: Math.round(f.talkMs / f.splitHandled),
            avgHoldMs: Math.round(f.holdMs / f.splitHandled),
            avgAcwMs: Math.round(f.acwMs / f.splitHandled),
          }
        : {}),
      ...(roles.has('agentStatus') ? { loggedInMs: Math.round(f.loggedInMs) } : {}),
      ...(roles.has('agentStatus') && f.loggedInMs > 0
        ? { onQueue: f.onQueueMs / f.loggedInMs, interacting: f.interactingMs / f.loggedInMs }
        : {}),
    };
  }
}

export class TypeTally {
  rows = 0;
  lastExportAt: string | undefined;
  lastExportMs = Number.NEGATIVE_INFINITY;
  /** Per local hour of the date column: the sum of Handle where the type has it, else rows. */
  readonly hourly = new Array<number>(24).fill(0);
  private readonly volumeColumn: string | undefined;
  private readonly agentColumn: string | undefined;

  constructor(
    readonly spec: ExportSpec,
    private readonly day: DayStats,
    private readonly role: KpiRole | undefined,
  ) {
    this.volumeColumn = spec.columns.some((c) => c.name === figureColumns.handle && c.kind === 'count')
      ? figureColumns.handle
      : undefined;
    this.agentColumn = agentColumn(spec);
  }

  add(row: SourceRow): void {
    this.rows++;
    const { values, exportedAt } = row;
    if (exportedAt !== this.lastExportAt) {
      const ms = Date.parse(exportedAt);
      if (ms > this.lastExportMs) {
        this.lastExportMs = ms;
        this.lastExportAt = exportedAt;
      }
    }
    const hour = localHour(values[this.spec.dateColumn]);
    if (hour !== undefined) {
      this.hourly[hour] = (this.hourly[hour] ?? 0) + (this.volumeColumn ? number(values[this.volumeColumn]) : 1);
    }
    if (this.role) {
      this.day.roles.add(this.role);
      addFigures(this.role, values, this.day.everyone);
      const agent = this.agentColumn ? values[this.agentColumn] : undefined;
      if (typeof agent === 'string' && agent !== '') addFigures(this.role, values, this.day.agent(agent));
    }
  }
}

function addFigures(role: KpiRole, values: RowValues, f: AgentFigures): void {
  if (role === 'agentStatus') {
    f.loggedInMs += number(values[figureColumns.loggedIn]);
    f.onQueueMs += number(values[figureColumns.onQueue]);
    f.interactingMs += number(values[figureColumns.interacting]);
    return;
  }
  const handled = number(values[figureColumns.handle]);
  if (role === 'calls') f.calls += handled;
  else f.dials += handled;
  const avgHandle = values[figureColumns.avgHandle];
  if (typeof avgHandle === 'number') {
    f.handleMs += avgHandle * handled;
    f.handled += handled;
  }
  const talk = values[figureColumns.totalTalk];
  if (typeof talk === 'number') {
    f.talkMs += talk;
    f.holdMs += number(values[figureColumns.totalHold]);
    f.acwMs += number(values[figureColumns.totalAcw]);
    f.splitHandled += handled;
  }
}

function number(value: CellValue | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function percent(fraction: number): number {
  return Math.round(fraction * 1000) / 10;
}

/** The hour of a local ISO datetime, `2026-03-09T08:00:00-05:00` → 8. */
function localHour(value: CellValue | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 13 || value.charCodeAt(10) !== 84 /* T */) return undefined;
  const hour = (value.charCodeAt(11) - 48) * 10 + (value.charCodeAt(12) - 48);
  return hour >= 0 && hour < 24 ? hour : undefined;
}
