import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MimePart,
  maxHeaderBytes,
  maxMultipartDepth,
  maxParts,
  partName,
  readMime,
  readMimeHeaders,
} from '../../functions/collect/mime.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { config, date, forwarded, ibCallsCsv, mime } from './harness.ts';

/** The message in pieces of `size` bytes, as a slow download hands them over. */
async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

interface ReadPart {
  name: string | undefined;
  contentType: string;
  inline: boolean;
  content: Buffer;
}

async function parts(bytes: Uint8Array, size = 64 * 1024) {
  const found: ReadPart[] = [];
  const headers = await readMime(pieces(bytes, size), async (part: MimePart) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of part.content) chunks.push(chunk);
    found.push({ name: part.name, contentType: part.contentType, inline: part.inline, content: Buffer.concat(chunks) });
  });
  return { headers, parts: found };
}

describe('reading MIME as it streams', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlie-mime-'));
    await writeSampleMailbox({ config, date, dir });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the same headers and attachments as mailparser in every message of a sample day, in any chunking', async () => {
    const names = (await readdir(dir)).filter((name) => name.endsWith('.eml'));
    expect(names.length).toBeGreaterThan(100);
    for (const [i, name] of names.entries()) {
      const raw = await readFile(join(dir, name));
      const reference = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true });
      const read = await parts(raw, [1, 7, 4096, 1 << 20][i % 4] as number);
      expect(read.headers.subject, name).toBe(reference.subject);
      expect(read.headers.messageId, name).toBe(reference.messageId);
      expect(read.headers.date?.getTime(), name).toBe(reference.date?.getTime());
      expect(read.headers.from, name).toBe(reference.from?.value[0]?.address?.toLowerCase());
      expect(
        read.parts.map((p) => [p.name, p.contentType, p.content.toString('base64')]),
        name,
      ).toEqual(reference.attachments.map((a) => [a.filename, a.contentType, a.content.toString('base64')]));
    }
  });

  it('decodes encoded-word subjects and names, RFC 2231 names, quoted-printable and Windows-1252', async () => {
    const latin = Buffer.from('Agent Name\r\nJosé Peña\r\n', 'latin1');
    const raw = await mime({
      from: { name: 'Zoë Müller', address: 'Zoe.Muller@Example.com' },
      to: 'reports@example.com',
      subject: 'Résumé des exports — IB_Calls',
      date: new Date('2026-03-09T15:00:00Z'),
      messageId: '<accents@example.com>',
      text: 'Bonjour',
      attachments: [
        { filename: 'Übersicht €.csv', content: ibCallsCsv, contentTransferEncoding: 'quoted-printable' },
        { filename: 'latin.csv', content: latin, contentType: 'text/csv; charset=windows-1252' },
      ],
    });
    const text = raw.toString('latin1');
    expect(text).toMatch(/Subject: =\?UTF-8\?/);
    expect(text).toMatch(/filename\*0\*=utf-8''|filename\*=utf-8''|filename="=\?UTF-8/i);
    expect(text).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
    const read = await parts(raw, 5);
    expect(read.headers).toMatchObject({
      subject: 'Résumé des exports — IB_Calls',
      from: 'zoe.muller@example.com',
      messageId: '<accents@example.com>',
    });
    expect(read.parts.map((p) => p.name)).toEqual(['Übersicht €.csv', 'latin.csv']);
    expect(read.parts[0]?.content.toString('utf8')).toBe(ibCallsCsv);
    // The bytes are handed over as they are: ingest reads Windows-1252.
    expect(read.parts[1]?.content).toEqual(latin);
  });

  it('reads a message from another mailer: legacy charsets, RFC 2231 continuations, nested multiparts, bare LF', async () => {
    const forwardedExport = [
      'From: exports@mypurecloud.com',
      'Subject: =?iso-8859-2?Q?=A3=F3d=BC?= export',
      'Date: Mon, 9 Mar 2026 08:00:00 +0100',
      'Message-ID: <inner@mypurecloud.com>',
      'Content-Type: multipart/mixed; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/csv; name="Dials.csv"',
      '',
      'Agent Name,Dials',
      '--inner--',
    ].join('\n');
    const raw = Buffer.from(
      [
        'Received: from mx.example.com by mail.example.com; Mon, 9 Mar 2026 15:02:10 +0000',
        'Received: from genesys by mx.example.com; Mon, 9 Mar 2026 15:01:00 +0000',
        'From: =?iso-8859-1?Q?Jos=E9_Pe=F1a?= <Jose.Pena@Example.COM>',
        'Subject: =?windows-1252?Q?R=E9sum=E9_=96_?= =?iso-8859-1?B?Y2Fm6Q==?= du jour',
        'Date: Mon, 9 Mar 2026 15:00:00 +0000 (UTC)',
        'Message-ID: <legacy@example.com>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        'A preamble no reader shows.',
        '--outer',
        'Content-Type: multipart/related; boundary="outer-related"',
        '',
        '--outer-related',
        'Content-Type: multipart/alternative; boundary=alt',
        '',
        '--alt',
        'Content-Type: text/plain; charset=windows-1252',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Caf=E9',
        '--alt',
        'Content-Type: text/html; charset=windows-1252',
        '',
        '<p>Caf\xe9</p>',
        '--alt--',
        '--outer-related',
        'Content-Type: image/png; name=logo.png',
        'Content-ID: <logo>',
        'Content-Transfer-Encoding: base64',
        '',
        'iVBORw0K',
        'Ggo=',
        '--outer-related--',
        '--outer',
        'Content-Type: text/csv; charset=windows-1252',
        'Content-Disposition: attachment;',
        " filename*0*=iso-8859-1''R%E9sum%E9%20;",
        ' filename*1="des appels.csv"',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'Agent Name,Offered',
        'Jos=E9 Pe=',
        '=F1a,3',
        '--outer',
        'Content-Type: text/plain; charset=windows-1252',
        'Content-Disposition: attachment; filename="notes.txt"',
        '',
        'Co\xfbt \x80 5',
        '--outer',
        'Content-Type: message/rfc822',
        '',
        forwardedExport,
        '--outer--',
        'An epilogue no reader shows.',
        '',
      ].join('\n'),
      'latin1',
    );
    const read = await parts(raw, 11);
    expect(read.headers).toEqual({
      messageId: '<legacy@example.com>',
      subject: 'Résumé – café du jour',
      from: 'jose.pena@example.com',
      date: new Date('2026-03-09T15:00:00Z'),
      // The newest Received header is the first one.
      received: new Date('2026-03-09T15:02:10Z'),
    });
    expect(read.parts.map((p) => [p.name, p.contentType, p.inline])).toEqual([
      ['logo.png', 'image/png', true],
      ['Résumé des appels.csv', 'text/csv', false],
      ['notes.txt', 'text/plain', false],
      [undefined, 'message/rfc822', false],
    ]);
    expect(read.parts[0]?.content).toEqual(Buffer.from('iVBORw0KGgo=', 'base64'));
    // Decoded from quoted-printable (the soft break joins its lines), the bytes left in their charset.
    expect(read.parts[1]?.content).toEqual(Buffer.from('Agent Name,Offered\nJos\xe9 Pe\xf1a,3', 'latin1'));
    expect(read.parts[2]?.content).toEqual(Buffer.from('Co\xfbt \x80 5', 'latin1'));
    expect(partName(read.parts[3] as ReadPart)).toBe('message.eml');
    expect(read.parts[3]?.content.toString('latin1')).toBe(forwardedExport);

    const inner = await parts(read.parts[3]?.content ?? Buffer.alloc(0), 2);
    expect(inner.headers).toMatchObject({ subject: 'Łódź export', date: new Date('2026-03-09T07:00:00Z') });
    expect(inner.parts.map((p) => [p.name, p.content.toString()])).toEqual([['Dials.csv', 'Agent Name,Dials']]);
  });

  it('keeps an attached message whole, as one part, and reads it like any message', async () => {
    const { original, forward } = await forwarded([{ filename: 'IB_Calls.csv', content: ibCallsCsv }]);
    const outer = await parts(forward, 3);
    expect(outer.headers.subject).toBe('FW: Scheduled export: IB_Calls');
    expect(outer.parts).toHaveLength(1);
    expect(outer.parts[0]?.contentType).toBe('message/rfc822');
    const inner = await parts(outer.parts[0]?.content ?? Buffer.alloc(0));
    expect(inner.headers.messageId).toBe('<original@mypurecloud.com>');
    expect(inner.parts.map((p) => [p.name, p.content.toString('utf8')])).toEqual([['IB_Calls.csv', ibCallsCsv]]);
    expect(
      Buffer.from(outer.parts[0]?.content ?? [])
        .toString('latin1')
        .replace(/\r\n/g, '\n')
        .trimEnd(),
    ).toBe(original.toString('latin1').replace(/\r\n/g, '\n').trimEnd());
  });

  it('skips what a reader leaves of a part, and fails a reader when the message is cut off', async () => {
    const raw = await mime({
      from: 'a@example.com',
      subject: 'two',
      attachments: [
        { filename: 'one.csv', content: 'x'.repeat(200_000) },
        { filename: 'two.csv', content: 'second' },
      ],
    });
    const seen: string[] = [];
    await readMime(pieces(raw, 1000), async (part) => {
      seen.push(part.name ?? '');
      // Reads one piece of the first part and stops.
      if (part.name === 'one.csv') for await (const _ of part.content) break;
      else {
        const chunks: Uint8Array[] = [];
        for await (const chunk of part.content) chunks.push(chunk);
        seen.push(Buffer.concat(chunks).toString());
      }
    });
    expect(seen).toEqual(['one.csv', 'two.csv', 'second']);

    const cut = raw.subarray(0, raw.indexOf('two.csv'));
    await expect(
      readMime(pieces(cut, 1000), async (part) => {
        for await (const _ of part.content);
      }),
    ).rejects.toThrow(/cut off in the middle of an attachment/);
  });

  it('reads only the headers when asked, and nothing from an empty file', async () => {
    const raw = await mime({ from: 'a@example.com', subject: 'headers only', text: 'body '.repeat(1000) });
    let pulled = 0;
    const counted = async function* () {
      for await (const chunk of pieces(raw, 16)) {
        pulled += chunk.byteLength;
        yield chunk;
      }
    };
    expect((await readMimeHeaders(counted()))?.subject).toBe('headers only');
    expect(pulled).toBeLessThan(raw.length / 2);
    expect(await readMimeHeaders(pieces(Buffer.alloc(0), 1))).toBeUndefined();
  });
});

