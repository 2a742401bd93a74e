import { describe, expect, it } from 'vitest';
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
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
      ].sort(),
    );
    const objects = statements.find((s) => JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(objects?.Resource).toEqual({
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [logicalId(stack.storage.dataBucket), 'Arn'] }, `/${config.agentInbox.prefix}*`],
      ],
    });
    const table = statements.find((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(JSON.stringify(table?.Resource)).toContain(logicalId(stack.storage.table));
  });
});
