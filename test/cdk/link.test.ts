import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { actionsOf, logicalId, roleStatements, synth, testConfig } from './synth.ts';

const config = testConfig();
const { stack, template } = synth(config);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
function deliverEnvironment(): Record<string, unknown> {
  const environment = resources[logicalId(stack.functions.deliver.function)]?.Properties.Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}

const common = ['logs:CreateLogStream', 'logs:PutLogEvents'];

describe('download links', () => {
  const fn = logicalId(stack.links.function.function);
  const secret = logicalId(stack.links.key);
  const statements = roleStatements(template, logicalId(stack.links.function.role));

  it('are served by a function URL whose token, not IAM, is the authentication', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [fn, 'Arn'] },
    });
    const properties = resources[fn]?.Properties as { Runtime: string; Architectures: string[]; Handler: string };
    expect(properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  it('are signed with a generated key kept in Secrets Manager under the deployment name', () => {
    expect(resources[secret]?.Properties).toMatchObject({
      Name: 'charlie/link-key',
      GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'key', PasswordLength: 64 },
    });
  });

  it('are checked by a function that reads the key and the workbooks, and can write nothing', () => {
    expect(actionsOf(statements)).toEqual(
      [
        ...common,
        's3:GetObject',
        's3:GetObjectVersion',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    const reports = logicalId(stack.storage.reportsBucket);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reports, 'Arn'] }, '/reports/*']] },
        }),
        expect.objectContaining({
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: { Ref: secret },
        }),
      ]),
    );
    const writes = actionsOf(statements).filter(
      (action) => !action.startsWith('logs:') && !action.startsWith('xray:') && !/:(Get|Describe)/.test(action),
    );
    expect(writes).toEqual([]);
  });

  it('are served with concurrency of their own, as configured, or none where the account has no room for it', () => {
    expect(resources[fn]?.Properties.ReservedConcurrentExecutions).toBe(config.endpoints.reservedConcurrency);
    const none = synth(testConfig({ endpoints: { reservedConcurrency: null } }));
    for (const endpoint of [none.stack.links.function, none.stack.agentEndpoint.function]) {
      expect(none.template.toJSON().Resources[logicalId(endpoint.function)].Properties).not.toHaveProperty(
        'ReservedConcurrentExecutions',
      );
    }
  });

  it('are signed by deliver, which reads the key and knows the endpoint', () => {
    const deliver = roleStatements(template, logicalId(stack.functions.deliver.role));
    expect(deliver).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: { Ref: secret },
      }),
    );
    const environment = deliverEnvironment();
    expect(environment.LINK_BASE_URL).toEqual({ 'Fn::GetAtt': [logicalId(stack.links.url), 'FunctionUrl'] });
  });

  it('are the only other function that can read the key', () => {
    const readers = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, policy]) => JSON.stringify(policy).includes(`{"Ref":"${secret}"}`))
      .flatMap(([, policy]) => (policy.Properties as { Roles: { Ref: string }[] }).Roles.map((r) => r.Ref));
    expect(readers.sort()).toEqual(
      [logicalId(stack.links.function.role), logicalId(stack.functions.deliver.role)].sort(),
    );
  });
});

describe('the SES configuration set', () => {
  const set = logicalId(stack.mail.configurationSet);
  const topic = logicalId(stack.mail.deliveryEvents);

  it('suppresses addresses that bounced or complained and reports bounces, complaints and rejections', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: set },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint', 'reject'],
        SnsDestination: { TopicARN: { Ref: topic } },
      },
    });
  });

  it('tells the admins through an encrypted topic SES may publish to', () => {
    for (const admin of config.delivery.admins) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: admin,
        TopicArn: { Ref: topic },
      });
    }
    expect(resources[topic]?.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'ses.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Principal: { Service: 'ses.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('is used by deliver, which may send through it and is told its name', () => {
    const deliver = roleStatements(template, logicalId(stack.functions.deliver.role));
    const throughSet = deliver.find((s) => JSON.stringify(s.Resource).includes(':configuration-set/'));
    expect(throughSet?.Action).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    expect(JSON.stringify(throughSet?.Resource)).toContain(`{"Ref":"${set}"}`);
    const environment = deliverEnvironment();
    expect(environment.SES_CONFIGURATION_SET).toEqual({ Ref: set });
  });
});
