import { useEffect, useState } from 'preact/hooks';
import type { ExecutionState } from '../../../functions/console-api/contract.ts';
import type { ApiClient } from '../api.ts';
import { duration } from '../format.ts';
import { ErrorNote } from './notes.tsx';

const pollMs = 1000;

/** Follows an execution (`GET /executions/{id}`) until it ends, then says how it ended. */
export function ExecutionProgress(props: {
  api: ApiClient;
  title: string;
  executionId: string;
  onEnd(state: ExecutionState): void;
}) {
  const { api, executionId, onEnd } = props;
  const [state, setState] = useState<ExecutionState>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const next = await api.get<ExecutionState>(`/executions/${encodeURIComponent(executionId)}`);
        if (stopped) return;
        setState(next);
        if (next.status === 'RUNNING') timer = setTimeout(poll, pollMs);
        else onEnd(next);
      } catch (failure) {
        if (!stopped) setError(failure);
      }
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, executionId, onEnd]);
  const ended = state && state.status !== 'RUNNING';
  const elapsed = state && (state.stoppedAt ? Date.parse(state.stoppedAt) : Date.now()) - Date.parse(state.startedAt);
  return (
    <div class={`progress ${ended ? `ended status-${state.status.toLowerCase()}` : ''}`}>
      <p role="status" aria-live="polite">
        <strong>{props.title}</strong>: {state ? describe(state) : 'started'}
        {state && ` (${duration(elapsed)})`}
      </p>
      <p class="small">
        Execution <code>{executionId.split(':').pop()}</code>
      </p>
      <ErrorNote error={error} />
    </div>
  );
}

function describe(state: ExecutionState): string {
  switch (state.status) {
    case 'RUNNING':
      return 'running…';
    case 'SUCCEEDED':
      return 'succeeded';
    case 'FAILED':
      return `failed${state.failedStage ? ` at ${state.failedStage}` : ''}`;
    case 'TIMED_OUT':
      return 'timed out';
    case 'ABORTED':
      return 'cancelled';
  }
}
