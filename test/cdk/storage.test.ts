import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalId, synth } from './synth.ts';

const { stack, template } = synth();

describe('buckets', () => {
  const buckets = template.findResources('AWS::S3::Bucket');

  it("are the data, reports and access-log buckets, all retained, and the console's site", () => {
    const { dataBucket, reportsBucket, logsBucket } = stack.storage;
    const kept = [dataBucket, reportsBucket, logsBucket].map(logicalId);
    const site = stack.console ? logicalId(stack.console.bucket) : undefined;
    expect(Object.keys(buckets).sort()).toEqual([...kept, site].sort());
    for (const id of kept) {
      expect(buckets[id]?.DeletionPolicy).toBe('Retain');
      expect(buckets[id]?.UpdateReplacePolicy).toBe('Retain');
    }
    // The site holds only the built app, deployed again by every cdk deploy.
    expect(buckets[site ?? '']?.DeletionPolicy).toBe('Delete');
  });

  it('block all public access and encrypt at rest', () => {
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    }
  });

  it('deny every request that is not over TLS', () => {
    for (const id of Object.keys(buckets)) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('log server access to the logs bucket', () => {
    const logs = logicalId(stack.storage.logsBucket);
    for (const bucket of [stack.storage.dataBucket, stack.storage.reportsBucket]) {
      expect(buckets[logicalId(bucket)]?.Properties.LoggingConfiguration).toMatchObject({
        DestinationBucketName: { Ref: logs },
      });
    }
  });

  it('expire raw files, rejects and exclusion marks after storage.keepDays, pushed files and saved mail after 60 days', () => {
    const rules = buckets[logicalId(stack.storage.dataBucket)]?.Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'raw/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'rejects/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'excluded/', ExpirationInDays: 400, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'runs/', ExpirationInDays: 30, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'inbox/agent/', ExpirationInDays: 60, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'inbox/eml/', ExpirationInDays: 60, Status: 'Enabled' }),
      ]),
    );
  });

  it('version reports and expire replaced versions after 90 days', () => {
    const reports = buckets[logicalId(stack.storage.reportsBucket)]?.Properties;
    expect(reports.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(reports.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
      ]),
    );
  });
});

describe('table', () => {
  it('is keyed pk/sk, on demand, with point-in-time recovery and TTL, retained', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
  });
});

describe('outputs', () => {
  it('name the buckets, the table, the state machine and the endpoints', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'DataBucketName',
        'ReportsBucketName',
        'StateMachineArn',
        'TableName',
        'AgentEndpointUrl',
        'DownloadLinkUrl',
        'ConsoleUrl',
        'ConsoleApiUrl',
        'ConsoleUserPoolId',
      ].sort(),
    );
    expect(outputs.DataBucketName?.Value).toEqual({ Ref: logicalId(stack.storage.dataBucket) });
    expect(outputs.ReportsBucketName?.Value).toEqual({ Ref: logicalId(stack.storage.reportsBucket) });
    expect(outputs.TableName?.Value).toEqual({ Ref: logicalId(stack.storage.table) });
    expect(outputs.StateMachineArn?.Value).toEqual({ Ref: logicalId(stack.workflow.stateMachine) });
  });
});
