import { Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it, vi } from 'vitest';
import { build, synth } from './synth.ts';

/** Every finding as "rule at construct path", so a failure names what to fix. */
function findings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks()
    .validateScope(scope)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`));
}

/** Acknowledged rule ids, by the construct path they were recorded on. */
function acknowledgements(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  const { app, stack } = synth();

  it('leaves no unacknowledged error or warning', () => {
    expect(findings(app)).toEqual([]);
  });

  it('reports nothing through annotations either', () => {
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  it('acknowledges only findings that exist, each on the construct concerned, with a reason', () => {
    const acknowledged = acknowledgements(app);
    expect(acknowledged.length).toBeGreaterThan(0);

    const raw = findings(withoutAcknowledgements().app);

    for (const { path, id, reason } of acknowledged) {
      expect(path).not.toBe(stack.node.path);
      expect(reason.length).toBeGreaterThan(40);
      const matching = raw.filter((f) => f.includes(` ${id} at ${path}/`));
      expect(matching, `${id} acknowledged at ${path}`).not.toEqual([]);
    }
    for (const finding of raw) {
      // The console's hosting: CloudFront without a custom domain, WAF or geo rules; Cognito's
      // Essentials plan; CDK's own BucketDeployment handler (its managed policy, wildcards, runtime).
      if (/ at Charlie\/(Console\/|Custom::CDKBucketDeployment)/.test(finding)) {
        expect(finding).toMatch(/^(error|warning) AwsSolutions-(IAM5\[.*\]|IAM4\[.*\]|L1|COG8|CFR[1-4]) at /);
        continue;
      }
      expect(finding).toMatch(/^error AwsSolutions-(IAM5\[Resource::.*\]|SQS3|SMG4) at /);
    }
  });

  it('runs on synth and fails it on an unacknowledged error', () => {
    const { stack: unacknowledged } = withoutAcknowledgements();
    expect(() => Template.fromStack(unacknowledged)).toThrow(/Acknowledge with 'AwsSolutions::AwsSolutions-IAM5/);
  });
});

function withoutAcknowledgements(): ReturnType<typeof build> {
  const acknowledge = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
  try {
    return build();
  } finally {
    acknowledge.mockRestore();
  }
}
