import type { ComponentChildren } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import type {
  ActionAccepted,
  ConsoleSettings,
  DayDetail,
  ExecutionSummary,
  FileRow,
  WorkbookLink,
  WorkbookVersions,
} from '../../../functions/console-api/contract.ts';
import type { ApiClient } from '../api.ts';
import { AgentsTable } from '../components/agents.tsx';
import { VolumeChart } from '../components/chart.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { ConfirmDialog } from '../components/dialog.tsx';
import { MissingAndLate } from '../components/late-exports.tsx';
import { ErrorNote, Loading, StatusBadge } from '../components/notes.tsx';
import { ExecutionProgress } from '../components/progress.tsx';
import { bytes, count, duration, instant, weekday } from '../format.ts';
import { useLoad } from '../load.ts';
import { PageTitle } from './title.tsx';

interface PageProps {
  api: ApiClient;
  settings: ConsoleSettings;
  date: string;
  operator: boolean;
}

/** An action waiting for its confirmation: what the dialog says and asks, and the call it makes. */
interface AskedAction {
  title: string;
  confirmLabel: string;
  body: ComponentChildren;
  send(form: FormData): Promise<ActionAccepted>;
}

export function DayPage({ api, settings, date, operator }: PageProps) {
  const day = useLoad(() => api.get<DayDetail>(`/days/${date}`), date);
  const [asked, setAsked] = useState<AskedAction>();
  const [tracked, setTracked] = useState<{ title: string; executionId: string }>();
  const [actionError, setActionError] = useState<unknown>();
  const reload = day.reload;
  const ended = useCallback(() => reload(), [reload]);
  const tz = settings.timeZone;

  const confirm = async (action: AskedAction, form: FormData) => {
    setAsked(undefined);
    setActionError(undefined);
    setTracked(undefined);
    try {
      const accepted = await action.send(form);
      setTracked({ title: action.title, executionId: accepted.executionId });
    } catch (error) {
      setActionError(error);
    }
  };

  return (
    <>
      <PageTitle>
        Day {date} <span class="weekday">({weekday(date)})</span>{' '}
        {day.data && <StatusBadge status={day.data.status} failedStage={day.data.failedStage} />}
      </PageTitle>
      <p>
        <a href="#/">← All days</a>
      </p>
      <ErrorNote error={day.error} />
      {!day.data && !day.error && <Loading what="the day" />}
      {operator && day.data && (
        <section aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <div class="buttons">
            <button type="button" onClick={() => setAsked(rerunAction(api, day.data as DayDetail))}>
              Rerun the day…
            </button>
            <button
              type="button"
              onClick={() =>
                setAsked({
                  title: `Resend the email of ${date}`,
                  confirmLabel: 'Resend',
                  body: <p>The day's workbook is emailed again to its recipients.</p>,
                  send: () => api.post<ActionAccepted>(`/days/${date}/resend`),
                })
              }
            >
              Resend the email…
            </button>
          </div>
          <ErrorNote error={actionError} />
          {tracked && <ExecutionProgress api={api} {...tracked} onEnd={ended} />}
        </section>
      )}
      {asked && (
        <ConfirmDialog
          title={asked.title}
          confirmLabel={asked.confirmLabel}
          onCancel={() => setAsked(undefined)}
          onConfirm={(form) => confirm(asked, form)}
        >
          {asked.body}
        </ConfirmDialog>
      )}
      {day.data && (
        <DayDetails api={api} day={day.data} tz={tz} operator={operator} ask={(action) => setAsked(action)} />
      )}
    </>
  );
}

/** An alert's figure as the rule states it: a count, seconds or a percentage, to one decimal. */
function figure(value: number): string {
  return (Math.round(value * 10) / 10).toLocaleString('en-US');
}

const countColumns = ['read', 'inserted', 'updated', 'unchanged', 'stale', 'rejected', 'blank'] as const;

