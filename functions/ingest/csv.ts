export type Delimiter = ',' | ';' | '\t';

/** A parsed record and the line of the source where it starts (1 = the header). */
export interface CsvRecord {
  cells: string[];
  line: number;
  /** Set when the record could not be read as CSV; `cells` then holds its first line, raw. */
  malformed?: string;
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
 * A record must end within this many characters of its start. A quoted field that does not
 * close by then has its opening quote taken as a stray: the record's first line is rejected
 * and parsing resumes on the next line. A line that is still open by then is rejected whole
 * and skipped to its end without being kept. This keeps memory bounded whatever the file holds.
 */
export const maxRecordChars = 1 << 20;

/** Characters of an over-long line kept in its reject, to show what it was. */
const overlongHeadChars = 200;

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * A streaming RFC 4180 reader written for speed: text is pushed in chunks of any size and
 * complete records come back. Quoted fields may hold delimiters, doubled quotes and line
 * breaks; CRLF and LF both end a record. The delimiter is detected from the header line.
 * Lines without a quote (nearly all of them) are split natively; only quoted records are
 * scanned character by character.
 */
export class CsvParser {
  private pending = '';
  /** Line number where `pending` starts. */
  private line = 1;
  private detected: Delimiter | undefined;
  /** How far from its start `pending` is known to hold no line feed: text is searched once, however it arrives. */
  private searched = 0;
  /** Set while the rest of an over-long line is being skipped: the text up to its line feed is dropped. */
  private skipping = false;

  /** The delimiter detected from the header line; undefined until the header line is read. */
  get delimiter(): Delimiter | undefined {
    return this.detected;
  }

  /** The records completed by this chunk. */
  push(chunk: string): CsvRecord[] {
    if (this.skipping) {
      const end = chunk.indexOf('\n');
      if (end < 0) return [];
      this.skipping = false;
      return this.push(chunk.slice(end + 1));
    }
    this.pending = this.pending === '' ? chunk : this.pending + chunk;
    if (this.detected === undefined) {
      const end = this.pending.indexOf('\n', this.searched);
      if (end < 0) {
        if (this.pending.length <= maxRecordChars) {
          this.searched = this.pending.length;
          return [];
        }
        this.detected = detectDelimiter(this.pending.slice(0, overlongHeadChars));
      } else {
        this.detected = detectDelimiter(this.pending.slice(0, end));
      }
    }
    return this.parse(false);
  }

  /** The records left when the text ends (a last line without a line break). */
  end(): CsvRecord[] {
    if (this.pending === '') return [];
    this.detected ??= detectDelimiter(this.pending);
    return this.parse(true);
  }

