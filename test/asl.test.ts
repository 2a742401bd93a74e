import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { STAGE_KEYS, STAGES, stageOfSubstitution } from '../functions/stages.ts';
import { DEFINITION_FILE } from '../lib/workflow.ts';

interface AslValidation {
  isValid: boolean;
  errorsText: (separator?: string) => string;
}
// asl-validator 4 is CommonJS without type declarations: `module.exports = function validator(definition, opts)`.
const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => AslValidation;

interface State {
  Type: string;
  Resource?: string;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  ResultPath?: string | null;
  Parameters?: Record<string, unknown>;
  Retry?: unknown[];
  Catch?: unknown[];
  QueryLanguage?: string;
  ItemProcessor?: Machine;
  Iterator?: Machine;
}
interface Machine {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, State>;
}

const text = readFileSync(DEFINITION_FILE, 'utf8');
// Each stage of the registry (functions/stages.ts) fills its placeholder with its function's ARN.
const sampleArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:charlie-${name}`;
const substitutions: Record<string, string> = Object.fromEntries(
  STAGE_KEYS.map((key) => [STAGES[key].substitution, sampleArn(key)]),
);

/** The definition as CloudFormation deploys it: placeholders replaced by function ARNs. */
function substituted(): Machine {
  return JSON.parse(
    text.replace(/\$\{(\w+)\}/g, (placeholder, name: string) => {
      const arn = substitutions[name];
      if (!arn) throw new Error(`no substitution for ${placeholder}`);
      return arn;
    }),
  ) as Machine;
}

/** Top-level states and, separately, the states inside each Map's item processor. */
function statesOf(machine: Machine): { top: [string, State][]; nested: [string, State][] } {
  const top = Object.entries(machine.States);
  const nested = top.flatMap(([, state]) => {
    const inner = state.ItemProcessor ?? state.Iterator;
    return inner ? Object.entries(inner.States) : [];
  });
  return { top, nested };
}

describe('stepfunctions/charlie.asl.json', () => {
  it('is valid Amazon States Language once its placeholders are substituted', () => {
    const result = validate(substituted());
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it("uses exactly the registry's function placeholders", () => {
    const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));

    expect([...used].sort()).toEqual(Object.keys(substitutions).sort());
  });

  it('gives every Task the Retry its stage declares in the registry', () => {
    const tasks = [...text.matchAll(/\$\{(\w+)\}/g)].length;
    const machine: Machine = JSON.parse(text);

    const { top, nested } = statesOf(machine);
    const checked = [...top, ...nested].filter(([, state]) => state.Type === 'Task');

    expect(checked).toHaveLength(tasks);
    for (const [name, state] of checked) {
      const stage = stageOfSubstitution(state.Resource?.match(/^\$\{(\w+)\}$/)?.[1] ?? '');
      expect(stage, `${name} invokes a stage's function`).toBeDefined();
      expect(state.Retry, `${name} Retry`).toEqual(STAGES[stage as keyof typeof STAGES].retry);
    }
  });

  it('uses JSONPath, not JSONata', () => {
    // asl-validator writes QueryLanguage into each state, so this reads a fresh copy.
    const machine = substituted();
    const { top, nested } = statesOf(machine);
    expect(machine.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    for (const [name, state] of [...top, ...nested]) {
      expect(state.QueryLanguage ?? 'JSONPath', name).toBe('JSONPath');
    }
    expect(text).not.toMatch(/JSONata|\{%/);
  });

  it('retries every top-level Task, and catches nothing, so that a redrive resumes at the state that failed', () => {
    const { top, nested } = statesOf(substituted());
    const tasks = top.filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(['Build', 'Collect', 'Deliver']);
    for (const [name, state] of tasks) expect(state.Retry?.length, `${name} Retry`).toBeGreaterThan(0);
    const maps = top.filter(([, state]) => state.Type === 'Map');
    expect(maps.map(([name]) => name)).toEqual(['RemoveUndone', 'IngestFiles']);
    // A Catch leading to a Fail state would make that Fail state the failure a redrive resumes at.
    for (const [name, state] of [...top, ...nested]) {
      expect(state.Catch, `${name} Catch`).toBeUndefined();
      expect(state.Type, name).not.toBe('Fail');
    }
  });

  it('keeps file lists out of the states: Maps iterate positions in the manifest and keep no iteration result', () => {
    const { top } = statesOf(substituted());
    for (const [name, state] of top.filter(([, s]) => s.Type === 'Map')) {
      // Each iteration stores its result in S3; the collected nulls are dropped.
      expect(state.ResultPath, name).toBeNull();
      expect(state.ItemSelector, name).toMatchObject({
        'run.$': '$.run',
        'manifest.$': '$.manifest',
        'index.$': '$$.Map.Item.Value',
      });
    }
    const states = Object.fromEntries(top);
    expect(states.IngestFiles?.ItemsPath).toBe('$.files');
    expect(states.RemoveUndone?.ItemsPath).toBe('$.undone');
    expect(states.RemoveUndone?.ItemSelector?.remove).toBe(true);
    // Build reads the results from S3 through the manifest; nothing passes a list of files.
    expect(states.Build?.Parameters).toEqual({ 'run.$': '$.run', 'manifest.$': '$.manifest', 'mail.$': '$.mail' });
    expect(text).not.toMatch(/\$\.ingested|\$\.removed/);
  });

  it('retries every Task inside the Map iterator', () => {
    const { nested } = statesOf(substituted());
    const tasks = nested.filter(([, state]) => state.Type === 'Task');
    expect(tasks.map(([name]) => name)).toEqual(['Remove', 'Ingest']);
    for (const [name, state] of tasks) expect(state.Retry?.length, `${name} Retry`).toBeGreaterThan(0);
  });
});
