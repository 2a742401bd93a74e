import type { Writable } from 'node:stream';
import { maxCellCharacters, maxSheetRows, sameTabName, tabNameProblem } from '../common/excel.ts';
import { ZipWriter } from './zip.ts';

/**
 * A streaming XLSX writer: each sheet's XML is built as text and deflated as it goes, so
 * a workbook of a million rows is written in seconds with a few MB of buffers. Sheets may be
 * written in any order (the Summary, written last, is still the first tab), and a sheet not
 * declared up front (a continuation) may be placed after another. Strings go to the shared
 * string table, which is the only thing that grows with the data (by distinct text: agent
 * names, filters, queues).
 */

/** A cell: empty cells (null, undefined, NaN) are not written. */
export type CellInput = string | number | boolean | null | undefined;

export interface CellStyle {
  /** Excel number format code, e.g. `[h]:mm:ss`. */
  numFmt?: string;
  bold?: boolean;
  italic?: boolean;
  /** Font size in points (default 11). */
  size?: number;
  /** Font colour, ARGB hex. */
  color?: string;
  /** Solid fill, ARGB hex. */
  fill?: string;
  /** A thin rule above or below the cell. */
  border?: 'top' | 'bottom';
  wrap?: boolean;
  align?: 'left' | 'center' | 'right';
}

/** Styles by name; cells refer to them by id (0 is the default style). */
export interface StyleTable<K extends string> {
  styles: readonly CellStyle[];
  id: Record<K, number>;
}

export function styleTable<K extends string>(styles: Record<K, CellStyle>): StyleTable<K> {
  const names = Object.keys(styles) as K[];
  const id = Object.fromEntries(names.map((name, i) => [name, i + 1])) as Record<K, number>;
  return { styles: names.map((name) => styles[name]), id };
}

export interface SheetLayout {
  /** Column widths in characters, from column A; 0 leaves a column at the default width. */
  widths: readonly number[];
  /** Rows kept in view when scrolling (the header). */
  frozenRows?: number;
  landscape?: boolean;
  /** Rows printed at the top of every page. */
  printTitleRows?: number;
  /** Rows the sheet may hold: Excel's 1,048,576 unless fewer are asked for (tests). */
  maxRows?: number;
}

export interface CellRange {
  firstRow: number;
  firstColumn: number;
  lastRow: number;
  lastColumn: number;
}

export interface SheetEnd {
  autoFilter?: CellRange;
  /** In-cell bars proportional to the values of each range. */
  dataBars?: { range: CellRange; color: string }[];
}

/** Characters of sheet XML collected before they are encoded and deflated. */
const flushChars = 1 << 18;

const mainNs = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const relNs = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const pkgRelNs = 'http://schemas.openxmlformats.org/package/2006/relationships';
const xmlHead = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

export class XlsxWriter {
  private readonly zip: ZipWriter;
  private readonly strings = new Map<string, number>();
  private readonly stringXml: string[] = [];
  /** Tab order: the declared sheets, with any placed later among them. */
  private readonly order: string[] = [];
  /** Each sheet's part number (`xl/worksheets/sheet<n>.xml`). */
  private readonly parts = new Map<string, number>();
  private readonly written = new Set<string>();
  private readonly printTitleRows = new Map<string, number>();
  private readonly filters = new Map<string, CellRange>();
  private stringRefs = 0;
  /** Text cells cut to Excel's limit. */
  cellsCut = 0;

  constructor(
    output: Writable,
    private readonly options: {
      /** Tab names, in tab order. */
      sheets: readonly string[];
      styles: readonly CellStyle[];
      creator: string;
      title: string;
      created: Date;
      /** zlib level: 1 is several times faster than 6 for a file about 25% larger. */
      compressionLevel: number;
    },
  ) {
    this.zip = new ZipWriter(output, { level: options.compressionLevel, modified: options.created });
    for (const name of options.sheets) this.place(name, this.order.length);
  }

