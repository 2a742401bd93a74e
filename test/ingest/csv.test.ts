import { describe, expect, it } from 'vitest';
import {
  CsvParser,
  type CsvRecord,
  detectDelimiter,
  formatCsvRow,
  maxRecordChars,
  parseCsv,
  readAhead,
} from '../../functions/ingest/csv.ts';
import { decodeChunks, readsAsUtf8, scanUtf8 } from '../../functions/ingest/decode.ts';

/** Parses text pushed in pieces of `size` characters (every boundary a chunk can fall on). */
function parse(text: string, size = text.length): CsvRecord[] {
  const parser = new CsvParser();
  const records: CsvRecord[] = [];
  for (let i = 0; i < text.length; i += size) records.push(...parser.push(text.slice(i, i + size)));
  records.push(...parser.end());
  return records;
}

/** The same records whatever the chunk size, down to one character at a time. */
function parseEverySplit(text: string): CsvRecord[] {
  const whole = parse(text);
  for (const size of [1, 2, 3, 7, 64]) expect(parse(text, size)).toEqual(whole);
  return whole;
}

describe('detectDelimiter', () => {
  it('takes the delimiter seen most often outside quotes', () => {
    expect(detectDelimiter('a,b,c')).toBe(',');
    expect(detectDelimiter('a;b;c')).toBe(';');
    expect(detectDelimiter('a\tb\tc')).toBe('\t');
    expect(detectDelimiter('"a;b;c;d",e,f')).toBe(',');
    expect(detectDelimiter('single')).toBe(',');
  });
});

describe('CsvParser', () => {
  it('reads LF and CRLF lines with the line each record starts on', () => {
    expect(parseEverySplit('h1,h2\r\na,b\r\nc,d\r\n')).toEqual([
      { cells: ['h1', 'h2'], line: 1 },
      { cells: ['a', 'b'], line: 2 },
      { cells: ['c', 'd'], line: 3 },
    ]);
    expect(parseEverySplit('h1;h2\na;b\n\nc;d')).toEqual([
      { cells: ['h1', 'h2'], line: 1 },
      { cells: ['a', 'b'], line: 2 },
      { cells: [''], line: 3 },
      { cells: ['c', 'd'], line: 4 },
    ]);
  });

  it('reads quoted fields holding delimiters, doubled quotes and line breaks', () => {
    const text =
      'name\tnote\tn\r\n' +
      '"Peña, José"\t"said ""hi""\tand left"\t1\r\n' +
      '"Zoë"\t"two\r\nlines\nthree"\t2\r\n' +
      'plain\t""\t3\r\n' +
      '"ends in a quote"""\t"\r"\t"3.5"\r\n' +
      '"last"\t"end"\t"4"';
    expect(parseEverySplit(text)).toEqual([
      { cells: ['name', 'note', 'n'], line: 1 },
      { cells: ['Peña, José', 'said "hi"\tand left', '1'], line: 2 },
      { cells: ['Zoë', 'two\r\nlines\nthree', '2'], line: 3 },
      { cells: ['plain', '', '3'], line: 6 },
      { cells: ['ends in a quote"', '\r', '3.5'], line: 7 },
      { cells: ['last', 'end', '4'], line: 8 },
    ]);
  });

  it('keeps a quote inside an unquoted field, and text after a closing quote, as written', () => {
    expect(parseEverySplit('a,b\n5" screen,"x"y\n')).toEqual([
      { cells: ['a', 'b'], line: 1 },
      { cells: ['5" screen', 'xy'], line: 2 },
    ]);
  });

  it('rejects the line of a quote that never closes and reads on from the next line', () => {
    expect(parseEverySplit('a,b\n"open,1\nc,d\n')).toEqual([
      { cells: ['a', 'b'], line: 1 },
      { cells: ['"open,1'], line: 2, malformed: 'a quoted field is never closed' },
      { cells: ['c', 'd'], line: 3 },
    ]);
  });

  it('gives up on a quoted field longer than the limit, so memory stays bounded', () => {
    const parser = new CsvParser();
    expect(parser.push('a,b\n"open,1\n')).toEqual([{ cells: ['a', 'b'], line: 1 }]);
    const filler = 'x,y\n'.repeat(maxRecordChars / 4 + 1);
    const records = parser.push(filler);
    expect(records[0]).toEqual({ cells: ['"open,1'], line: 2, malformed: 'a quoted field is never closed' });
    expect(records[1]).toEqual({ cells: ['x', 'y'], line: 3 });
    expect(records).toHaveLength(1 + maxRecordChars / 4 + 1);
  });

  it('rejects a line with no line feed once it passes the limit, keeps none of it, and reads on after it', () => {
    const chunk = 'x'.repeat(1 << 16);
    for (const opening of ['1,', '1,"']) {
      const parser = new CsvParser();
      const records = parser.push('a,b\n');
      records.push(...parser.push(opening));
      // Thirty times the limit, as a stream delivers it: the parser never holds more than the limit and a chunk.
      for (let i = 0; i < (30 * maxRecordChars) / chunk.length; i++) records.push(...parser.push(chunk));
      records.push(...parser.push('\nc,d\n'), ...parser.end());
      expect(records).toEqual([
        { cells: ['a', 'b'], line: 1 },
        {
          cells: [`${opening}${'x'.repeat(200 - opening.length)}…`],
          line: 2,
          malformed: `a line longer than ${maxRecordChars} characters`,
        },
        { cells: ['c', 'd'], line: 3 },
      ]);
    }
  });

  it('rejects an over-long header line the same way, and still finds the delimiter', () => {
    const parser = new CsvParser();
    const records = parser.push(`a;b;${'x'.repeat(maxRecordChars)}`);
    records.push(...parser.push('y\nc;d\n'), ...parser.end());
    expect(records.map((r) => [r.line, r.malformed ?? r.cells])).toEqual([
      [1, `a line longer than ${maxRecordChars} characters`],
      [2, ['c', 'd']],
    ]);
  });

  it('returns nothing for empty text', () => {
    expect(parse('')).toEqual([]);
  });
});

