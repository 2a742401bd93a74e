import { describe, expect, it } from 'vitest';
import { mergeInOrder, type SortedItem } from '../../functions/workbook/merge.ts';

function item(instant: string, hash: string, agent?: string): SortedItem {
  return { sk: `2026-03-09T${instant}:00.000Z#${hash}`, values: agent === undefined ? {} : { 'Agent Name': agent } };
}

/** A partition read page by page; records how many pages were asked for and whether it was closed. */
function partition(pages: SortedItem[][]) {
  const state = { requested: 0, closed: false };
  async function* read(): AsyncGenerator<SortedItem[]> {
    try {
      for (const page of pages) {
        state.requested++;
        yield page;
      }
    } finally {
      state.closed = true;
    }
  }
  return { source: read(), state };
}

async function collect(merged: AsyncIterable<SortedItem[]>): Promise<SortedItem[][]> {
  const batches: SortedItem[][] = [];
  for await (const batch of merged) batches.push(batch);
  return batches;
}

const agentOf = (i: SortedItem) => i.values['Agent Name'] ?? '(none)';

describe('mergeInOrder', () => {
  it('merges the shards by instant, then agent name in collation order, across page boundaries', async () => {
    const shards = [
      // 13:00 goes on into the shard's second page.
      partition([
        [item('13:00', 'a1', 'Zed Zimmer'), item('13:00', 'a2', 'bob Brown')],
        [item('13:00', 'a3', 'Émile')],
      ]),
      partition([[item('13:00', 'b1', 'Anna Adams'), item('14:00', 'b2', 'Anna Adams')]]),
      partition([[], [item('12:00', 'c1', 'Zed Zimmer'), item('14:00', 'c2', '')], [item('15:00', 'c3', 'Bob Brown')]]),
      partition([]),
    ];
    const batches = await collect(
      mergeInOrder(
        shards.map((s) => s.source),
        'Agent Name',
      ),
    );
    expect(batches.map((batch) => batch.map(agentOf))).toEqual([
      ['Zed Zimmer'],
      ['Anna Adams', 'bob Brown', 'Émile', 'Zed Zimmer'],
      // An empty name sorts last.
      ['Anna Adams', ''],
      ['Bob Brown'],
    ]);
    for (const shard of shards) expect(shard.state.closed).toBe(true);
  });

  it('orders rows of one agent and instant by sort key, and rows without an agent column by sort key', async () => {
    const withAgent = await collect(
      mergeInOrder(
        [partition([[item('09:00', 'z', 'Ann')]]).source, partition([[item('09:00', 'a', 'Ann')]]).source],
        'Agent Name',
      ),
    );
    expect(withAgent[0]?.map((i) => i.sk.split('#')[1])).toEqual(['a', 'z']);
    const withoutAgent = await collect(
      mergeInOrder([partition([[item('09:00', 'y')]]).source, partition([[item('09:00', 'b')]]).source], undefined),
    );
    expect(withoutAgent[0]?.map((i) => i.sk.split('#')[1])).toEqual(['b', 'y']);
  });

  it('holds one page of each shard and asks for the next one ahead, not the whole day', async () => {
    const pages = (shard: number) =>
      Array.from({ length: 10 }, (_, hour) => [item(`${String(hour + 10)}:00`, `${shard}-${hour}`, 'Ann')]);
    const shards = [partition(pages(0)), partition(pages(1))];
    const merged = mergeInOrder(
      shards.map((s) => s.source),
      'Agent Name',
    );
    const first = await merged.next();
    expect(first.value?.map((i: SortedItem) => i.sk.slice(11, 16))).toEqual(['10:00', '10:00']);
    for (const shard of shards) expect(shard.state.requested).toBeLessThanOrEqual(3);
    // A consumer that stops early closes every shard's reader.
    await merged.return(undefined);
    for (const shard of shards) expect(shard.state.closed).toBe(true);
  });

  it('fails when a shard cannot be read', async () => {
    async function* failing(): AsyncGenerator<SortedItem[]> {
      yield [item('08:00', 'f1', 'Ann')];
      throw new Error('throttled for good');
    }
    const healthy = partition([[item('08:00', 'h1', 'Bob')], [item('09:00', 'h2', 'Bob')]]);
    await expect(collect(mergeInOrder([failing(), healthy.source], 'Agent Name'))).rejects.toThrow(
      'throttled for good',
    );
    expect(healthy.state.closed).toBe(true);
  });
});