  /**
   * Starts a sheet; finish it with `end()` before starting another. A sheet not declared up
   * front is placed right after the tab `after`.
   */
  async sheet(name: string, layout: SheetLayout, placement?: { after: string }): Promise<SheetWriter> {
    if (!this.parts.has(name)) {
      const after = placement ? this.order.indexOf(placement.after) : -1;
      if (after < 0) throw new Error(`Sheet ${name} is not declared`);
      this.place(name, after + 1);
    }
    if (this.written.has(name)) throw new Error(`Sheet ${name} is already written`);
    this.written.add(name);
    const sheet = new SheetWriter(this, this.zip, name, this.parts.get(name) ?? 0, layout, this.order[0] === name);
    await sheet.start();
    if (layout.printTitleRows) this.printTitleRows.set(name, layout.printTitleRows);
    return sheet;
  }

  private place(name: string, position: number): void {
    const problem = tabNameProblem(name);
    if (problem) throw new Error(`Sheet name "${name}" ${problem}`);
    const taken = this.order.find((other) => sameTabName(other, name));
    if (taken !== undefined) throw new Error(`Sheet name "${name}" is taken by "${taken}" (Excel ignores case)`);
    this.order.splice(position, 0, name);
    this.parts.set(name, this.parts.size + 1);
  }

  /** Index of a string in the shared string table. */
  sharedString(text: string): number {
    this.stringRefs++;
    let index = this.strings.get(text);
    if (index === undefined) {
      index = this.stringXml.length;
      this.strings.set(text, index);
      const space = /^\s|\s$/.test(text) ? ' xml:space="preserve"' : '';
      this.stringXml.push(`<si><t${space}>${escapeXml(text)}</t></si>`);
    }
    return index;
  }

  filterRange(sheetName: string, range: CellRange): void {
    this.filters.set(sheetName, range);
  }

  /** Writes the shared strings, styles and workbook parts, then closes the archive. */
  async finish(): Promise<void> {
    const missing = this.order.filter((name) => !this.written.has(name));
    if (missing.length > 0) throw new Error(`Sheets not written: ${missing.join(', ')}`);
    const sheets = this.order;
    const part = (name: string) => this.parts.get(name) ?? 0;
    // Defined names refer to a sheet by its position, known once every sheet is placed.
    const definedNames: string[] = [];
    sheets.forEach((name, index) => {
      const filter = this.filters.get(name);
      if (filter) {
        definedNames.push(
          `<definedName name="_xlnm._FilterDatabase" localSheetId="${index}" hidden="1">${sheetRef(name)}!${absoluteRange(filter)}</definedName>`,
        );
      }
      const titleRows = this.printTitleRows.get(name);
      if (titleRows) {
        definedNames.push(
          `<definedName name="_xlnm.Print_Titles" localSheetId="${index}">${sheetRef(name)}!$1:$${titleRows}</definedName>`,
        );
      }
    });
    const strings = this.zip.entry('xl/sharedStrings.xml');
    let xml = `${xmlHead}<sst xmlns="${mainNs}" count="${this.stringRefs}" uniqueCount="${this.stringXml.length}">`;
    for (const si of this.stringXml) {
      xml += si;
      if (xml.length >= flushChars) {
        await strings.write(Buffer.from(xml, 'utf8'));
        xml = '';
      }
    }
    await strings.write(Buffer.from(`${xml}</sst>`, 'utf8'));
    await strings.end();

    await this.zip.add('xl/styles.xml', stylesXml(this.options.styles));
    const sheetList = sheets
      .map((name) => `<sheet name="${escapeXml(name)}" sheetId="${part(name)}" r:id="rId${part(name)}"/>`)
      .join('');
    const names = definedNames.length > 0 ? `<definedNames>${definedNames.join('')}</definedNames>` : '';
    await this.zip.add(
      'xl/workbook.xml',
      `${xmlHead}<workbook xmlns="${mainNs}" xmlns:r="${relNs}"><bookViews><workbookView activeTab="0"/></bookViews>` +
        `<sheets>${sheetList}</sheets>${names}</workbook>`,
    );
    await this.zip.add(
      'xl/_rels/workbook.xml.rels',
      `${xmlHead}<Relationships xmlns="${pkgRelNs}">${sheets
        .map(
          (name) =>
            `<Relationship Id="rId${part(name)}" Type="${relNs}/worksheet" Target="worksheets/sheet${part(name)}.xml"/>`,
        )
        .join('')}<Relationship Id="rId${sheets.length + 1}" Type="${relNs}/styles" Target="styles.xml"/>` +
        `<Relationship Id="rId${sheets.length + 2}" Type="${relNs}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
    );
    await this.zip.add(
      '[Content_Types].xml',
      `${xmlHead}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
        `<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
        `<Default Extension="xml" ContentType="application/xml"/>` +
        `<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
        sheets
          .map(
            (name) =>
              `<Override PartName="/xl/worksheets/sheet${part(name)}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`,
          )
          .join('') +
        `<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
        `<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>` +
        `<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>`,
    );
    await this.zip.add(
      '_rels/.rels',
      `${xmlHead}<Relationships xmlns="${pkgRelNs}">` +
        `<Relationship Id="rId1" Type="${relNs}/officeDocument" Target="xl/workbook.xml"/>` +
        `<Relationship Id="rId2" Type="${pkgRelNs}/metadata/core-properties" Target="docProps/core.xml"/></Relationships>`,
    );
    const created = this.options.created.toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.zip.add(
      'docProps/core.xml',
      `${xmlHead}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
        `<dc:title>${escapeXml(this.options.title)}</dc:title><dc:creator>${escapeXml(this.options.creator)}</dc:creator>` +
        `<dcterms:created xsi:type="dcterms:W3CDTF">${created}</dcterms:created></cp:coreProperties>`,
    );
    await this.zip.end();
  }

