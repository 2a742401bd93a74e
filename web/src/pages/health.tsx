import type { ConsoleSettings, HealthResponse } from '../../../functions/console-api/contract.ts';
import type { ApiClient } from '../api.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { instant } from '../format.ts';
import { useLoad } from '../load.ts';
import { PageTitle } from './title.tsx';

export function HealthPage({ api, settings }: { api: ApiClient; settings: ConsoleSettings }) {
  const health = useLoad(() => api.get<HealthResponse>('/health'), 'health');
  const tz = settings.timeZone;
  const data = health.data;
  return (
    <>
      <PageTitle>Health</PageTitle>
      <ErrorNote error={health.error} />
      {!data && !health.error && <Loading what="the health" />}
      {data && (
        <>
          <section aria-labelledby="last-run">
            <h2 id="last-run">Last successful run</h2>
            <p>
              {data.lastSuccessfulRun
                ? `${instant(data.lastSuccessfulRun.at, tz)}${data.lastSuccessfulRun.date ? `, for ${data.lastSuccessfulRun.date}` : ''}`
                : 'None yet.'}
            </p>
          </section>
          <section aria-labelledby="next-runs">
            <h2 id="next-runs">Next scheduled runs ({tz})</h2>
            {data.nextRuns.length === 0 ? (
              <p>No run is scheduled.</p>
            ) : (
              <ul>
                {data.nextRuns.map((run) => (
                  <li key={run.at}>
                    {run.local} — {run.kind}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="alarms">
            <h2 id="alarms">Alarms</h2>
            <DataTable
              columns={[
                { header: 'Alarm', cell: (alarm) => alarm.name },
                {
                  header: 'State',
                  cell: (alarm) => alarm.state,
                  cellClass: (alarm) => (alarm.state === 'ALARM' ? 'attention' : undefined),
                },
              ]}
              rows={data.alarms}
              rowKey={(alarm) => alarm.name}
            />
          </section>
          <section aria-labelledby="queues">
            <h2 id="queues">Dead-letter queues</h2>
            <DataTable
              columns={[
                { header: 'Queue', cell: (queue) => queue.name },
                {
                  header: 'Messages',
                  cell: (queue) => queue.depth ?? 'unknown',
                  class: 'num',
                  cellClass: (queue) => `num${queue.depth ? ' attention' : ''}`,
                },
              ]}
              rows={data.deadLetterQueues}
              rowKey={(queue) => queue.name}
            />
          </section>
          {data.notes && data.notes.length > 0 && (
            <ul class="small">
              {data.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}
