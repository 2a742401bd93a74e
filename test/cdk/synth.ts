import { readFileSync } from 'node:fs';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { Center } from '../../functions/common/centers.ts';
import { type Config, type ConfigInput, parseConfig } from '../../functions/common/config.ts';
import { type CentersApp, createApp, createCentersApp } from '../../lib/app.ts';
import type { CharlieStack } from '../../lib/charlie-stack.ts';
import { fromRoot } from '../../lib/paths.ts';

/** The repository configuration with the fields the tests assert on pinned. */
export function testConfig(overrides: Partial<ConfigInput> = {}): Config {
  const base = JSON.parse(readFileSync(fromRoot('charlie.config.json'), 'utf8')) as ConfigInput;
  return parseConfig({
    ...base,
    name: 'charlie',
    timeZone: 'America/Chicago',
    schedule: { daily: '06:00', intraday: [], enabled: true },
    mailbox: { ...base.mailbox, secretName: 'charlie/graph' },
    agentInbox: { prefix: 'inbox/agent/' },
    delivery: { ...base.delivery, from: 'charlie@example.com' },
    ...overrides,
  });
}

/** The feature flags `cdk synth` applies, so tests build what the CLI builds. */
const cdkJsonContext = (JSON.parse(readFileSync(fromRoot('cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

export interface Synthesized {
  app: App;
  stack: CharlieStack;
  template: Template;
}

/** The app, not yet synthesized, with Lambda bundling skipped. */
export function build(config: Config = testConfig()): { app: App; stack: CharlieStack } {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  return createApp(config, { app });
}

/** One stack per center, not yet synthesized, with Lambda bundling skipped. */
export function buildCenters(centers: readonly Center[]): CentersApp {
  const app = new App({ context: { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] } });
  return createCentersApp(centers, { app });
}

/** The synthesized stack; synthesis runs the cdk-nag checks and throws on an unacknowledged error. */
export function synth(config: Config = testConfig()): Synthesized {
  const { app, stack } = build(config);
  return { app, stack, template: Template.fromStack(stack) };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement of the inline policies attached to a role. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleLogicalId }] },
  }) as Record<string, { Properties: { PolicyDocument: { Statement: Statement[] } } }>;
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export function actionsOf(statements: Statement[]): string[] {
  return [...new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
}

/** The template logical id of an L2 construct's resource. */
export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}
