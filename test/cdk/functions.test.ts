import { describe, expect, it } from 'vitest';
import { DAY_STATUS_PARTITION } from '../../functions/common/names.ts';
import { STAGE_KEYS, STAGES, type StageKey } from '../../functions/stages.ts';
import { actionsOf, logicalId, roleStatements, synth, testConfig } from './synth.ts';

const config = testConfig();
const { stack, template } = synth(config);
const stages = STAGE_KEYS;

interface FunctionProperties {
  Runtime: string;
  Architectures: string[];
  MemorySize: number;
  Timeout: number;
  Handler: string;
  TracingConfig?: { Mode: string };
  LoggingConfig: { LogGroup: unknown };
  EphemeralStorage: { Size: number };
  Role: unknown;
  Environment: { Variables: Record<string, unknown> };
}

function properties(stage: StageKey): FunctionProperties {
  const id = logicalId(stack.functions.of(stage).function);
  return template.toJSON().Resources[id].Properties as FunctionProperties;
}

/** The one table write Build and Deliver share: the day's status record, which the console lists. */
const dayStatusUpdate = {
  Effect: 'Allow',
  Action: 'dynamodb:UpdateItem',
  Resource: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] },
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DAY_STATUS_PARTITION] } },
};

function statements(stage: StageKey) {
  return roleStatements(template, logicalId(stack.functions.of(stage).role));
}

describe('functions', () => {
  it("are the four stages, the two endpoints (agent upload, download links), the run check, the console's API and its deployment", () => {
    template.resourceCountIs('AWS::Lambda::Function', 9);
  });

  it.each(stages)('%s runs Node.js 24 on arm64, untraced', (stage) => {
    const fn = properties(stage);
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.TracingConfig).toBeUndefined();
    // OutputFormat.ESM bundles to index.mjs.
    expect(fn.Handler).toBe('index.handler');
  });

  it.each(stages)('%s has the memory, timeout and description the registry declares', (stage) => {
    const fn = properties(stage);

    expect(fn.MemorySize).toBe(STAGES[stage].memoryMiB);
    expect(fn.Timeout).toBe(STAGES[stage].timeoutSeconds);
    expect(template.toJSON().Resources[logicalId(stack.functions.of(stage).function)].Properties.Description).toBe(
      STAGES[stage].description,
    );
  });

  it.each([
    ['collect', 1024],
    ['ingest', 512],
    ['workbook', 512],
    ['deliver', 512],
  ] as const)('%s has %i MiB of /tmp, set explicitly', (stage, mebibytes) => {
    expect(properties(stage).EphemeralStorage).toEqual({ Size: mebibytes });
  });

  it('collect gets the /tmp its attachment size needs: one spooled attachment per message read at once', () => {
    const big = synth(testConfig({ mailbox: { ...testConfig().mailbox, maxAttachmentBytes: 512 * 1024 * 1024 } }));
    const collect = big.template.toJSON().Resources[logicalId(big.stack.functions.collect.function)];
    expect(collect.Properties.EphemeralStorage).toEqual({ Size: 8 * 512 + 512 });
  });

  it.each(stages)('%s logs to its own log group kept 90 days', (stage) => {
    const logs = logicalId(stack.functions.of(stage).logGroup);
    expect(properties(stage).LoggingConfig).toEqual({ LogGroup: { Ref: logs } });
    expect(template.toJSON().Resources[logs].Properties.RetentionInDays).toBe(90);
  });

  it.each(stages)('%s has exactly the resource names and Powertools settings in its environment', (stage) => {
    // Deliver also knows the download-link endpoint and the SES configuration set.
    const delivery =
      stage === 'deliver'
        ? {
            LINK_BASE_URL: { 'Fn::GetAtt': [logicalId(stack.links.url), 'FunctionUrl'] },
            SES_CONFIGURATION_SET: { Ref: logicalId(stack.mail.configurationSet) },
          }
        : {};
    expect(properties(stage).Environment.Variables).toEqual({
      ...delivery,
      DATA_BUCKET: { Ref: logicalId(stack.storage.dataBucket) },
      REPORTS_BUCKET: { Ref: logicalId(stack.storage.reportsBucket) },
      TABLE_NAME: { Ref: logicalId(stack.storage.table) },
      POWERTOOLS_SERVICE_NAME: 'charlie',
      POWERTOOLS_METRICS_NAMESPACE: 'Charlie',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Ingest's heap is sized for its memory: a young generation of 16 MB semi-spaces, not the runtime's 34 MB.
      NODE_OPTIONS:
        stage === 'ingest'
          ? '--enable-source-maps --max-semi-space-size=16 --max-old-space-size=922'
          : '--enable-source-maps',
    });
  });

  it('never put the configuration or a secret in an environment variable', () => {
    const environments = JSON.stringify(stages.map((stage) => properties(stage).Environment));
    expect(environments).not.toMatch(/CHARLIE_CONFIG|SECRET|PASSWORD|TOKEN/i);
    for (const value of [config.mailbox.tenantId, config.mailbox.clientId, config.mailbox.secretName]) {
      expect(environments).not.toContain(value);
    }
    expect(environments).not.toContain(config.delivery.from);
  });
});

