import { useEffect, useState } from 'preact/hooks';
import type { ConsoleSettings, TodayResponse } from '../../../functions/console-api/contract.ts';
import type { ApiClient } from '../api.ts';
import { VolumeChart } from '../components/chart.tsx';
import { MissingAndLate } from '../components/late-exports.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { instant } from '../format.ts';
import { PageTitle } from './title.tsx';

const pollMs = 15_000;

/** The business day in progress; polled, and shown anew only when its etag changes (after an intraday run). */
export function TodayPage({ api, settings }: { api: ApiClient; settings: ConsoleSettings }) {
  const [today, setToday] = useState<TodayResponse>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const next = await api.get<TodayResponse>('/today');
        if (stopped) return;
        setToday((current) => (current?.etag === next.etag ? current : next));
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(failure);
      }
      if (!stopped) timer = setTimeout(poll, pollMs);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);
  const tz = settings.timeZone;
  return (
    <>
      <PageTitle>Today{today ? `: ${today.date}` : ''}</PageTitle>
      <ErrorNote error={error} />
      {!today && !error && <Loading what="today" />}
      {today && (
        <>
          <p>
            Last run {instant(today.lastRunAt, tz)}; next run {instant(today.nextRunAt, tz)} ({tz}). This page refreshes
            itself after each run.
          </p>
          <section aria-labelledby="today-missing">
            <h2 id="today-missing">Missing and late exports</h2>
            <MissingAndLate
              missing={today.missing}
              late={today.late}
              tz={tz}
              absent="nothing yet"
              allArrived="Nothing missing or late so far."
            />
          </section>
          <section aria-labelledby="today-volume">
            <h2 id="today-volume">Volume by hour so far</h2>
            <VolumeChart hours={today.volumeByHour} title={`Rows per hour on ${today.date} so far, by export type`} />
          </section>
        </>
      )}
    </>
  );
}