  private parse(final: boolean): CsvRecord[] {
    const text = this.pending;
    const delimiter = this.detected as Delimiter;
    const records: CsvRecord[] = [];
    const length = text.length;
    let pos = 0;
    let line = this.line;
    // The next quote at or after `pos`, found once and reused while `pos` has not passed it.
    let nextQuote = text.indexOf('"');
    // Likewise the next delimiter (-1: none left), so that a line ending without one does not
    // make the search run through the lines after it.
    let nextDelimiter = text.indexOf(delimiter);
    let searched = 0;
    while (pos < length) {
      let newline = text.indexOf('\n', pos === 0 ? this.searched : pos);
      if (newline < 0) {
        if (!final && length - pos > maxRecordChars) {
          // A line open for longer than any record may be: rejected, and its rest skipped unread.
          records.push(overlongLine(text, pos, line));
          line++;
          pos = length;
          this.skipping = true;
          break;
        }
        if (!final) {
          searched = length - pos;
          break;
        }
        newline = length;
      }
      if (nextQuote >= 0 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
      if (nextQuote < 0 || nextQuote > newline) {
        const end = newline > pos && text.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
        // Cut at each delimiter found by indexOf: cheaper than slice(…).split(…).
        if (nextDelimiter >= 0 && nextDelimiter < pos) nextDelimiter = text.indexOf(delimiter, pos);
        const cells: string[] = [];
        let from = pos;
        while (nextDelimiter >= 0 && nextDelimiter < end) {
          cells.push(text.slice(from, nextDelimiter));
          from = nextDelimiter + 1;
          nextDelimiter = text.indexOf(delimiter, from);
        }
        cells.push(text.slice(from, end));
        records.push({ cells, line });
        line++;
        pos = newline + 1;
        continue;
      }
      const quoted = readQuotedRecord(text, pos, delimiter, final);
      if (quoted === undefined) {
        if (length - pos <= maxRecordChars) break;
        // An opening quote that never closes: reject the line it is on and go on after it.
        records.push(strayQuote(text, pos, newline, line));
        line++;
        pos = newline + 1;
        continue;
      }
      if (quoted === 'unterminated') {
        records.push(strayQuote(text, pos, newline, line));
        line++;
        pos = newline + 1;
        continue;
      }
      records.push({ cells: quoted.cells, line });
      line += quoted.lines;
      pos = quoted.next;
    }
    this.searched = searched;
    this.pending = pos >= length ? '' : text.slice(pos);
    this.line = line;
    return records;
  }
}

function overlongLine(text: string, pos: number, line: number): CsvRecord {
  return {
    cells: [`${text.slice(pos, pos + overlongHeadChars)}…`],
    line,
    malformed: `a line longer than ${maxRecordChars} characters`,
  };
}

function strayQuote(text: string, pos: number, newline: number, line: number): CsvRecord {
  const end = newline > pos && text.charCodeAt(newline - 1) === CR ? newline - 1 : newline;
  return { cells: [text.slice(pos, end)], line, malformed: 'a quoted field is never closed' };
}

interface QuotedRecord {
  cells: string[];
  /** Physical lines the record spans. */
  lines: number;
  /** Where the next record starts. */
  next: number;
}

/**
 * Reads one record that holds a quote. Undefined when the text ends inside the record and
 * more may come; 'unterminated' when it ends inside a quoted field for good. Characters
 * after a closing quote are kept as they are (lenient, like Excel).
 */
function readQuotedRecord(
  text: string,
  start: number,
  delimiter: Delimiter,
  final: boolean,
): QuotedRecord | 'unterminated' | undefined {
  const length = text.length;
  const delimiterCode = delimiter.charCodeAt(0);
  const cells: string[] = [];
  let lines = 1;
  let i = start;
  // The next line feed, moved on as quoted fields are passed: line breaks inside them are counted.
  let newline = text.indexOf('\n', start);
  for (;;) {
    let value = '';
    if (text.charCodeAt(i) === QUOTE) {
      let from = i + 1;
      for (;;) {
        const close = text.indexOf('"', from);
        if (close < 0) return final ? 'unterminated' : undefined;
        while (newline >= 0 && newline < close) {
          lines++;
          newline = text.indexOf('\n', newline + 1);
        }
        if (close + 1 >= length && !final) return undefined;
        if (text.charCodeAt(close + 1) === QUOTE) {
          value += text.slice(from, close + 1);
          from = close + 2;
          continue;
        }
        value = value === '' ? text.slice(from, close) : value + text.slice(from, close);
        i = close + 1;
        break;
      }
      // The common case: the closing quote ends the field.
      const next = text.charCodeAt(i);
      if (next === delimiterCode) {
        cells.push(value);
        i++;
        continue;
      }
      if (next === LF || (next === CR && text.charCodeAt(i + 1) === LF)) {
        cells.push(value);
        return { cells, lines, next: next === LF ? i + 1 : i + 2 };
      }
      if (i >= length || (next === CR && i + 1 >= length)) {
        if (!final) return undefined;
        cells.push(value);
        return { cells, lines, next: length };
      }
    }
    const fieldStart = i;
    while (i < length) {
      const code = text.charCodeAt(i);
      if (code === delimiterCode || code === LF) break;
      i++;
    }
    if (i >= length && !final) return undefined;
    let fieldEnd = i;
    if ((i >= length || text.charCodeAt(i) === LF) && fieldEnd > fieldStart && text.charCodeAt(fieldEnd - 1) === CR) {
      fieldEnd--;
    }
    cells.push(value + text.slice(fieldStart, fieldEnd));
    if (i >= length) return { cells, lines, next: length };
    if (text.charCodeAt(i) === LF) return { cells, lines, next: i + 1 };
    i++;
  }
}

/** Parses decoded text chunks into records, streaming; `parser` tells the delimiter it found. */
export async function* parseCsv(text: AsyncIterable<string>, parser = new CsvParser()): AsyncGenerator<CsvRecord[]> {
  for await (const chunk of text) {
    const records = parser.push(chunk);
    if (records.length > 0) yield records;
  }
  const rest = parser.end();
  if (rest.length > 0) yield rest;
}

/**
 * The first `count` records of a stream of batches (all of them, if fewer), read at once:
 * however the bytes arrived, the same records. The batches after them are left to iterate.
 */
export async function readAhead(batches: AsyncIterator<CsvRecord[]>, count: number): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  while (records.length < count) {
    const next = await batches.next();
    if (next.done) break;
    records.push(...next.value);
  }
  return records;
}

const utf8 = new TextEncoder();

/**
 * One CSV line (comma-separated, RFC 4180 quoting, CRLF) as UTF-8, in a buffer of its own.
 * Written as a string, a line would become a slice of a 64 KB pooled buffer shared with
 * whatever else was allocated meanwhile, and an upload keeping its lines until a part is
 * full would keep each of those buffers alive: up to 64 KB a reject (57 MB for the 1,000
 * rejects of a 1M-row file).
 */
export function formatCsvRow(cells: readonly (string | number)[]): Uint8Array {
  return utf8.encode(`${cells.map(formatCsvCell).join(',')}\r\n`);
}

/**
 * Text that a spreadsheet would take for a formula (a leading `=`, `+`, `-`, `@`, tab or
 * CR) gets a leading `'`, as OWASP advises against CSV injection: a rejects file holds
 * whatever a sender put in the export, and is opened in Excel. Numbers are written as they are.
 */
function formatCsvCell(cell: string | number): string {
  if (typeof cell === 'number') return String(cell);
  const text = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
