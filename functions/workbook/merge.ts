import type { RowValues } from './stats.ts';

/** An item of a partition, as the merge needs it: its sort key leads with the UTC instant of its date column. */
export interface SortedItem {
  sk: string;
  values: RowValues;
}

interface Cursor<T> {
  source: AsyncIterator<T[]>;
  page: T[];
  index: number;
  next: Promise<IteratorResult<T[]>> | undefined;
}

const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/**
 * Merges partitions that each read back in time order into one stream in time order, then
 * by agent: the rows of one instant (one interval) are gathered from every partition and
 * sorted by agent name, then by sort key, so the order does not depend on the shards. Each
 * partition has one page in hand and the next one in flight, so memory is bounded by the
 * pages and the largest interval, not by the day. Yields the rows of one instant at a time.
 */
export async function* mergeInOrder<T extends SortedItem>(
  sources: AsyncIterator<T[]>[],
  agentColumn: string | undefined,
): AsyncGenerator<T[]> {
  const cursors: Cursor<T>[] = sources.map((source) => ({ source, page: [], index: 0, next: request(source) }));
  try {
    for (;;) {
      await Promise.all(cursors.map(fill));
      let instant: string | undefined;
      for (const cursor of cursors) {
        const item = cursor.page[cursor.index];
        if (item === undefined) continue;
        const at = instantOf(item);
        if (instant === undefined || at < instant) instant = at;
      }
      if (instant === undefined) return;
      const group: T[] = [];
      for (const cursor of cursors) {
        for (;;) {
          const item = cursor.page[cursor.index];
          if (item === undefined) {
            // The instant may go on in the partition's next page.
            if (!cursor.next) break;
            await fill(cursor);
            continue;
          }
          if (instantOf(item) !== instant) break;
          group.push(item);
          cursor.index++;
        }
      }
      yield sortByAgent(group, agentColumn);
    }
  } finally {
    await Promise.allSettled(sources.map((source) => source.return?.()));
  }
}

function request<T>(source: AsyncIterator<T[]>): Promise<IteratorResult<T[]>> {
  const next = source.next();
  // Once the consumer has stopped, nobody awaits this page: its failure must not be an unhandled rejection.
  next.catch(() => undefined);
  return next;
}

/** Makes the cursor's current item available, unless its partition is exhausted; asks for the page after. */
async function fill<T>(cursor: Cursor<T>): Promise<void> {
  while (cursor.index >= cursor.page.length && cursor.next) {
    const result = await cursor.next;
    if (result.done) {
      cursor.next = undefined;
      cursor.page = [];
    } else {
      cursor.page = result.value;
      cursor.next = request(cursor.source);
    }
    cursor.index = 0;
  }
}

function instantOf(item: SortedItem): string {
  const hash = item.sk.indexOf('#');
  return hash < 0 ? item.sk : item.sk.slice(0, hash);
}

/** Agents in collation order (empty names last), then sort key; names are ranked once per group. */
function sortByAgent<T extends SortedItem>(group: T[], agentColumn: string | undefined): T[] {
  if (group.length < 2) return group;
  if (!agentColumn) return group.sort((a, b) => compareText(a.sk, b.sk));
  const nameOf = (item: T) => {
    const name = item.values[agentColumn];
    return typeof name === 'string' && name !== '' ? name : undefined;
  };
  const names = [...new Set(group.map(nameOf).filter((name) => name !== undefined))].sort(collator.compare);
  const rank = new Map(names.map((name, i) => [name, i]));
  const rankOf = (item: T) => {
    const name = nameOf(item);
    return name === undefined ? names.length : (rank.get(name) ?? names.length);
  };
  return group.sort((a, b) => rankOf(a) - rankOf(b) || compareText(a.sk, b.sk));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
