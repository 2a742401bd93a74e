import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Config } from '../../functions/common/config.ts';
import { writeSampleMailbox } from '../../local/sample-day.ts';
import { poisonCases } from '../ingest/poison.ts';

/** The poison file whose third line carries a negative count: its other rows are stored, that one rejected. */
const negativeCount = poisonCases.find((c) => c.name === 'a negative count') as (typeof poisonCases)[number];

/**
 * The generated sample day of `date` as saved mail in `dir`, plus one IB_Calls export email
 * whose file has a rejected row: what the console shows as the day's rejects.
 */
export async function writeSampleDayWithReject(
  config: Config,
  date: string,
  dir: string,
): Promise<{ rejected: { line: number; reason: string; attachment: string } }> {
  if (date !== '2026-03-09') throw new Error('the poison rows are rows of 2026-03-09');
  await writeSampleMailbox({ config, date, dir });
  const attachment = 'IB_Calls_negative.csv';
  const mail = await new MailComposer({
    from: 'Genesys Cloud <no-reply@mypurecloud.com>',
    to: 'reports@example.com',
    subject: 'Scheduled export: IB_Calls',
    text: 'Your scheduled export is attached.',
    date: new Date(`${date}T18:05:00Z`),
    attachments: [{ filename: attachment, content: Buffer.from(negativeCount.csv), contentType: 'text/csv' }],
  })
    .compile()
    .build();
  writeFileSync(join(dir, 'negative-count.eml'), mail);
  const reject = negativeCount.rejects[0] as { line: number; reason: string };
  return { rejected: { ...reject, attachment } };
}