/** A message whose body is `lines`, under the given Content-Type. */
function message(contentType: string, lines: string[]): Buffer {
  return Buffer.from(
    ['From: a@example.com', 'Subject: test', `Content-Type: ${contentType}`, '', ...lines, ''].join('\r\n'),
  );
}

/** Why readMime refuses the message, read in pieces of 4 KiB. */
async function refusal(raw: Buffer): Promise<string> {
  const error = await readMime(pieces(raw, 4096), async (part) => {
    for await (const _ of part.content);
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: 'UnreadableError' });
  return (error as Error).message;
}

describe('messages the MIME reader cannot read', () => {
  it('reports a message cut off in a text part, a multipart without a boundary, and input that is not MIME', async () => {
    const whole = message('multipart/mixed; boundary=b', ['--b', 'Content-Type: text/plain', '', 'Hello', '--b--']);
    expect((await parts(whole)).parts).toEqual([]);
    expect(await refusal(whole.subarray(0, whole.indexOf('Hello')))).toBe(
      'the message is cut off before its last part ends',
    );
    expect(await refusal(message('multipart/mixed', ['--b', '', 'x', '--b--']))).toBe(
      'a multipart/mixed part has no boundary',
    );
    expect(await refusal(Buffer.from('\u0000PK\u0003\u0004 binary\r\nmore\r\n'))).toBe(
      'not a MIME message: no header fields',
    );
    await expect(readMimeHeaders(pieces(Buffer.from('<html>not mail</html>\n'), 7))).rejects.toThrow(/not a MIME/);
    // A line that is no header field before the headers (an mbox `From ` line) is passed over.
    const mbox = Buffer.concat([Buffer.from('From a@example.com Mon Mar  9 15:00:00 2026\r\n'), whole]);
    expect((await readMimeHeaders(pieces(mbox, 5)))?.subject).toBe('test');
  });

  it('stops at the nesting, part and header bounds, whatever the message holds', async () => {
    // 20,000 nested multiparts (1.2 MB): refused at the bound, not read to the end.
    const nested: string[] = [];
    for (let i = 0; i < 20_000; i++) nested.push(`--b${i}`, `Content-Type: multipart/mixed; boundary="b${i + 1}"`, '');
    const deep = message('multipart/mixed; boundary="b0"', nested);
    expect(deep.length).toBeGreaterThan(1_000_000);
    expect(await refusal(deep)).toBe(`multiparts nested more than ${maxMultipartDepth} deep`);
    const shallow = message('multipart/mixed; boundary="b0"', [...nested.slice(0, 3 * (maxMultipartDepth - 1)), '']);
    await expect(parts(shallow)).rejects.toThrow(/cut off/);

    const many = (count: number) =>
      message('multipart/mixed; boundary=b', [
        ...Array.from({ length: count }, (_, i) => [
          '--b',
          `Content-Type: text/csv; name="f${i}.csv"`,
          '',
          `${i}`,
        ]).flat(),
        '--b--',
      ]);
    // The multipart itself is a part too.
    expect((await parts(many(maxParts - 1))).parts).toHaveLength(maxParts - 1);
    expect(await refusal(many(maxParts))).toBe(`more than ${maxParts} parts`);

    const folded = ['X-Long: start', ...Array.from({ length: maxHeaderBytes / 64 }, () => ` ${'x'.repeat(64)}`)];
    const bigHeader = Buffer.from([...folded, 'From: a@example.com', '', 'body', ''].join('\r\n'));
    expect(await refusal(bigHeader)).toBe(`a header block is over ${maxHeaderBytes} bytes`);
    const bigPartHeader = message('multipart/mixed; boundary=b', ['--b', ...folded, '', 'x', '--b--']);
    expect(await refusal(bigPartHeader)).toBe(`a header block is over ${maxHeaderBytes} bytes`);
  });
});
