import { describe, expect, it } from 'vitest';
import { logicalId, roleStatements, synth, testConfig } from './synth.ts';

/** The Secrets Manager resources the deliver function's role may read. */
function deliverSecrets(teams: boolean): string[] {
  const { stack, template } = synth(testConfig(teams ? { teams: { webhookSecretName: 'charlie/teams' } } : {}));
  return roleStatements(template, logicalId(stack.functions.deliver.role))
    .filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'))
    .map((s) => JSON.stringify(s.Resource));
}

describe('Teams', () => {
  it('lets deliver read the webhook secret only when Teams is configured, and passes the cdk-nag checks', () => {
    const configured = deliverSecrets(true);
    expect(configured.some((resource) => resource.includes(':secret:charlie/teams-??????'))).toBe(true);
    expect(deliverSecrets(false).some((resource) => resource.includes('charlie/teams'))).toBe(false);
  });
});
