import type { AgentRules } from '../../functions/agent-upload/contract.ts';
import type { ExportSpec } from '../../functions/common/config.ts';
import {
  acceptsSender,
  matchFailure,
  recogniseTypeFromHeader,
  recogniseTypeFromName,
} from '../../functions/common/exports.ts';
import { CsvParser } from '../../functions/ingest/csv.ts';
import { encodingFromBom } from '../../functions/ingest/decode.ts';

/** A file the agent found: an attachment Outlook saved, or a file in a folder. */
export interface FoundFile {
  fileName: string;
  bytes: number;
  /** Its first bytes, for the header line: read only when the name does not tell the type. */
  head(length: number): Promise<Uint8Array>;
  /** ISO instants. */
  receivedAt: string;
  exportedAt: string;
  /** The mail it came with; none for a file an Outlook rule saved to a folder. */
  message?: { messageId: string; sender: string | undefined; subject: string };
}

/** The type to push the file as (none: a zip whose CSVs collect types one by one), or why it stays. */
export type Selection = { type: string | undefined } | { skipped: string };

/** Bytes read from the start of a file for its header line, as collect reads them. */
const headBytes = 64 * 1024;

/**
 * What collect would do with the file had it come through Graph: the export type it would
 * store a CSV as, or why it would leave the file — sender, subject and attachment name, then
 * the header — by the same rules and the same code.
 */
export async function selectExport(file: FoundFile, rules: AgentRules): Promise<Selection> {
  const { message } = file;
  if (message && !rules.exports.some((spec) => acceptsSender(spec, message.sender, rules))) {
    return { skipped: `sender ${message.sender ?? '(none)'} is not an accepted sender` };
  }
  const zip = /\.zip$/i.test(file.fileName);
  if (!zip && !/\.csv$/i.test(file.fileName)) return { skipped: 'not a CSV file or a zip' };
  const rejection = (spec: ExportSpec) =>
    message ? matchFailure(spec, { from: message.sender, subject: message.subject }, rules)?.reason : undefined;

  const named = recogniseTypeFromName(file.fileName, rules);
  const namedFailure = named && rejection(named);
  if (namedFailure) return { skipped: namedFailure };
  const limit = rules.mailbox.maxAttachmentBytes;
  if (file.bytes > limit) return { skipped: `${file.bytes} bytes, over maxAttachmentBytes (${limit})` };
  if (named) return { type: named.type };
  if (zip) return { type: typeBySubject(rules, rejection) };

  const candidates = recogniseTypeFromHeader(headerCells(await file.head(headBytes)), rules);
  if (candidates.length === 0) return { skipped: 'neither its name nor its header is one of the configured exports' };
  const fitting = candidates.filter((spec) => rejection(spec) === undefined);
  if (fitting.length === 0) {
    return {
      skipped: `its header fits ${candidates.map((c) => c.type).join(', ')}, but ${candidates.map(rejection).join('; ')}`,
    };
  }
  const [only] = fitting;
  if (fitting.length > 1 || !only) {
    const tellApart = message ? 'the name or subject' : 'the name';
    return { skipped: `its header fits ${fitting.map((c) => c.type).join(', ')}; only ${tellApart} can tell` };
  }
  return { type: only.type };
}

/**
 * The one type whose subject rule the mail matches: what tells collect the type of a zip's
 * CSVs when neither their names nor the zip's do.
 */
function typeBySubject(rules: AgentRules, rejection: (spec: ExportSpec) => string | undefined): string | undefined {
  const matching = rules.exports.filter((spec) => spec.match.subject !== undefined && rejection(spec) === undefined);
  return matching.length === 1 ? matching[0]?.type : undefined;
}

/** The header line's cells, decoded as ingest decodes the file. */
function headerCells(head: Uint8Array): string[] {
  const text = new TextDecoder(encodingFromBom(head)?.encoding ?? 'utf-8').decode(head);
  const parser = new CsvParser();
  parser.push(text.split(/\r?\n/, 1)[0] ?? '');
  return parser.end()[0]?.cells ?? [];
}
