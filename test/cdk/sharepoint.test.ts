import { describe, expect, it } from 'vitest';
import { logicalId, roleStatements, synth, testConfig } from './synth.ts';

const sharepoint = { hostname: 'contoso.sharepoint.com', sitePath: '/sites/Reporting', library: 'Documents' };

/** Deliver's secret statements' resources and its timeout, for a configuration; synthesis runs cdk-nag. */
function deliverOf(config: ReturnType<typeof testConfig>) {
  const { stack, template } = synth(config);
  const deliver = stack.functions.deliver;
  const secrets = roleStatements(template, logicalId(deliver.role))
    .filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'))
    .map((s) => JSON.stringify(s.Resource));
  const timeout = template.toJSON().Resources[logicalId(deliver.function)].Properties.Timeout as number;
  return { secrets, timeout };
}

describe('deliver with a SharePoint copy', () => {
  it('reads the Graph secret and may run five minutes only when sharepoint is configured', () => {
    const without = deliverOf(testConfig());
    expect(without.secrets.some((r) => r.includes(':secret:charlie/graph-??????'))).toBe(false);
    expect(without.timeout).toBe(60);

    const configured = deliverOf(testConfig({ sharepoint }));
    expect(configured.secrets.filter((r) => r.includes(':secret:charlie/graph-??????'))).toHaveLength(1);
    expect(configured.timeout).toBe(300);
  });
});
