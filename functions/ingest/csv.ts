import { parse } from 'csv-parse';

export type Delimiter = ',' | ';' | '\t';

/** A parsed record and the line of the source where it starts (1 = the header). */
export interface CsvRecord {
  cells: string[];
  line: number;
}

/** The delimiter of a header line: the candidate seen most often outside quotes. */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.entries(counts) as [Delimiter, number][]).sort((a, b) => b[1] - a[1])[0];
  return best && best[1] > 0 ? best[0] : ',';
}

/**
 * Parses decoded text into records, streaming: quoted fields may hold delimiters, quotes
 * and newlines; CRLF and LF both end a record. The delimiter is detected from the first line.
 */
export async function* parseCsv(text: AsyncIterable<string>): AsyncGenerator<CsvRecord & { delimiter: Delimiter }> {
  const source = text[Symbol.asyncIterator]();
  let head = '';
  let delimiter: Delimiter | undefined;
  while (delimiter === undefined) {
    const next = await source.next();
    if (next.done) break;
    head += next.value;
    const end = head.search(/\r?\n/);
    if (end >= 0) delimiter = detectDelimiter(head.slice(0, end));
  }
  if (head === '') return;
  delimiter ??= detectDelimiter(head);

  const parser = parse({
    delimiter,
    relax_column_count: true,
    skip_empty_lines: false,
    info: true,
  });
  const feed = (async () => {
    try {
      parser.write(head);
      for (let next = await source.next(); !next.done; next = await source.next()) {
        if (!parser.write(next.value)) await new Promise((resolve) => parser.once('drain', resolve));
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();

  let previousEnd = 0;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    yield { cells: item.record, line: previousEnd + 1, delimiter };
    previousEnd = item.info.lines;
  }
  await feed;
}

/** One CSV line (comma-separated, RFC 4180 quoting, CRLF). */
export function formatCsvRow(cells: readonly (string | number)[]): string {
  return `${cells.map((cell) => (/[",\r\n]/.test(String(cell)) ? `"${String(cell).replace(/"/g, '""')}"` : String(cell))).join(',')}\r\n`;
}
