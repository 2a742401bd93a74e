/**
 * Poison inputs: one IB_Calls file per class of value the store or the workbook cannot hold,
 * each with good rows around one bad row. Ingest stores the good rows and rejects the bad
 * one with the reason given here; the file and the day go on.
 */

/** One poison file of the business day 2026-03-09. */
export interface PoisonCase {
  /** The class of bad value. */
  name: string;
  type: 'IB_Calls';
  /** The file's bytes (text is UTF-8). */
  csv: string | Uint8Array;
  /** Data rows of the file that are stored. */
  stored: number;
  /** The rejected rows: the line each starts on and the reason its reject gives. */
  rejects: { line: number; reason: string }[];
}

const columns = [
  'Interval Start',
  'Interval End',
  'Interval Complete',
  'Filters',
  'Media Type',
  'Agent Id',
  'Agent Name',
  'Handle',
  'Avg Handle',
] as const;
type Column = (typeof columns)[number] | 'Notes';

/** An IB_Calls row of 2026-03-09 as cells, its agent and hour its own, with some cells replaced. */
function row(agentId: string, hour: number, cells: Partial<Record<Column, string>> = {}): Record<Column, string> {
  const h = String(hour).padStart(2, '0');
  const next = String(hour + 1).padStart(2, '0');
  return {
    'Interval Start': `2026-03-09 ${h}:00:00`,
    'Interval End': `2026-03-09 ${next}:00:00`,
    'Interval Complete': '1.0',
    Filters: 'Initial Direction: Inbound; Queue: LLSA-ACQ-DM',
    'Media Type': 'voice',
    'Agent Id': agentId,
    'Agent Name': 'José Peña',
    Handle: '3.0',
    'Avg Handle': '900806.5',
    Notes: '',
    ...cells,
  };
}

/** A file of `good` rows then the bad row (line 2 + good / 2), rows in header order. */
function ibFile(id: string, bad: Partial<Record<Column, string>>, notes = false) {
  const header: Column[] = notes ? [...columns, 'Notes'] : [...columns];
  const line = (cells: Record<Column, string>) => header.map((column) => cells[column]).join(',');
  const rows = [row(`${id}-1`, 8), row(`${id}-bad`, 9, bad), row(`${id}-2`, 10)];
  return {
    csv: `${[header.join(','), ...rows.map(line)].join('\r\n')}\r\n`,
    badCells: header.map((c) => rows[1]?.[c]),
  };
}

/** A reject reason's value, cut short as ingest shows it. */
const shown = (raw: string) => (raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);

/** A file whose bad row has one bad cell: two rows stored, the bad one rejected on line 3. */
function oneBadCell(name: string, id: string, column: Column, value: string, problem: string): PoisonCase {
  return {
    name,
    type: 'IB_Calls',
    csv: ibFile(id, { [column]: value }, column === 'Notes').csv,
    stored: 2,
    rejects: [{ line: 3, reason: `${column}: ${problem}: ${shown(value)}` }],
  };
}

const far = 'more than 7 days from the business date 2026-03-09';

function oversizeItem(): PoisonCase {
  // Five cells of 30,000 three-byte characters: each fits a workbook cell, the item would not fit DynamoDB.
  const wide = '€'.repeat(30_000);
  const { csv, badCells } = ibFile(
    'item',
    { Filters: wide, 'Media Type': wide, 'Agent Id': `item-bad${wide}`, 'Agent Name': wide, Notes: wide },
    true,
  );
  const bytes = badCells.reduce((sum, cell) => sum + Buffer.byteLength(cell ?? ''), 0);
  return {
    name: "a row whose item would pass DynamoDB's 400 KB",
    type: 'IB_Calls',
    csv,
    stored: 2,
    rejects: [{ line: 3, reason: `its item would pass DynamoDB's 400 KB (${bytes} bytes of text)` }],
  };
}

function invalidUtf8(): PoisonCase {
  // UTF-8 throughout (the good rows' names), but for one Windows-1252 é in the bad row.
  const { csv } = ibFile('utf8', { 'Agent Name': 'Jos\u0001' });
  const bytes = Buffer.from(csv, 'utf8');
  bytes[bytes.indexOf(0x01)] = 0xe9;
  return {
    name: 'an invalid UTF-8 byte in a UTF-8 file',
    type: 'IB_Calls',
    csv: bytes,
    stored: 2,
    rejects: [{ line: 3, reason: 'invalid UTF-8 byte(s)' }],
  };
}

function longLine(): PoisonCase {
  const { csv } = ibFile('long', { Notes: 'x'.repeat(1_200_000) }, true);
  return {
    name: 'a line over the 1 MiB record limit',
    type: 'IB_Calls',
    csv,
    stored: 2,
    rejects: [{ line: 3, reason: 'a line longer than 1048576 characters' }],
  };
}

export const poisonCases: PoisonCase[] = [
  oneBadCell('a count beyond 2^53', 'count53', 'Handle', '12345678901234567', 'over 2^53 − 1'),
  oneBadCell('a duration beyond 2^53', 'dur53', 'Avg Handle', '12345678901234567', 'over 366 days'),
  oneBadCell('an overflowing duration', 'overflow', 'Avg Handle', '1e200', 'over 366 days'),
  oneBadCell('a number past the double range', 'e400', 'Avg Handle', '1e400', 'not a finite number'),
  oneBadCell('Infinity', 'infinity', 'Handle', 'Infinity', 'not a finite number'),
  oneBadCell('NaN', 'nan', 'Avg Handle', 'NaN', 'not a number'),
  oneBadCell('an underflowing duration', 'underflow', 'Avg Handle', '1e-200', 'below 0.001 ms'),
  oneBadCell('hexadecimal notation', 'hex', 'Handle', '0x10', 'not a decimal number'),
  oneBadCell('binary notation', 'binary', 'Handle', '0b1', 'not a decimal number'),
  oneBadCell('octal notation', 'octal', 'Avg Handle', '0o7', 'not a decimal number'),
  oneBadCell('a negative count', 'negcount', 'Handle', '-1', 'negative'),
  oneBadCell('a negative duration', 'negdur', 'Avg Handle', '-5.5', 'negative'),
  oneBadCell('a datetime before 1900', 'y1899', 'Interval Start', '1899-12-31 09:00:00', far),
  oneBadCell('a datetime far from the business day', 'y2027', 'Interval End', '2027-03-09 10:00:00', far),
  oneBadCell('a cell over 32,767 characters', 'cell', 'Agent Name', 'N'.repeat(500_000), 'over 32767 characters'),
  oneBadCell('an extra column over 32,767 characters', 'extra', 'Notes', 'n'.repeat(40_000), 'over 32767 characters'),
  oversizeItem(),
  invalidUtf8(),
  longLine(),
];
