import { describe, expect, it } from 'vitest';
import { describeIgnored, mailSummary, maxIgnoredReasons } from '../../functions/collect/manifest.ts';
import { emptyCollectSummary, type IgnoredMessage, type IgnoredReason } from '../../functions/common/contracts.ts';
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
    // One zip of 1,000 entries that are not CSVs: one reason, 1,000 times.
    const entries = Array.from({ length: 1_000 }, (_, i) => ({
      messageId: '<zip@example.com>',
      subject: 'Exports',
      reason: `export.zip: report-${i}.pdf: not a CSV, zip or email`,
      severity: 'intentional' as const,
    }));
    const refused = (i: number) => ({
      messageId: `<ib-${i}@mypurecloud.com>`,
      subject: 'Scheduled export: IB_Calls',
      reason: `IB_Calls_${i}.csv: sender noreply@mypurecloud.com is not accepted (mailbox.senders), yet it sends what looks like an export`,
      severity: 'suspicious' as const,
      fix: 'add noreply@mypurecloud.com or @mypurecloud.com to mailbox.senders',
    });
    const summary = summaryOf([...entries, refused(1), refused(2)]);
    // The suspicious first, however few; what to change kept with each.
    expect(summary.ignored).toEqual([
      {
        reason:
          'sender noreply@mypurecloud.com is not accepted (mailbox.senders), yet it sends what looks like an export',
        severity: 'suspicious',
        fix: 'add noreply@mypurecloud.com or @mypurecloud.com to mailbox.senders',
        count: 2,
        messageId: '<ib-1@mypurecloud.com>',
        subject: 'Scheduled export: IB_Calls',
        example:
          'IB_Calls_1.csv: sender noreply@mypurecloud.com is not accepted (mailbox.senders), yet it sends what looks like an export',
      },
      {
        reason: 'not a CSV, zip or email',
        severity: 'intentional',
        count: 1_000,
        messageId: '<zip@example.com>',
        subject: 'Exports',
        example: 'export.zip: report-0.pdf: not a CSV, zip or email',
      },
    ]);
    expect(summary.ignoredReasonsNotListed).toBe(0);
    expect(jsonBytes(summary)).toBeLessThan(1_500);
    expect(describeIgnored(summary.ignored[0] as IgnoredReason)).toEqual([
      '2 ignored (suspicious) — sender noreply@mypurecloud.com is not accepted (mailbox.senders), yet it sends what looks like an export → add noreply@mypurecloud.com or @mypurecloud.com to mailbox.senders',
      'e.g. "Scheduled export: IB_Calls" <ib-1@mypurecloud.com>: IB_Calls_1.csv',
    ]);
  });

  it('keep the same reason apart when one was meant and the other was not', () => {
    const summary = summaryOf([
      { messageId: '<a>', subject: 'A', reason: 'a.csv: something', severity: 'intentional' },
      { messageId: '<b>', subject: 'B', reason: 'b.csv: something' },
    ]);
    expect(summary.ignored.map((g) => [g.severity, g.count])).toEqual([
      ['suspicious', 1],
      ['intentional', 1],
    ]);
  });

  it('are capped in number and length, however many and however long the reasons are', () => {
    const long = 'é'.repeat(100_000);
    const ignored = Array.from({ length: 50 }, (_, i) => ({
      messageId: `<${i}${long}>`,
      subject: long,
      reason: `${long}-${i}.csv: reason ${i} ${long}`,
      fix: long,
    }));
    const summary = summaryOf(ignored);
    expect(summary.ignored).toHaveLength(maxIgnoredReasons);
    expect(summary.ignoredReasonsNotListed).toBe(50 - maxIgnoredReasons);
    // A few hundred characters a reason: well under the state limit.
    expect(jsonBytes(summary.ignored)).toBeLessThan(40_000);
    expect(summary.ignored[0]?.reason.endsWith('…')).toBe(true);
    expect(summary.ignored[0]?.fix?.endsWith('…')).toBe(true);
  });
});
