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
import { dayHours, dayWindow, type LocalHour } from '../common/time.ts';

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
  avgTalk: 'Avg Talk',
  avgHold: 'Avg Hold',
  avgAcw: 'Avg ACW',
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

/**
 * Sums over the rows of one agent (or of everyone), from the KPI export types. Each average is
 * a sum of time over the count Genesys averages it over (see docs/figures.md).
 */
export interface AgentFigures {
  calls: number;
  dials: number;
  /** Interactions handled in rows whose Avg Handle is known, and their handle time (Avg Handle × Handle). */
  handled: number;
  handleMs: number;
  /** Dials' talks, holds and ACWs as Genesys counts them (Total ÷ Avg per row), and their time. */
  talks: number;
  talkMs: number;
  holds: number;
  holdMs: number;
  acws: number;
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
  holds?: number;
  /** Per hold, as Genesys's Avg Hold. */
  avgHoldMs?: number;
  avgAcwMs?: number;
  loggedInMs?: number;
  /** Fractions of logged-in time. */
  onQueue?: number;
  interacting?: number;
}

/** One hour of an export type, as the alert rules read it (functions/workbook/alerts.ts). */
export interface HourFigures {
  /** Interactions handled where the type has Handle, else rows (the Summary's volume by hour). */
  volume: number;
  /** Distinct agents named in the hour's rows. */
  agents: number;
  /** Handle over the rows whose Avg Handle is known, and their handle time (Avg Handle × Handle). */
  handled: number;
  handleMs: number;
  loggedInMs: number;
  onQueueMs: number;
  /** Rows rejected in the files exported in the hour. */
  rejectedRows: number;
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
  /** Per hour of the day (`hours`), for the export types `DayStats` was asked to watch. */
  hourFigures: Map<string, HourFigures[]>;
  /** The day's hours as the clocks show them, with the instant each starts at. */
  hours: readonly (LocalHour & { startMs: number })[];
}

