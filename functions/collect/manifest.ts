import type { S3Client } from '@aws-sdk/client-s3';
import type { CollectOutput, CollectResult, CollectSummary, IgnoredReason, MailSummary } from '../common/contracts.ts';
import { writeManifest } from '../common/run-records.ts';

/** Reasons listed in the state; the rest are counted, and every one is in the manifest. */
export const maxIgnoredReasons = 20;

/** Characters kept of each text of a listed reason. */
const maxText = { reason: 160, example: 240, subject: 120, messageId: 200, fix: 160 } as const;

/**
 * The Collect state's output: the day's file lists go to the run's manifest in S3 and the
 * state carries positions in them, a few bytes a file.
 */
export async function collectOutput(
  s3: S3Client,
  bucket: string,
  { run, files, undone, mail: summary }: CollectResult,
): Promise<CollectOutput> {
  const manifest = await writeManifest(s3, bucket, {
    executionId: run.executionId,
    date: run.date,
    files,
    undone,
    ignored: summary.ignored,
  });
  return {
    run,
    manifest,
    files: files.map((_, i) => i),
    undone: undone.map((_, i) => i),
    mail: mailSummary(summary),
  };
}

/**
 * The summary with its ignored files grouped by reason and severity (what to change kept with
 * each), the suspicious first, then the most frequent, capped.
 */
export function mailSummary(summary: CollectSummary): MailSummary {
  const groups = new Map<string, IgnoredReason>();
  for (const message of summary.ignored) {
    const reason = withoutName(message.reason);
    const severity = message.severity ?? 'suspicious';
    const key = `${severity} ${reason}`;
    const group = groups.get(key);
    if (group) group.count++;
    else
      groups.set(key, {
        reason: cut(reason, maxText.reason),
        severity,
        ...(message.fix === undefined ? {} : { fix: cut(message.fix, maxText.fix) }),
        count: 1,
        messageId: cut(message.messageId, maxText.messageId),
        subject: cut(message.subject, maxText.subject),
        example: cut(message.reason, maxText.example),
      });
  }
  const sorted = [...groups.values()].sort(
    (a, b) => Number(a.severity === 'intentional') - Number(b.severity === 'intentional') || b.count - a.count,
  );
  return {
    ...summary,
    ignored: sorted.slice(0, maxIgnoredReasons),
    ignoredReasonsNotListed: Math.max(0, sorted.length - maxIgnoredReasons),
  };
}

/**
 * How a group reads in a printout: count, reason and what to change, then one example.
 * `85 ignored (suspicious) — sender … is not accepted (mailbox.senders) … → add … to mailbox.senders`
 */
export function describeIgnored(group: IgnoredReason): [string, string] {
  const fix = group.fix === undefined ? '' : ` → ${group.fix}`;
  // The example's own part: the names of its files, when the rest is the group's reason.
  const names = group.example.endsWith(group.reason) ? group.example.slice(0, -group.reason.length) : group.example;
  const example = names.replace(/:\s*$/, '');
  return [
    `${group.count} ignored (${group.severity ?? 'suspicious'}) — ${group.reason}${fix}`,
    `e.g. "${group.subject}" ${group.messageId}${example === '' ? '' : `: ${example}`}`,
  ];
}

/**
 * The reason without the names of the file it was given for and of the files holding it
 * (`<zip>: <csv>: <reason>`), so that the same reason for many files is one group.
 */
function withoutName(text: string): string {
  let reason = text;
  for (let named = leadingName.exec(reason); named; named = leadingName.exec(reason)) {
    reason = reason.slice(named[0].length);
  }
  return reason;
}

/** A file name with an extension, then `: `. */
const leadingName = /^[^:]*?\.[A-Za-z0-9]{1,5}: /;

function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
