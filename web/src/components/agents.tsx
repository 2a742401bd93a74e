import { useState } from 'preact/hooks';
import type { AgentTable } from '../../../functions/console-api/contract.ts';
import { count } from '../format.ts';
import { ScrollBox } from './scroll-box.tsx';

type Cell = string | number | null;

/** The agents' KPIs: a filter on any cell's text, and a sort on any column (its header is a button). */
export function AgentsTable({ table }: { table: AgentTable }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ column: number; descending: boolean }>({ column: 0, descending: false });
  const needle = filter.trim().toLowerCase();
  const rows = table.rows
    .filter((row) => needle === '' || row.some((cell) => cell !== null && String(cell).toLowerCase().includes(needle)))
    .sort((a, b) => compare(a[sort.column] ?? null, b[sort.column] ?? null) * (sort.descending ? -1 : 1));
  if (table.columns.length === 0) return <p>No agent rows for this day.</p>;
  return (
    <div>
      <p class="filter">
        <label for="agent-filter">Filter agents</label>
        <input
          id="agent-filter"
          type="search"
          value={filter}
          onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
        />
        <span role="status">
          {rows.length} of {table.rows.length} agents
        </span>
      </p>
      <ScrollBox label="Agents' KPIs">
        <table>
          <caption class="visually-hidden">Agents' KPIs, sortable by column</caption>
          <thead>
            <tr>
              {table.columns.map((column, i) => (
                <th
                  scope="col"
                  key={column}
                  aria-sort={sort.column === i ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                >
                  <button
                    type="button"
                    class="sort"
                    onClick={() => setSort({ column: i, descending: sort.column === i ? !sort.descending : false })}
                  >
                    {column}
                    <span aria-hidden="true">{sort.column === i ? (sort.descending ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, r) => (
              <tr key={String(row[0] ?? r)}>
                {row.map((cell, c) => (
                  <td key={table.columns[c]} class={typeof cell === 'number' ? 'num' : undefined}>
                    {cell === null ? '—' : typeof cell === 'number' ? formatNumber(cell) : cell}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
    </div>
  );
}

function compare(a: Cell, b: Cell): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? count(value) : value.toFixed(2);
}