  abort(): void {
    this.zip.abort();
  }
}

export class SheetWriter {
  private xml = '';
  private lastRow = 0;
  private readonly entry;
  /** Rows the sheet holds. */
  readonly maxRows: number;

  constructor(
    private readonly book: XlsxWriter,
    zip: ZipWriter,
    readonly name: string,
    part: number,
    private readonly layout: SheetLayout,
    private readonly selected: boolean,
  ) {
    this.entry = zip.entry(`xl/worksheets/sheet${part}.xml`);
    this.maxRows = Math.min(layout.maxRows ?? maxSheetRows, maxSheetRows);
  }

  /** The number of the last row written (0 before any). */
  get rowNumber(): number {
    return this.lastRow;
  }

  /** Whether the sheet holds as many rows as it may: the next row needs another sheet. */
  get full(): boolean {
    return this.lastRow >= this.maxRows;
  }

  async start(): Promise<void> {
    const { widths, frozenRows } = this.layout;
    const selected = this.selected ? ' tabSelected="1"' : '';
    const frozen = frozenRows
      ? `<pane ySplit="${frozenRows}" topLeftCell="A${frozenRows + 1}" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A${frozenRows + 1}" sqref="A${frozenRows + 1}"/>`
      : '';
    const cols = widths
      .map((width, i) => (width > 0 ? `<col min="${i + 1}" max="${i + 1}" width="${width}" customWidth="1"/>` : ''))
      .join('');
    this.xml =
      `${xmlHead}<worksheet xmlns="${mainNs}" xmlns:r="${relNs}">` +
      `<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>` +
      `<sheetViews><sheetView workbookViewId="0"${selected}>${frozen}</sheetView></sheetViews>` +
      `<sheetFormatPr defaultRowHeight="15"/>${cols ? `<cols>${cols}</cols>` : ''}<sheetData>`;
  }