function emptyFigures(): AgentFigures {
  return {
    calls: 0,
    dials: 0,
    handled: 0,
    handleMs: 0,
    talks: 0,
    talkMs: 0,
    holds: 0,
    holdMs: 0,
    acws: 0,
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
  /** The day's hours as the clocks show them: 23, 24 or 25. */
  readonly hours: readonly LocalHour[];
  private readonly slotOfHour: number[];
  private readonly dayStartMs: number;

  constructor(
    private readonly config: Config,
    date: string,
    /** Export types whose hourly figures are kept for the alert rules. */
    private readonly watched: ReadonlySet<string> = new Set(),
  ) {
    this.hours = dayHours(date, config.timeZone);
    this.dayStartMs = dayWindow(date, config.timeZone).start;
    // A wall-clock hour the day skips (02:00 when the clocks go forward) counts in the hour after it, as clocks do.
    this.slotOfHour = Array.from({ length: 24 }, (_, hour) => {
      const slot = this.hours.findIndex((h) => h.hour >= hour);
      return slot < 0 ? this.hours.length - 1 : slot;
    });
  }

  /** The index in `hours` of a local ISO datetime's hour, `2026-11-01T01:00:00-06:00` → 2 (01:00 CST); none when it is not one. */
  slotOf(value: CellValue | undefined): number | undefined {
    if (typeof value !== 'string' || value.length < 13 || value.charCodeAt(10) !== 84 /* T */) return undefined;
    const hour = (value.charCodeAt(11) - 48) * 10 + (value.charCodeAt(12) - 48);
    const slot = this.slotOfHour[hour];
    if (slot === undefined) return undefined;
    // Only the repeated hour needs the offset to tell its two occurrences apart.
    if (this.hours[slot]?.zone === undefined) return slot;
    const match = this.hours.findIndex((h) => h.hour === hour && value.endsWith(h.offset));
    return match < 0 ? slot : match;
  }

  /** The index in `hours` of the hour an instant falls in; none outside the day. */
  slotOfInstant(instantMs: number): number | undefined {
    const slot = Math.floor((instantMs - this.dayStartMs) / 3_600_000);
    return slot >= 0 && slot < this.hours.length ? slot : undefined;
  }

  /** The tally of an export type; rows are added to it one by one. */
  type(spec: ExportSpec): TypeTally {
    let tally = this.tallies.get(spec.type);
    if (!tally) {
      const roles = Object.entries(this.config.workbook.kpis) as [KpiRole, string | undefined][];
      const role = roles.find(([, type]) => type === spec.type)?.[0];
      tally = new TypeTally(spec, this, role, this.watched.has(spec.type));
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
    const hourly: HourlyVolume[] = this.hours.map(({ hour, zone }, slot) => ({
      hour,
      ...(zone ? { zone } : {}),
      volumes: Object.fromEntries(tallies.map((t) => [t.spec.type, t.hourly[slot] ?? 0])),
    }));
    const everyone = this.kpisOf(this.everyone);
    const kpis: DayKpis = {
      ...(everyone.calls !== undefined ? { callsHandled: everyone.calls } : {}),
      ...(everyone.dials !== undefined ? { dialsHandled: everyone.dials } : {}),
      ...(everyone.avgHandleMs !== undefined ? { avgHandleMs: everyone.avgHandleMs } : {}),
      ...(everyone.avgTalkMs !== undefined ? { avgTalkMs: everyone.avgTalkMs } : {}),
      ...(everyone.holds !== undefined ? { holds: everyone.holds } : {}),
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
      hourFigures: new Map(
        tallies.flatMap((t) => (t.hourFigures ? [[t.spec.type, t.hourFigures.map((h) => h.figures())]] : [])),
      ),
      hours: this.hours.map((h, slot) => ({ ...h, startMs: this.dayStartMs + slot * 3_600_000 })),
    };
  }

  /** Figures become KPIs only where the export types they come from had rows; an average only over a count above 0. */
  private kpisOf(f: AgentFigures): AgentKpis {
    const { roles } = this;
    const average = (ms: number, count: number) => (count > 0 ? Math.round(ms / count) : undefined);
    const avgHandleMs = average(f.handleMs, f.handled);
    const avgTalkMs = average(f.talkMs, f.talks);
    const avgHoldMs = average(f.holdMs, f.holds);
    const avgAcwMs = average(f.acwMs, f.acws);
    // Holds are counted (zero included) where the dials carried any talk, hold or ACW time.
    const timed = f.talks + f.holds + f.acws > 0;
    return {
      ...(roles.has('calls') ? { calls: f.calls } : {}),
      ...(roles.has('dials') ? { dials: f.dials } : {}),
      ...(avgHandleMs !== undefined ? { avgHandleMs } : {}),
      ...(avgTalkMs !== undefined ? { avgTalkMs } : {}),
      ...(timed ? { holds: f.holds } : {}),
      ...(avgHoldMs !== undefined ? { avgHoldMs } : {}),
      ...(avgAcwMs !== undefined ? { avgAcwMs } : {}),
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
  /** Per hour of the day (DayStats.hours) of the date column: the sum of Handle where the type has it, else rows. */
  readonly hourly: number[];
  /** Per hour, what the alert rules read; only for a watched type. */
  readonly hourFigures: HourTally[] | undefined;
  private readonly volumeColumn: string | undefined;
  private readonly agentColumn: string | undefined;

  constructor(
    readonly spec: ExportSpec,
    private readonly day: DayStats,
    private readonly role: KpiRole | undefined,
    watched = false,
  ) {
    this.volumeColumn = spec.columns.some((c) => c.name === figureColumns.handle && c.kind === 'count')
      ? figureColumns.handle
      : undefined;
    this.agentColumn = agentColumn(spec);
    this.hourly = new Array<number>(day.hours.length).fill(0);
    this.hourFigures = watched ? Array.from(day.hours, () => new HourTally()) : undefined;
  }

  /** Rows rejected in a file of the type, in the hour it was exported. */
  addRejected(exportedAt: string, rows: number): void {
    const slot = this.day.slotOfInstant(Date.parse(exportedAt));
    const hour = slot === undefined ? undefined : this.hourFigures?.[slot];
    if (hour) hour.rejectedRows += rows;
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
    const slot = this.day.slotOf(values[this.spec.dateColumn]);
    if (slot !== undefined) {
      const volume = this.volumeColumn ? number(values[this.volumeColumn]) : 1;
      this.hourly[slot] = (this.hourly[slot] ?? 0) + volume;
      this.hourFigures?.[slot]?.add(values, volume, this.agentColumn);
    }
    if (this.role) {
      this.day.roles.add(this.role);
      addFigures(this.role, values, this.day.everyone);
      const agent = this.agentColumn ? values[this.agentColumn] : undefined;
      if (typeof agent === 'string' && agent !== '') addFigures(this.role, values, this.day.agent(agent));
    }
  }
}

/** One hour of a watched type, row by row. */
class HourTally {
  volume = 0;
  handled = 0;
  handleMs = 0;
  loggedInMs = 0;
  onQueueMs = 0;
  rejectedRows = 0;
  private readonly agents = new Set<string>();

  add(values: RowValues, volume: number, agentColumn: string | undefined): void {
    this.volume += volume;
    const agent = agentColumn ? values[agentColumn] : undefined;
    if (typeof agent === 'string' && agent !== '') this.agents.add(agent);
    const avgHandle = values[figureColumns.avgHandle];
    if (typeof avgHandle === 'number') {
      const handled = number(values[figureColumns.handle]);
      this.handled += handled;
      this.handleMs += avgHandle * handled;
    }
    this.loggedInMs += number(values[figureColumns.loggedIn]);
    this.onQueueMs += number(values[figureColumns.onQueue]);
  }

  figures(): HourFigures {
    const { volume, handled, handleMs, loggedInMs, onQueueMs, rejectedRows } = this;
    return { volume, agents: this.agents.size, handled, handleMs, loggedInMs, onQueueMs, rejectedRows };
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
  // A row's handle time is Avg Handle × Handle: Genesys's tHandle sum over its count.
  const avgHandle = values[figureColumns.avgHandle];
  if (typeof avgHandle === 'number') {
    f.handleMs += avgHandle * handled;
    f.handled += handled;
  }
  if (role !== 'dials') return;
  const talks = averagedCount(values[figureColumns.totalTalk], values[figureColumns.avgTalk]);
  f.talks += talks;
  if (talks > 0) f.talkMs += number(values[figureColumns.totalTalk]);
  const holds = averagedCount(values[figureColumns.totalHold], values[figureColumns.avgHold]);
  f.holds += holds;
  if (holds > 0) f.holdMs += number(values[figureColumns.totalHold]);
  const acws = averagedCount(values[figureColumns.totalAcw], values[figureColumns.avgAcw]);
  f.acws += acws;
  if (acws > 0) f.acwMs += number(values[figureColumns.totalAcw]);
}

/**
 * How many a row's average was taken over: Total ÷ Avg, rounded (at least 1 where there is
 * time). Genesys averages talk per interaction with talk, hold per hold and ACW per ACW, which
 * need not be the interactions handled; the export gives that count only through the two
 * columns. None where either is unknown or zero: such a row's time stays out of the average.
 */
function averagedCount(total: CellValue | undefined, average: CellValue | undefined): number {
  if (typeof total !== 'number' || typeof average !== 'number' || total <= 0 || average <= 0) return 0;
  return Math.max(1, Math.round(total / average));
}

function number(value: CellValue | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function percent(fraction: number): number {
  return Math.round(fraction * 1000) / 10;
}
