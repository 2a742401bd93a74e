import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/stack.ts';

/** The table's rows without the time they were written, which differs between runs by nature. */
export async function tableRows(stack: LocalStack): Promise<string[]> {
  const rows: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await stack.clients.dynamodb.send(
      new ScanCommand({ TableName: stack.resources.table, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      if (!String(item.pk).startsWith('ROW#')) continue;
      const { ingestedAt: _ingestedAt, ...rest } = item;
      rows.push(JSON.stringify(rest, Object.keys(rest).sort()));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return rows.sort();
}
