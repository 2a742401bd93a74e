import { describe, expect, it } from 'vitest';
import { agentRateKey, agentTokenKey } from '../../functions/common/keys.ts';
import { actionsOf, logicalId, roleStatements, synth, testConfig } from './synth.ts';

const config = testConfig();
const { stack, template } = synth(config);
const endpoint = stack.agentEndpoint;
const functionId = logicalId(endpoint.function.function);
const statements = roleStatements(template, logicalId(endpoint.function.role));

describe('agent endpoint', () => {
  it('is a function URL without IAM auth: each agent bearer token is checked by the function', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    expect(template.findOutputs('AgentEndpointUrl').AgentEndpointUrl?.Value).toEqual({
      'Fn::GetAtt': [logicalId(endpoint.url), 'FunctionUrl'],
    });
  });

  it('runs the agent-upload handler with the shared function defaults, and no secret in its environment', () => {
    const fn = template.toJSON().Resources[functionId].Properties;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Timeout).toBe(10);
    expect(JSON.stringify(fn.Environment)).not.toMatch(/TOKEN|SECRET/i);
  });

  it('may read token hashes, count requests, and read and presign PUTs under the agent inbox only', () => {
    expect(actionsOf(statements)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
    const objects = statements.find((s) => JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(objects?.Resource).toEqual({
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [logicalId(stack.storage.dataBucket), 'Arn'] }, `/${config.agentInbox.prefix}*`],
      ],
    });
    // Token hashes in AGENT_TOKENS (read), request counters in AGENT#<id> (updated): never rows or delivery records.
    const table = { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] };
    const onItems = (partitions: string[]) => ({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions },
    });
    expect(statements.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: table, Condition: onItems(['AGENT_TOKENS']) },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: table, Condition: onItems(['AGENT#*']) },
    ]);
    expect(agentTokenKey('desk-1').pk).toBe('AGENT_TOKENS');
    expect(agentRateKey('desk-1', '2026-03-09T08:00').pk).toBe('AGENT#desk-1');
  });

  it('has concurrency of its own, so that a flood of requests is throttled here and not in the pipeline', () => {
    expect(config.endpoints.reservedConcurrency).toBe(5);
    expect(template.toJSON().Resources[functionId].Properties.ReservedConcurrentExecutions).toBe(5);
    const custom = synth(testConfig({ endpoints: { reservedConcurrency: 8 } }));
    expect(
      custom.template.toJSON().Resources[logicalId(custom.stack.agentEndpoint.function.function)].Properties
        .ReservedConcurrentExecutions,
    ).toBe(8);
  });
});
