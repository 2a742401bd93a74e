import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STAGE_KEYS, STAGES } from '../../functions/stages.ts';
import { fromRoot } from '../../lib/paths.ts';
import { DEFINITION_FILE } from '../../lib/workflow.ts';
import { localDefinition, localFunctionArn, localStages, taskStages } from '../../local/pipeline.ts';
import { logicalId, synth } from './synth.ts';

// The registry (functions/stages.ts) is the one list of stages: each must be deployed, run by
// the state machine and run locally, and nothing may be wired that it does not declare.

const { stack, template } = synth();
const definitionText = readFileSync(DEFINITION_FILE, 'utf8');
const placeholders = new Set([...definitionText.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));

function machineSubstitutions(): Record<string, unknown> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
}

type States = Record<string, { Type: string; ItemProcessor?: { States: States } }>;

/** Every Task state, Map item processors included. */
function taskNames(states: States): string[] {
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [name] : []),
    ...(state.ItemProcessor ? taskNames(state.ItemProcessor.States) : []),
  ]);
}

describe('the stage registry', () => {
  it.each(STAGE_KEYS)('%s has its function in the template, built from functions/%s', (key) => {
    const fn = stack.functions.of(key);

    const resources = template.toJSON().Resources;
    const resource = resources[logicalId(fn.function)];

    expect(resource.Type).toBe('AWS::Lambda::Function');
    expect(resource.Properties.Description).toBe(STAGES[key].description);
    expect(fn.node.id).toBe(STAGES[key].constructId);
    // The role is named after the folder the function is bundled from.
    expect(resources[logicalId(fn.role)].Properties.Description).toBe(`Charlie ${key} function`);
    expect(existsSync(fromRoot('functions', key, 'index.ts'))).toBe(true);
  });

  it.each(STAGE_KEYS)(
    "%s's placeholder is in the ASL and the state machine fills it with its function's ARN",
    (key) => {
      const { substitution } = STAGES[key];

      const substitutions = machineSubstitutions();

      expect(placeholders).toContain(substitution);
      expect(substitutions[substitution]).toEqual({
        'Fn::GetAtt': [logicalId(stack.functions.of(key).function), 'Arn'],
      });
    },
  );

  it.each(STAGE_KEYS)('%s has a handler in the local pipeline, invoked by its Task states', (key) => {
    const tasks = taskStages(localDefinition());

    const tasksOfStage = [...tasks].filter(([, stage]) => stage === key).map(([state]) => state);

    expect(localStages[key]).toBeTypeOf('function');
    expect(tasksOfStage.length, `Task states invoking ${localFunctionArn(key)}`).toBeGreaterThan(0);
  });

  it('declares every placeholder of the ASL and every function the state machine invokes, and no more', () => {
    const declared = STAGE_KEYS.map((key) => STAGES[key].substitution).sort();

    const substituted = Object.keys(machineSubstitutions()).sort();
    const local = Object.keys(localStages).sort();

    expect([...placeholders].sort()).toEqual(declared);
    expect(substituted).toEqual(declared);
    expect(local).toEqual([...STAGE_KEYS].sort());
    expect(stack.functions.all.map((fn) => fn.node.id).sort()).toEqual(
      STAGE_KEYS.map((key) => STAGES[key].constructId).sort(),
    );
  });

  it('leaves no Task state of the local definition without a stage', () => {
    const definition = localDefinition();

    const tasks = taskStages(definition);

    expect([...tasks.keys()].sort()).toEqual(taskNames(definition.States as States).sort());
  });
});
