import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadCenters } from '../../functions/common/centers.ts';
import { fromRoot } from '../../lib/paths.ts';
import { buildCenters } from './synth.ts';

const examples = fromRoot('examples', 'centers');

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/**
 * Properties ending in Name that name no resource of the account: what a topic shows, an inline
 * policy (one of its role's), the metric an alarm watches.
 */
const notPhysical = new Set(['DisplayName', 'PolicyName', 'MetricName']);

/**
 * The physical names a template gives its resources itself, as "Type.Property = value": every
 * property naming the resource (`…Name`, a secret's or a schedule's `Name`, an SES identity),
 * when it is a literal, so the same in every stack built from it. Names CloudFormation
 * generates, and references to them, are apart by construction.
 */
function physicalNames(template: Template): string[] {
  const resources = template.toJSON().Resources as Resources;
  return Object.values(resources).flatMap(({ Type, Properties = {} }) =>
    Object.entries(Properties)
      .filter(
        ([key, value]) => typeof value === 'string' && /(Name|^EmailIdentity)$/.test(key) && !notPhysical.has(key),
      )
      .map(([key, value]) => `${Type}.${key} = ${value}`),
  );
}

/** The `service` dimension of every alarm on the stages' own metrics. */
function alarmServices(template: Template): string[] {
  const alarms = template.findResources('AWS::CloudWatch::Alarm') as Resources;
  return Object.values(alarms).flatMap(({ Properties = {} }) => {
    const metrics = [Properties, ...((Properties.Metrics as { MetricStat?: { Metric: unknown } }[]) ?? [])];
    return metrics.flatMap((m) => {
      const metric = (m as { MetricStat?: { Metric: Record<string, unknown> } }).MetricStat?.Metric ?? m;
      if ((metric as { Namespace?: string }).Namespace !== 'Charlie') return [];
      const dimensions = (metric as { Dimensions?: { Name: string; Value: string }[] }).Dimensions ?? [];
      return dimensions.filter((d) => d.Name === 'service').map((d) => d.Value);
    });
  });
}

describe('several centers in one app', () => {
  const centers = loadCenters(examples);
  const { app, stacks } = buildCenters(centers);
  const templates = stacks.map((stack) => Template.fromStack(stack));

  it('builds one stack per center, identified and named by the center', () => {
    expect(stacks.map((stack) => [stack.node.id, stack.stackName])).toEqual([
      ['example-east', 'example-east'],
      ['example-west', 'example-west'],
    ]);
  });

  it('gives the two stacks no physical name in common', () => {
    const [east, west] = templates.map(physicalNames) as [string[], string[]];
    // What the stack names itself: the state machine, the dashboard, the link key secret, the sender identity.
    expect(east).toEqual(
      expect.arrayContaining([
        'AWS::StepFunctions::StateMachine.StateMachineName = example-east-daily-report',
        'AWS::CloudWatch::Dashboard.DashboardName = example-east-reporting',
        'AWS::SecretsManager::Secret.Name = example-east/link-key',
        'AWS::SES::EmailIdentity.EmailIdentity = example-east@example.com',
      ]),
    );
    const westValues = new Set(west.map((name) => name.split(' = ')[1]));
    expect(east.filter((name) => westValues.has(name.split(' = ')[1]))).toEqual([]);
  });

  it("publishes each center's metrics under its own service, and alarms on its own", () => {
    for (const [i, template] of templates.entries()) {
      const name = centers[i]?.name as string;
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: name } },
      });
      const services = alarmServices(template);
      expect(services.length).toBeGreaterThan(0);
      expect(new Set(services)).toEqual(new Set([name]));
    }
  });

  it('leaves each stack cdk-nag clean', () => {
    const findings = new AwsSolutionsChecks()
      .validateScope(app)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
    expect(findings).toEqual([]);
  });
});

describe('bin/charlie.ts', () => {
  /** Runs the CDK app as `cdk synth` does, with the context and environment given; its cloud assembly in a new folder. */
  function synthesize(context: Record<string, unknown>, env: Record<string, string> = {}) {
    const outdir = mkdtempSync(join(tmpdir(), 'charlie-centers-cdk-'));
    const result = spawnSync(process.execPath, ['--import', 'tsx', fromRoot('bin', 'charlie.ts')], {
      cwd: fromRoot(),
      encoding: 'utf8',
      env: {
        ...process.env,
        ...env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
      },
    });
    return { ...result, outdir };
  }

  it('synthesizes one stack per center of the folder given with -c centers=DIR', () => {
    const result = synthesize({ centers: examples });
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(result.outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; displayName?: string }>;
    };
    const stacks = Object.entries(manifest.artifacts)
      .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
      .map(([id, artifact]) => [id, artifact.displayName]);
    expect(stacks).toEqual([
      ['example-east', 'example-east'],
      ['example-west', 'example-west'],
    ]);
  });

  it('refuses a folder and a file named together, and a folder holding no center', () => {
    const both = synthesize({ centers: examples }, { CHARLIE_CONFIG_FILE: fromRoot('charlie.config.json') });
    expect(both.status).toBe(1);
    expect(both.stderr).toContain('Both a centers folder and a configuration file were given');

    const empty = synthesize({ centers: mkdtempSync(join(tmpdir(), 'charlie-no-centers-')) });
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('holds no center configuration');
  });
});
