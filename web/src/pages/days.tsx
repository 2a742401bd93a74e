import { useState } from 'preact/hooks';
import type { ConsoleSettings, DayStatus, DaySummary, DaysResponse } from '../../../functions/console-api/contract.ts';
import type { ApiClient } from '../api.ts';
import { type Column, DataTable } from '../components/data-table.tsx';
import { dayStatuses, ErrorNote, Loading, StatusBadge, statusText } from '../components/notes.tsx';
import { bytes, count, instant, weekday } from '../format.ts';
import { useLoad } from '../load.ts';
import { PageTitle } from './title.tsx';

interface Filters {
  status: DayStatus | '';
  from: string;
  to: string;
}

/** The business days, newest first (the API's default: the last 90), filtered by status and date range, paged back. */
export function DaysPage({ api, settings }: { api: ApiClient; settings: ConsoleSettings }) {
  const [filters, setFilters] = useState<Filters>({ status: '', from: '', to: '' });
  const [older, setOlder] = useState<{ days: DaySummary[]; next?: string | undefined; error?: unknown }>({ days: [] });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const query = (cursor?: string) => {
    const params = new URLSearchParams();
    if (filters.status) params.set('status', filters.status);
    if (filters.from) params.set('from', filters.from);
    if (filters.to) params.set('to', filters.to);
    if (cursor) params.set('cursor', cursor);
    const text = params.toString();
    return `/days${text ? `?${text}` : ''}`;
  };
  const first = useLoad(() => api.get<DaysResponse>(query()), JSON.stringify(filters));
  const days = [...(first.data?.days ?? []), ...older.days];
  const next = older.days.length > 0 ? older.next : first.data?.next;
  const types = [...new Set(days.flatMap((day) => Object.keys(day.rowsByType)))];

  const loadOlder = async () => {
    if (!next) return;
    setLoadingOlder(true);
    try {
      const page = await api.get<DaysResponse>(query(next));
      setOlder((previous) => ({ days: [...previous.days, ...page.days], next: page.next }));
    } catch (error) {
      setOlder((previous) => ({ ...previous, error }));
    } finally {
      setLoadingOlder(false);
    }
  };

  return (
    <>
      <PageTitle>Days</PageTitle>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          setOlder({ days: [] });
          setFilters({
            status: String(form.get('status') ?? '') as Filters['status'],
            from: String(form.get('from') ?? ''),
            to: String(form.get('to') ?? ''),
          });
        }}
      >
        <label>
          Status
          <select name="status">
            <option value="">Any</option>
            {dayStatuses.map((status) => (
              <option key={status} value={status}>
                {statusText[status]}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" name="from" defaultValue={filters.from} />
        </label>
        <label>
          To
          <input type="date" name="to" defaultValue={filters.to} />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorNote error={first.error} />
      {!first.data && !first.error && <Loading what="the days" />}
      {first.data && (
        <DataTable
          label="Days"
          class="days"
          caption={<>Business days, newest first; rows per export type; times in {settings.timeZone}</>}
          columns={[
            {
              header: 'Day',
              cell: (day) => (
                <a href={`#/days/${day.date}`}>
                  {day.date} <span class="weekday">{weekday(day.date)}</span>
                </a>
              ),
              rowHeader: true,
            },
            { header: 'Status', cell: (day) => <StatusBadge status={day.status} failedStage={day.failedStage} /> },
            ...types.map(
              (type): Column<DaySummary> => ({
                header: breakable(type),
                cell: (day) => (day.rowsByType[type] === undefined ? '—' : count(day.rowsByType[type])),
                class: 'num',
              }),
            ),
            {
              header: 'Rejects',
              cell: (day) => count(day.rejects),
              class: 'num',
              cellClass: (day) => `num${day.rejects > 0 ? ' attention' : ''}`,
            },
            { header: 'Last export', cell: (day) => instant(day.lastExportAt, settings.timeZone) },
            { header: 'Intraday runs', cell: (day) => day.intradayRuns, class: 'num' },
            { header: 'Workbook', cell: (day) => (day.workbook ? bytes(day.workbook.bytes) : '—'), class: 'num' },
          ]}
          rows={days}
          rowKey={(day) => day.date}
        />
      )}
      {first.data && days.length === 0 && <p>No day matches.</p>}
      <ErrorNote error={older.error} />
      {next && (
        <p>
          <button type="button" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading older days…' : 'Older days'}
          </button>
        </p>
      )}
    </>
  );
}

/** An export type's name may wrap after its underscores (Campaign_Interactions), keeping the table narrow. */
function breakable(type: string): string {
  return type.replaceAll('_', '_\u200b');
}