describe('function roles', () => {
  it.each(stages)('%s has its own role with no managed policy', (stage) => {
    const role = template.toJSON().Resources[logicalId(stack.functions.of(stage).role)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(properties(stage).Role).toEqual({ 'Fn::GetAtt': [logicalId(stack.functions.of(stage).role), 'Arn'] });
  });

  it.each(stages)('%s has no wildcard action', (stage) => {
    expect(actionsOf(statements(stage)).filter((action) => action.includes('*'))).toEqual([]);
  });

  const common = ['logs:CreateLogStream', 'logs:PutLogEvents'];

  it('collect reads the Graph secret, the inbox and saved mail, writes raw/, exclusion marks, the run manifest and quarantine records, lists the data bucket', () => {
    const all = statements('collect');
    expect(actionsOf(all)).toEqual(
      [
        ...common,
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    const data = logicalId(stack.storage.dataBucket);
    const objects = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, suffix]] });
    expect(all).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [data, 'Arn'] } }),
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: [objects('/inbox/agent/*'), objects('/inbox/eml/*')],
        }),
        expect.objectContaining({ Action: ['s3:GetObject', 's3:PutObject'], Resource: objects('/raw/*') }),
        // Exclusion marks and the run's manifest, merged into one statement.
        expect.objectContaining({
          Action: 's3:PutObject',
          Resource: [objects('/excluded/raw/*'), objects('/rejects/quarantine/*'), objects('/runs/*')],
        }),
        // Quarantine records: read, written, and deleted when released.
        expect.objectContaining({
          Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
          Resource: objects('/quarantine/*'),
        }),
      ]),
    );
    const secret = all.find((s) => JSON.stringify(s.Action).includes('secretsmanager'));
    expect(JSON.stringify(secret?.Resource)).toContain(':secret:charlie/graph-??????');
  });

  it('ingest reads raw/, writes rejects/, reads the run manifest and writes its result, reads and writes quarantine records, row digests and rows; no mail, no secret', () => {
    const all = statements('ingest');
    expect(actionsOf(all)).toEqual(
      [
        ...common,
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
    // Item actions only on rows and leases, by the partition key's prefix: never delivery records or agent tokens.
    const table = { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] };
    const onItems = (prefixes: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes } });
    expect(all.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
        Resource: table,
        Condition: onItems(['ROW#*']),
      },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table, Condition: onItems(['LEASE#*']) },
      { Effect: 'Allow', Action: 'dynamodb:DeleteItem', Resource: table, Condition: onItems(['ROW#*', 'LEASE#*']) },
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: table,
        Condition: onItems(['DIGEST#*']),
      },
    ]);
    const data = logicalId(stack.storage.dataBucket);
    expect(all).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/raw/*']] },
        }),
        expect.objectContaining({
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/rejects/*']] },
        }),
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: [
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/digests/*']] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/quarantine/*']] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/runs/*']] },
          ],
        }),
        // A missing quarantine record must read as 404, not 403.
        expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [data, 'Arn'] } }),
      ]),
    );
    expect(actionsOf(all).filter((a) => a.startsWith('ses:') || a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it("workbook queries the table's rows, reads the run's manifest and results, and writes reports/; no secret, no mail", () => {
    const all = statements('workbook');
    expect(actionsOf(all)).toEqual(
      [
        ...common,
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
    // Only row partitions, by the partition key's prefix: never delivery records, leases or agent
    // tokens; and the day's status record the console lists.
    expect(all.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROW#*'] } },
      },
      dayStatusUpdate,
    ]);
    const reports = logicalId(stack.storage.reportsBucket);
    const data = logicalId(stack.storage.dataBucket);
    expect(all).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reports, 'Arn'] }, '/reports/*']] },
        }),
        // The run's records, read, and the day view written beside them for the console.
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/runs/*']] },
        }),
        // The day's quarantine records for the output, and rejected rows for the Problems tab.
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: [
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/quarantine/*']] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': [data, 'Arn'] }, '/rejects/*']] },
          ],
        }),
        expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [data, 'Arn'] } }),
      ]),
    );
    expect(actionsOf(all).filter((a) => a.startsWith('secretsmanager:') || a.startsWith('ses:'))).toEqual([]);
  });

  it('deliver reads reports/, keeps delivery records, sends from the sender identity only', () => {
    const all = statements('deliver');
    expect(actionsOf(all)).toEqual(
      [
        ...common,
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        's3:GetObject',
        's3:GetObjectVersion',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'ses:SendEmail',
        'ses:SendRawEmail',
      ].sort(),
    );
    const ses = all.find((s) => JSON.stringify(s.Action).includes('ses:'));
    expect(JSON.stringify(ses?.Resource)).toContain(`"Ref":"${logicalId(stack.mail.identity)}"`);
    // Only the delivery records (DELIVERY#<date>: the day's slots and sent messages), never rows or agent tokens.
    expect(all.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DELIVERY#*'] } },
      },
      dayStatusUpdate,
    ]);
  });

  it.each(stages)('%s has no reserved concurrency: the pipeline takes from the account’s pool', (stage) => {
    expect(template.toJSON().Resources[logicalId(stack.functions.of(stage).function)].Properties).not.toHaveProperty(
      'ReservedConcurrentExecutions',
    );
  });

  it('only the state machine may invoke the functions (and the failure-notice rule deliver), only the unqualified ARNs', () => {
    const machineRole = logicalId(stack.workflow.stateMachine.role);
    const invoke = roleStatements(template, machineRole).find((s) => s.Action === 'lambda:InvokeFunction');
    expect(invoke?.Resource).toEqual(
      expect.arrayContaining(
        stages.map((stage) => ({ 'Fn::GetAtt': [logicalId(stack.functions.of(stage).function), 'Arn'] })),
      ),
    );
    expect(invoke?.Resource).toHaveLength(4);
    // Function URLs give the endpoints public invoke permissions; no stage function has one. The
    // one permission naming a stage lets the failure-notice rule invoke deliver.
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => p.Properties);
    const ofStages = permissions.filter((p) =>
      stages.some((stage) => JSON.stringify(p.FunctionName).includes(logicalId(stack.functions.of(stage).function))),
    );
    expect(ofStages).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [logicalId(stack.functions.deliver.function), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [logicalId(stack.failureNotices.rule), 'Arn'] },
      },
    ]);
  });
});

describe('mail', () => {
  it('verifies the configured sender address', () => {
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'charlie@example.com' });
  });
});