  /**
   * Writes the next row: `values[i]` goes to column `first + i` with style `styles[i]`.
   * Returns a promise when the output must drain before more rows are written.
   */
  row(
    values: readonly CellInput[],
    styles: readonly number[],
    options?: { first?: number; height?: number },
  ): Promise<void> | undefined {
    const r = ++this.lastRow;
    if (r > this.maxRows) throw new Error(`Sheet ${this.name} has more rows than it may hold (${this.maxRows})`);
    const first = options?.first ?? 1;
    let cells = '';
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) continue;
      const ref = columnLetter(first + i) + r;
      const style = styles[i] ?? 0;
      const s = style === 0 ? '' : ` s="${style}"`;
      if (typeof value === 'number') {
        if (Number.isFinite(value)) cells += `<c r="${ref}"${s}><v>${value}</v></c>`;
      } else if (typeof value === 'string') {
        cells += `<c r="${ref}"${s} t="s"><v>${this.book.sharedString(this.fit(value))}</v></c>`;
      } else {
        cells += `<c r="${ref}"${s} t="b"><v>${value ? 1 : 0}</v></c>`;
      }
    }
    if (cells === '') return undefined;
    const height = options?.height ? ` ht="${options.height}" customHeight="1"` : '';
    this.xml += `<row r="${r}"${height}>${cells}</row>`;
    return this.xml.length >= flushChars ? this.flush() : undefined;
  }

  /** Leaves rows empty. */
  skip(rows = 1): void {
    this.lastRow += rows;
  }

  async end(end: SheetEnd = {}): Promise<void> {
    let tail = '</sheetData>';
    if (end.autoFilter) {
      tail += `<autoFilter ref="${rangeRef(end.autoFilter)}"/>`;
      this.book.filterRange(this.name, end.autoFilter);
    }
    (end.dataBars ?? []).forEach(({ range, color }, i) => {
      tail +=
        `<conditionalFormatting sqref="${rangeRef(range)}"><cfRule type="dataBar" priority="${i + 1}">` +
        // From zero, and no bar at all for zero (Excel's default draws 10% of the cell for the minimum).
        `<dataBar minLength="0" maxLength="100"><cfvo type="num" val="0"/><cfvo type="max"/><color rgb="${color}"/></dataBar></cfRule></conditionalFormatting>`;
    });
    tail +=
      '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>' +
      `<pageSetup orientation="${this.layout.landscape ? 'landscape' : 'portrait'}" fitToWidth="1" fitToHeight="0"/>` +
      '<headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter></worksheet>';
    this.xml += tail;
    await this.flush();
    await this.entry.end();
  }

  /**
   * Excel refuses a cell over its limit and offers to repair the file; such a value is cut,
   * with a mark saying so, rather than lose the workbook. Ingest rejects such values: this
   * guards rows stored before it did.
   */
  private fit(text: string): string {
    if (text.length <= maxCellCharacters) return text;
    this.book.cellsCut++;
    return cutCell(text);
  }

  private async flush(): Promise<void> {
    const data = Buffer.from(this.xml, 'utf8');
    this.xml = '';
    await this.entry.write(data);
  }
}

/** A text over Excel's cell limit, cut to it and ending `… [cut from 40,000 characters]`. */
export function cutCell(text: string): string {
  const mark = `… [cut from ${text.length.toLocaleString('en-US')} characters]`;
  let end = maxCellCharacters - mark.length;
  // Never half of a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + mark;
}

const letters: string[] = [''];

/** `1` → `A`, `4` → `D`, `27` → `AA`. */
export function columnLetter(column: number): string {
  let known = letters[column];
  if (known === undefined) {
    known = '';
    for (let n = column; n > 0; n = Math.floor((n - 1) / 26)) known = String.fromCharCode(65 + ((n - 1) % 26)) + known;
    letters[column] = known;
  }
  return known;
}