describe('formatCsvRow', () => {
  it('writes a CRLF line, quoting where needed, as UTF-8 in a buffer of its own rather than a slice of a shared pool', () => {
    const line = formatCsvRow([12, 'Peña, José', 'said "hi"', 'two\nlines', 'plain']);
    expect(new TextDecoder().decode(line)).toBe('12,"Peña, José","said ""hi""","two\nlines",plain\r\n');
    expect(line.buffer.byteLength).toBe(line.byteLength);
  });

  it('neutralises text a spreadsheet would run as a formula, with a leading quote', () => {
    const cells = ['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', '\tx', '\rx', "'=kept", 'a=b'];
    expect(new TextDecoder().decode(formatCsvRow([-3, ...cells]))).toBe(
      `-3,"'=HYPERLINK(""http://x"")",'+1,'-2,'@SUM(A1),'\tx,"'\rx",'=kept,a=b\r\n`,
    );
  });
});

describe('parseCsv over decodeChunks', () => {
  it('decodes a large stream chunk in bounded pieces, keeping characters cut between pieces whole', async () => {
    // 3- and 2-byte characters at every offset, so that some straddle each cut.
    const rows = Array.from({ length: 60_000 }, (_, i) => `${i},€${'é'.repeat(i % 7)}€,${'x'.repeat(i % 5)}`);
    const text = `n,text,pad\r\n${rows.join('\r\n')}\r\n`;
    async function* oneChunk() {
      yield new TextEncoder().encode(`\uFEFF${text}`);
    }
    const pieces: string[] = [];
    for await (const piece of decodeChunks(oneChunk(), 'utf-8')) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(10);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(1 << 16);
    expect(pieces.join('')).toBe(text);

    async function* decoded() {
      yield* pieces;
    }
    const records: CsvRecord[] = [];
    for await (const batch of parseCsv(decoded())) records.push(...batch);
    expect(records).toHaveLength(rows.length + 1);
    records.slice(1).forEach((record, i) => {
      expect(record).toEqual({ cells: (rows[i] as string).split(','), line: i + 2 });
    });
  });
});

describe('scanUtf8 and readsAsUtf8', () => {
  async function* chunksOf(bytes: Buffer, size: number) {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const scan = async (bytes: Buffer) => {
    const whole = await scanUtf8(chunksOf(bytes, bytes.length || 1));
    // The same counts whatever the chunks, a sequence cut between two of them included.
    for (const size of [1, 2, 3]) expect(await scanUtf8(chunksOf(bytes, size))).toEqual(whole);
    return whole;
  };

  it('reads a UTF-8 file with a stray byte as UTF-8, and counts the byte', async () => {
    const bytes = Buffer.from('José Peña,Zoë Müller,€,😀\nJos\u0001\n', 'utf8');
    bytes[bytes.indexOf(0x01)] = 0xe9;
    expect(await scan(bytes)).toEqual({ valid: 6, invalid: 1 });
    expect(readsAsUtf8(await scan(bytes))).toBe(true);
  });

  it('reads a Windows-1252 file as Windows-1252, even with a single accented letter', async () => {
    expect(readsAsUtf8(await scan(Buffer.from('José Peña,Zoë Müller\n', 'latin1')))).toBe(false);
    expect(await scan(Buffer.from('plain ascii, José\n', 'latin1'))).toEqual({ valid: 0, invalid: 1 });
    expect(readsAsUtf8(await scan(Buffer.from('plain ascii, José\n', 'latin1')))).toBe(false);
  });

  it('counts sequences cut short, overlong forms and surrogates as invalid, as the decoder replaces them', async () => {
    const cases = [
      Buffer.from([0xe2, 0x82]), // € cut short at the end
      Buffer.from([0xe2, 0x82, 0x41]), // … and by an ASCII letter
      Buffer.from([0xc0, 0xaf]), // overlong /
      Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
    ];
    for (const bytes of cases) {
      const replaced = [...new TextDecoder().decode(bytes)].filter((c) => c === '\uFFFD').length;
      expect((await scan(bytes)).invalid).toBe(replaced);
    }
  });
});

describe('readAhead', () => {
  it('reads the same first records however the text arrives, tells the delimiter, and leaves the rest to iterate', async () => {
    const lines = ['a;b', ...Array.from({ length: 30 }, (_, i) => `${i};${i},5`)];
    const text = `${lines.join('\r\n')}\r\n`;
    for (const size of [1, 5, 64, text.length]) {
      async function* pieces() {
        for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
      }
      const parser = new CsvParser();
      const batches = parseCsv(pieces(), parser);
      const first = await readAhead(batches, 11);
      expect(parser.delimiter).toBe(';');
      expect(first.slice(0, 11).map((record) => record.cells)).toEqual(lines.slice(0, 11).map((l) => l.split(';')));
      const rest: CsvRecord[] = [];
      for await (const batch of batches) rest.push(...batch);
      expect([...first, ...rest].map((record) => record.line)).toEqual(lines.map((_, i) => i + 1));
    }
  });
});
