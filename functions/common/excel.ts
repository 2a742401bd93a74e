/**
 * What an Excel workbook can hold (Excel's specifications and limits). A file past them opens
 * only after Excel repairs it, dropping data, or not at all; so the workbook writer and the
 * configuration check keep to them. No schema library here: the build function imports it.
 */

/** Characters a cell holds (UTF-16 code units, as Excel and JavaScript count them). */
export const maxCellCharacters = 32_767;

/** Rows a sheet holds, the header included. */
export const maxSheetRows = 1_048_576;

/** Characters a tab name holds. */
export const maxTabNameCharacters = 31;

/** Continuation tabs are numbered from 2: `IB Calls (2)`, `IB Calls (3)`… */
export function continuationTabName(tab: string, number: number): string {
  return `${tab} (${number})`;
}

/** The most tabs one export's rows fill: its own and continuations up to ` (99)`, some 100 million rows. */
export const maxTabsPerExport = 99;

/** A configured tab name leaves room for the longest continuation suffix, ` (99)`: 26 characters. */
export const maxConfiguredTabCharacters = maxTabNameCharacters - continuationTabName('', maxTabsPerExport).length;

/** Tabs the workbook writes itself, and the one Excel keeps for its own use: no export's tab may take one. */
export const reservedTabNames = ['Summary', 'Problems', 'History'] as const;

/** Why Excel would refuse a tab name, or undefined when it takes it. */
export function tabNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  if (name.length > maxTabNameCharacters) return `must be at most ${maxTabNameCharacters} characters`;
  if (/[[\]:*?/\\]/.test(name)) return 'must not contain any of [ ] : * ? / \\';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused here.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  if (name.startsWith("'") || name.endsWith("'")) return "must not start or end with '";
  return undefined;
}

/** Excel compares tab names ignoring case. */
export function sameTabName(a: string, b: string): boolean {
  return a.toLocaleUpperCase('en') === b.toLocaleUpperCase('en');
}
