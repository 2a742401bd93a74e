import type { LateExport } from '../../../functions/console-api/contract.ts';
import { instant } from '../format.ts';

/** The export types not arrived (each said as `absent`) and those late, or `allArrived` when there are none. */
export function MissingAndLate(props: {
  missing: string[];
  late: LateExport[];
  tz: string;
  absent: string;
  allArrived: string;
}) {
  const { missing, late, tz } = props;
  if (missing.length === 0 && late.length === 0) return <p>{props.allArrived}</p>;
  return (
    <ul>
      {missing.map((type) => (
        <li key={type}>
          <strong>{type}</strong>: {props.absent}
        </li>
      ))}
      {late.map((entry) => (
        <li key={entry.type}>
          <strong>{entry.type}</strong>: late (last export {instant(entry.lastExportAt, tz)})
        </li>
      ))}
    </ul>
  );
}
