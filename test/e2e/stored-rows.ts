import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/stack.ts';

/** The table's row items without the time they were written, which differs between runs by nature. */
export async function rowItems(stack: LocalStack): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamodb.send(
      new ScanCommand({ TableName: stack.resources.table, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      if (!String(item.pk).startsWith('ROW#')) continue;
      const { ingestedAt: _ingestedAt, ...rest } = item;
      items.push(rest);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The table's rows as comparable text, sorted. */
export async function tableRows(stack: LocalStack): Promise<string[]> {
  return (await rowItems(stack)).map((item) => JSON.stringify(item, Object.keys(item).sort())).sort();
}
