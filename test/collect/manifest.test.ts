import { describe, expect, it } from 'vitest';
import { mailSummary, maxIgnoredReasons } from '../../functions/collect/manifest.ts';
import { emptyCollectSummary, type IgnoredMessage } from '../../functions/common/contracts.ts';
import { jsonBytes } from '../../local/aws-limits.ts';

function summaryOf(ignored: IgnoredMessage[]) {
  return mailSummary({
    ...emptyCollectSummary(),
    messagesSeen: ignored.length,
    messagesIgnored: ignored.length,
    ignored,
  });
}

describe('the ignored reasons a state carries', () => {
  it('group the same reason for many files, with a count and the first example', () => {
    // One zip of 1,500 entries that are not CSVs: one reason, 1,500 times.
    const entries = Array.from({ length: 1_500 }, (_, i) => `export.zip: report-${i}.pdf: not a CSV, zip or email`);
    const summary = summaryOf([
      { messageId: '<zip@example.com>', subject: 'Exports', reason: entries.join('; ') },
      {
        messageId: '<news@example.com>',
        subject: 'Newsletter',
        reason: 'sender news@example.com is not an accepted sender',
      },
    ]);
    expect(summary.ignored).toEqual([
      {
        reason: 'not a CSV, zip or email',
        count: 1_500,
        messageId: '<zip@example.com>',
        subject: 'Exports',
        example: 'export.zip: report-0.pdf: not a CSV, zip or email',
      },
      {
        reason: 'sender news@example.com is not an accepted sender',
        count: 1,
        messageId: '<news@example.com>',
        subject: 'Newsletter',
        example: 'sender news@example.com is not an accepted sender',
      },
    ]);
    expect(summary.ignoredReasonsNotListed).toBe(0);
    expect(summary.messagesIgnored).toBe(2);
    expect(jsonBytes(summary)).toBeLessThan(1_000);
  });

  it('are capped in number and length, however many and however long the reasons are', () => {
    const long = 'é'.repeat(100_000);
    const ignored = Array.from({ length: 50 }, (_, i) => ({
      messageId: `<${i}${long}>`,
      subject: long,
      reason: `${long}-${i}.csv: reason ${i} ${long}`,
    }));
    const summary = summaryOf(ignored);
    expect(summary.ignored).toHaveLength(maxIgnoredReasons);
    expect(summary.ignoredReasonsNotListed).toBe(50 - maxIgnoredReasons);
    // A few hundred characters a reason: well under the state limit.
    expect(jsonBytes(summary.ignored)).toBeLessThan(40_000);
    expect(summary.ignored[0]?.reason.endsWith('…')).toBe(true);
  });
});
