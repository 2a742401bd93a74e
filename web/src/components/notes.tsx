import type { DayStatus } from '../../../functions/console-api/contract.ts';
import { ApiError } from '../api.ts';

/** An API error as its message; a refused role says so plainly. */
export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined) return null;
  let text = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError && error.status === 403) text = `Not allowed: ${error.message}`;
  else if (error instanceof ApiError && error.status > 0) text = `${error.message} (${error.status})`;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

const statusText: Record<DayStatus, string> = {
  delivered: 'Delivered',
  built: 'Built, not delivered',
  running: 'Running',
  failed: 'Failed',
  late: 'Late',
  missing: 'Exports missing',
  none: 'No run',
};

export function StatusBadge({ status, failedStage }: { status: DayStatus; failedStage?: string | undefined }) {
  return (
    <span class={`badge badge-${status}`}>
      {statusText[status]}
      {status === 'failed' && failedStage ? ` at ${failedStage}` : ''}
    </span>
  );
}

export const dayStatuses = Object.keys(statusText) as DayStatus[];
export { statusText };
