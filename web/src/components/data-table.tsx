import type { ComponentChildren } from 'preact';
import { ScrollBox } from './scroll-box.tsx';

/** One column: its header, what each row shows in it, and the class of its header and cells ("num" aligns right). */
export interface Column<T> {
  header: ComponentChildren;
  cell(row: T): ComponentChildren;
  class?: string;
  /** A class that depends on the row (a figure that needs attention); the header keeps `class`. */
  cellClass?(row: T): string | undefined;
  /** The cell names its row (`<th scope="row">`), as the first column of a table of figures does. */
  rowHeader?: boolean;
}

/**
 * A plain table: a header row of columns, then one row per item. With a label it sits in a
 * ScrollBox of that name, so a table wider than the screen scrolls by keyboard too.
 */
export function DataTable<T>(props: {
  label?: string;
  caption?: ComponentChildren;
  class?: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey(row: T): string;
}) {
  const { label, caption, columns, rows, rowKey } = props;
  const table = (
    <table class={props.class}>
      {caption && <caption>{caption}</caption>}
      <thead>
        <tr>
          {columns.map((column, i) => (
            <th scope="col" class={column.class} key={i}>
              {column.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((column, i) => {
              const className = column.cellClass ? column.cellClass(row) : column.class;
              return column.rowHeader ? (
                <th scope="row" class={className} key={i}>
                  {column.cell(row)}
                </th>
              ) : (
                <td class={className} key={i}>
                  {column.cell(row)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return label ? <ScrollBox label={label}>{table}</ScrollBox> : table;
}