function rerunAction(api: ApiClient, day: DayDetail): AskedAction {
  const types = day.types.map((t) => t.type);
  return {
    title: `Rerun ${day.date}`,
    confirmLabel: 'Rerun',
    body: (
      <>
        <p>Collects, ingests and builds the day again; rows already stored count as unchanged.</p>
        <fieldset>
          <legend>Reports (none ticked: all)</legend>
          {types.map((type) => (
            <label key={type} class="check">
              <input type="checkbox" name="reports" value={type} /> {type}
            </label>
          ))}
        </fieldset>
        <label class="check">
          <input type="checkbox" name="deliver" defaultChecked /> Deliver the email
        </label>
        <label class="check">
          <input type="checkbox" name="force" /> Force (email again even if already delivered)
        </label>
      </>
    ),
    send: (form) => {
      const reports = form.getAll('reports').map(String);
      return api.post<ActionAccepted>(`/days/${day.date}/rerun`, {
        ...(reports.length > 0 ? { reports } : {}),
        force: form.has('force'),
        deliver: form.has('deliver'),
      });
    },
  };
}

function DayDetails(props: {
  api: ApiClient;
  day: DayDetail;
  tz: string;
  operator: boolean;
  ask(action: AskedAction): void;
}) {
  const { api, day, tz, operator, ask } = props;
  const undo = (file: FileRow): AskedAction => ({
    title: `Take ${file.attachmentName ?? file.rawKey.split('/').pop()} out of ${day.date}`,
    confirmLabel: 'Undo the file',
    body: (
      <p>
        Its rows leave the day and the workbook is built again without them. Raw key: <code>{file.rawKey}</code>
      </p>
    ),
    send: () => api.post<ActionAccepted>(`/days/${day.date}/undo`, { source: file.rawKey }),
  });
  const executionAction = (execution: ExecutionSummary, verb: 'cancel' | 'redrive'): AskedAction => ({
    title: `${verb === 'cancel' ? 'Cancel' : 'Redrive'} execution ${execution.name}`,
    confirmLabel: verb === 'cancel' ? 'Cancel the execution' : 'Redrive',
    body: (
      <p>
        {verb === 'cancel'
          ? 'The execution stops where it is; a rerun starts the day again.'
          : `The execution resumes at the stage that failed${execution.failedStage ? ` (${execution.failedStage})` : ''}.`}
      </p>
    ),
    send: () => api.post<ActionAccepted>(`/executions/${encodeURIComponent(execution.executionId)}/${verb}`),
  });

  return (
    <>
      <div class="columns">
        <div>
          <Download api={api} date={day.date} tz={tz} />
          <section aria-labelledby="reconciliation">
            <h2 id="reconciliation">Rows per export</h2>
            <p class="small">read = inserted + updated + unchanged + stale + rejected; blank padding apart.</p>
            <DataTable
              label="Rows per export"
              columns={[
                { header: 'Export', cell: (t) => t.type, rowHeader: true },
                ...countColumns.map(
                  (c): Column<DayDetail['types'][number]> => ({ header: c, cell: (t) => count(t[c]), class: 'num' }),
                ),
              ]}
              rows={day.types}
              rowKey={(t) => t.type}
            />
          </section>
          <section aria-labelledby="missing">
            <h2 id="missing">Missing and late exports</h2>
            <MissingAndLate
              missing={day.missing}
              late={day.late}
              tz={tz}
              absent="missing"
              allArrived="Every export arrived in time."
            />
          </section>
          {day.alerts && (
            <section aria-labelledby="alerts">
              <h2 id="alerts">Threshold alerts</h2>
              <DataTable
                label="Threshold alerts"
                columns={[
                  { header: 'Rule', cell: (r) => r.rule, rowHeader: true },
                  { header: 'When', cell: (r) => `${r.type}: ${r.metric} ${r.condition} ${r.threshold}` },
                  { header: 'Hours checked', cell: (r) => count(r.evaluated), class: 'num' },
                  {
                    header: 'Crossed at',
                    cell: (r) => r.breached.map((h) => `${h.hour} (${figure(h.value)})`).join(', ') || 'never',
                    cellClass: (r) => (r.breached.length > 0 ? 'attention' : undefined),
                  },
                  { header: 'Recovered at', cell: (r) => r.recovered.map((h) => h.hour).join(', ') || '—' },
                ]}
                rows={day.alerts}
                rowKey={(r) => r.rule}
              />
            </section>
          )}
        </div>
        <section aria-labelledby="volume">
          <h2 id="volume">Volume by hour</h2>
          <VolumeChart hours={day.volumeByHour} title={`Rows per hour on ${day.date}, by export type`} />
        </section>
      </div>
      <section aria-labelledby="rejects">
        <h2 id="rejects">Rejected rows</h2>
        {day.rejectedRowsTotal === 0 ? (
          <p>No row was rejected.</p>
        ) : (
          <>
            <p>
              {count(day.rejectedRowsTotal)} {day.rejectedRowsTotal === 1 ? 'row' : 'rows'} rejected
              {day.rejectedRows.length < day.rejectedRowsTotal ? `; the first ${day.rejectedRows.length} below` : ''}.
            </p>
            <RejectsDownload api={api} date={day.date} />
            <DataTable
              label="Rejected rows"
              columns={[
                { header: 'Export', cell: (row) => row.type },
                { header: 'File', cell: (row) => row.rawKey, class: 'key' },
                { header: 'Line', cell: (row) => row.line, class: 'num' },
                { header: 'Reason', cell: (row) => row.reason },
              ]}
              rows={day.rejectedRows}
              rowKey={(row) => `${row.rawKey}:${row.line}`}
            />
          </>
        )}
        {day.quarantined.length > 0 && (
          <>
            <h3>Inputs kept aside (quarantined)</h3>
            <DataTable
              label="Quarantined inputs"
              columns={[
                { header: 'Source', cell: (q) => q.sourceId, class: 'key' },
                { header: 'Stage', cell: (q) => q.stage },
                { header: 'Reason', cell: (q) => q.reason },
                { header: 'When', cell: (q) => instant(q.at, tz) },
              ]}
              rows={day.quarantined}
              rowKey={(q) => q.sourceId}
            />
          </>
        )}
      </section>
      <section aria-labelledby="files">
        <h2 id="files">Files</h2>
        <DataTable
          label="Files"
          columns={[
            { header: 'Export', cell: (file) => file.type },
            {
              header: 'Source',
              cell: (file) =>
                file.source.kind === 'agent' ? (
                  <>Agent {file.source.agent}</>
                ) : (
                  <>
                    {file.source.subject ?? '(no subject)'}
                    <br />
                    <span class="small">
                      {file.source.sender} · {instant(file.source.sentAt, tz)}
                    </span>
                  </>
                ),
            },
            { header: 'Raw key', cell: (file) => file.rawKey, class: 'key' },
            { header: 'Outcome', cell: (file) => file.outcome },
            { header: 'Rows', cell: (file) => (file.rows === undefined ? '—' : count(file.rows)), class: 'num' },
            ...(operator
              ? [
                  {
                    header: 'Action',
                    cell: (file: FileRow) => (
                      <button type="button" class="small-button" onClick={() => ask(undo(file))}>
                        Undo…
                      </button>
                    ),
                  },
                ]
              : []),
          ]}
          rows={day.files}
          rowKey={(file) => file.rawKey}
        />
      </section>
      <section aria-labelledby="deliveries">
        <h2 id="deliveries">Deliveries</h2>
        {day.deliveries.length === 0 ? (
          <p>Not delivered.</p>
        ) : (
          <DataTable
            label="Deliveries"
            columns={[
              { header: 'Sent', cell: (d) => instant(d.sentAt, tz) },
              { header: 'Recipients', cell: (d) => d.recipients.join(', ') },
              { header: 'SES message id', cell: (d) => d.messageId, class: 'key' },
              { header: 'Bounces', cell: (d) => d.bounces ?? 'not recorded', class: 'num' },
              { header: 'Complaints', cell: (d) => d.complaints ?? 'not recorded', class: 'num' },
            ]}
            rows={day.deliveries}
            rowKey={(d) => d.messageId}
          />
        )}
      </section>
      <section aria-labelledby="executions">
        <h2 id="executions">Executions</h2>
        <DataTable
          label="Executions"
          columns={[
            {
              header: 'Execution',
              cell: (e) =>
                e.consoleUrl ? (
                  <a href={e.consoleUrl} target="_blank" rel="noopener noreferrer">
                    {e.name}
                    <span class="visually-hidden"> (Step Functions console, opens a new tab)</span>
                  </a>
                ) : (
                  e.name
                ),
              class: 'key',
            },
            { header: 'Status', cell: (e) => e.status },
            { header: 'Started', cell: (e) => instant(e.startedAt, tz) },
            { header: 'Duration', cell: (e) => duration(e.durationMs), class: 'num' },
            { header: 'Failed stage', cell: (e) => e.failedStage ?? '' },
            ...(operator
              ? [
                  {
                    header: 'Action',
                    cell: (e: ExecutionSummary) => (
                      <>
                        {e.status === 'RUNNING' && (
                          <button type="button" class="small-button" onClick={() => ask(executionAction(e, 'cancel'))}>
                            Cancel…
                          </button>
                        )}
                        {e.status !== 'RUNNING' && e.status !== 'SUCCEEDED' && (
                          <button type="button" class="small-button" onClick={() => ask(executionAction(e, 'redrive'))}>
                            Redrive…
                          </button>
                        )}
                      </>
                    ),
                  },
                ]
              : []),
          ]}
          rows={day.executions}
          rowKey={(e) => e.executionId}
        />
      </section>
      <section aria-labelledby="agents">
        <h2 id="agents">Agents</h2>
        <AgentsTable table={day.agents} />
      </section>
      <section aria-labelledby="audit">
        <h2 id="audit">Who did what</h2>
        {day.audit.length === 0 ? (
          <p>Nothing recorded for this day.</p>
        ) : (
          <DataTable
            label="Who did what"
            columns={[
              { header: 'When', cell: (entry) => instant(entry.at, tz) },
              { header: 'Who', cell: (entry) => entry.who },
              { header: 'What', cell: (entry) => entry.action },
              { header: 'Execution', cell: (entry) => entry.executionId?.split(':').pop() ?? '', class: 'key' },
              {
                header: 'Detail',
                cell: (entry) => (entry.detail ? JSON.stringify(entry.detail) : ''),
                class: 'key',
              },
            ]}
            rows={day.audit}
            rowKey={(entry) => `${entry.at}-${entry.who}-${entry.action}`}
          />
        )}
      </section>
    </>
  );
}

