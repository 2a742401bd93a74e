import { describe, expect, it } from 'vitest';
import { logicalId, roleStatements, synth, testConfig } from './synth.ts';

const sharepoint = { hostname: 'contoso.sharepoint.com', sitePath: '/sites/Reporting', library: 'Documents' };

/** Deliver's secret statements' resources, for a configuration; synthesis runs cdk-nag. */
function deliverOf(config: ReturnType<typeof testConfig>) {
  const { stack, template } = synth(config);
  const secrets = roleStatements(template, logicalId(stack.functions.deliver.role))
    .filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'))
    .map((s) => JSON.stringify(s.Resource));
  return secrets;
}

describe('deliver with a SharePoint copy', () => {
  it('reads the Graph secret only when sharepoint is configured', () => {
    expect(deliverOf(testConfig()).some((r) => r.includes(':secret:charlie/graph-??????'))).toBe(false);
    expect(
      deliverOf(testConfig({ sharepoint })).filter((r) => r.includes(':secret:charlie/graph-??????')),
    ).toHaveLength(1);
  });
});
