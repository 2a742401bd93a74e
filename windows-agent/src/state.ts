import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A file whose content is in the agent inbox. */
export interface PushedFile {
  /** The export's business day in the cloud's time zone: collect stores the same content once per day. */
  day: string;
  sha256: string;
  /** The inbox key it went to (for a repeat, the key of the copy pushed before). */
  key: string;
  fileName: string;
  receivedAt: string;
  exportedAt: string;
  pushedAt: string;
  /** The Outlook attachment (`EntryID/index`) it came from, so that Outlook does not save it again. */
  attachment?: string;
}

export interface PendingFile {
  fileName: string;
  receivedAt: string;
  reason: string;
}

export interface RunRecord {
  startedAt: string;
  finishedAt: string;
  source: 'outlook' | 'folder';
  dryRun: boolean;
  /** Files found that were not pushed before. */
  found: number;
  pushed: number;
  /** Content already in the inbox (this agent pushed it, or the endpoint had it). */
  alreadyPushed: number;
  /** Left out by the rules, as collect would leave them. */
  skipped: number;
  /** Found and still to push: the next run tries them again. */
  pending: PendingFile[];
  error?: string;
}

export interface AgentState {
  version: 1;
  pushed: PushedFile[];
  /** The last file actually uploaded. */
  lastPush?: { at: string; key: string; fileName: string };
  lastRun?: RunRecord;
}

export class StateError extends Error {
  override name = 'StateError';
}

export async function loadState(path: string): Promise<AgentState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pushed: [] };
    throw error;
  }
  const state = JSON.parse(text) as Partial<AgentState>;
  if (state.version !== 1 || !Array.isArray(state.pushed)) {
    throw new StateError(`${path} is not an agent state file; move it away to start afresh`);
  }
  return state as AgentState;
}

/** Written to a temporary file and renamed over the old one: a crash leaves either the old state or the new. */
export async function saveState(path: string, state: AgentState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
  await rename(temporary, path);
}

/** Whether this content, exported then, is in the inbox already: a copy of the same day exported no later. */
export function pushedBefore(
  state: AgentState,
  day: string,
  sha256: string,
  exportedAt: string,
): PushedFile | undefined {
  return state.pushed.find((p) => p.day === day && p.sha256 === sha256 && p.exportedAt <= exportedAt);
}

/** Forgets files received before the earliest time any later run looks at: none of them can come back. */
export function forgetBefore(state: AgentState, instantMs: number): void {
  state.pushed = state.pushed.filter((p) => Date.parse(p.receivedAt) >= instantMs);
}