/** The current workbook and its earlier versions, each through a fresh presigned URL from the API. */
function Download({ api, date, tz }: { api: ApiClient; date: string; tz: string }) {
  const versions = useLoad(() => api.get<WorkbookVersions>(`/days/${date}/workbook/versions`), date);
  const [error, setError] = useState<unknown>();
  const open = async (versionId?: string) => {
    setError(undefined);
    try {
      const link = await api.get<WorkbookLink>(
        `/days/${date}/workbook${versionId ? `?version=${encodeURIComponent(versionId)}` : ''}`,
      );
      // The workbook is no page to show: the browser saves it, and this page stays.
      window.location.assign(link.url);
    } catch (failure) {
      setError(failure);
    }
  };
  const list = versions.data?.versions ?? [];
  return (
    <section aria-labelledby="download">
      <h2 id="download">Workbook</h2>
      {list.length === 0 && !versions.loading ? (
        <p>No workbook for this day yet.</p>
      ) : (
        <p>
          <button type="button" class="primary" onClick={() => open()}>
            Download the workbook
          </button>
        </p>
      )}
      <ErrorNote error={error ?? versions.error} />
      {list.length > 1 && (
        <details>
          <summary>Earlier versions ({list.length - 1})</summary>
          <ul class="versions">
            {list
              .filter((v) => !v.current)
              .map((v) => (
                <li key={v.versionId}>
                  {instant(v.lastModified, tz)}, {bytes(v.bytes)}{' '}
                  <button type="button" class="small-button" onClick={() => open(v.versionId)}>
                    Download<span class="visually-hidden"> the version of {instant(v.lastModified, tz)}</span>
                  </button>
                </li>
              ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/** All the day's rejected rows as CSV: fetched with the token, saved from a local blob. */
function RejectsDownload({ api, date }: { api: ApiClient; date: string }) {
  const [error, setError] = useState<unknown>();
  const save = async () => {
    setError(undefined);
    try {
      const csv = await api.text(`/days/${date}/rejects.csv`);
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `rejects-${date}.csv`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <>
      <p>
        <button type="button" class="small-button" onClick={save}>
          Download all rejected rows (CSV)
        </button>
      </p>
      <ErrorNote error={error} />
    </>
  );
}