/** `A` → 1, `D` → 4, `AA` → 27. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

export function rangeRef(range: CellRange): string {
  return `${columnLetter(range.firstColumn)}${range.firstRow}:${columnLetter(range.lastColumn)}${range.lastRow}`;
}

function absoluteRange(range: CellRange): string {
  return `$${columnLetter(range.firstColumn)}$${range.firstRow}:$${columnLetter(range.lastColumn)}$${range.lastRow}`;
}

function sheetRef(name: string): string {
  return escapeXml(`'${name.replaceAll("'", "''")}'`);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters XML 1.0 cannot hold.
const notXmlCharacters = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const markup = /[&<>"]/;

/** Text as XML character data; characters XML 1.0 cannot hold are dropped. */
export function escapeXml(text: string): string {
  notXmlCharacters.lastIndex = 0;
  if (!markup.test(text) && !notXmlCharacters.test(text)) return text;
  return text
    .replace(notXmlCharacters, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Excel's built-in formats need no declaration. */
const builtinFormats: Record<string, number> = { General: 0, '0': 1, '0.00': 2, '#,##0': 3, '#,##0.00': 4, '0%': 9 };

function stylesXml(styles: readonly CellStyle[]): string {
  const formats: string[] = [];
  const fonts = ['<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'];
  const fills = ['<fill><patternFill patternType="none"/></fill>', '<fill><patternFill patternType="gray125"/></fill>'];
  const borders = ['<border><left/><right/><top/><bottom/><diagonal/></border>'];
  const indexOf = (list: string[], xml: string) => {
    const found = list.indexOf(xml);
    if (found >= 0) return found;
    list.push(xml);
    return list.length - 1;
  };
  const xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'];
  for (const style of styles) {
    const format = style.numFmt ?? 'General';
    const numFmtId = builtinFormats[format] ?? 164 + indexOf(formats, format);
    const fontId = indexOf(
      fonts,
      `<font>${style.bold ? '<b/>' : ''}${style.italic ? '<i/>' : ''}<sz val="${style.size ?? 11}"/>${
        style.color ? `<color rgb="${style.color}"/>` : ''
      }<name val="Calibri"/><family val="2"/></font>`,
    );
    const fillId = style.fill
      ? indexOf(fills, `<fill><patternFill patternType="solid"><fgColor rgb="${style.fill}"/></patternFill></fill>`)
      : 0;
    const rule = '<color rgb="FF808080"/>';
    const borderId = style.border
      ? indexOf(
          borders,
          style.border === 'top'
            ? `<border><left/><right/><top style="thin">${rule}</top><bottom/><diagonal/></border>`
            : `<border><left/><right/><top/><bottom style="thin">${rule}</bottom><diagonal/></border>`,
        )
      : 0;
    const alignment =
      style.wrap || style.align
        ? `<alignment${style.align ? ` horizontal="${style.align}"` : ''}${style.wrap ? ' wrapText="1" vertical="center"' : ''}/>`
        : '';
    xfs.push(
      `<xf numFmtId="${numFmtId}" fontId="${fontId}" fillId="${fillId}" borderId="${borderId}" xfId="0"` +
        `${numFmtId ? ' applyNumberFormat="1"' : ''}${fontId ? ' applyFont="1"' : ''}${fillId ? ' applyFill="1"' : ''}` +
        `${borderId ? ' applyBorder="1"' : ''}${alignment ? ` applyAlignment="1">${alignment}</xf>` : '/>'}`,
    );
  }
  const numFmts = formats.map((code, i) => `<numFmt numFmtId="${164 + i}" formatCode="${escapeXml(code)}"/>`).join('');
  return (
    `${xmlHead}<styleSheet xmlns="${mainNs}">` +
    (formats.length > 0 ? `<numFmts count="${formats.length}">${numFmts}</numFmts>` : '') +
    `<fonts count="${fonts.length}">${fonts.join('')}</fonts>` +
    `<fills count="${fills.length}">${fills.join('')}</fills>` +
    `<borders count="${borders.length}">${borders.join('')}</borders>` +
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
    `<cellXfs count="${xfs.length}">${xfs.join('')}</cellXfs>` +
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
  );
}
