import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { logicalId, synth, testConfig } from './synth.ts';

describe('monitoring', () => {
  const config = testConfig();
  const { stack, template } = synth(config);

  it('alarms on failed runs, rejects per export type, missing exports and a day without a run', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const descriptions = Object.values(alarms).map((a) => String(a.Properties.AlarmDescription));
    expect(descriptions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/run failed/),
        expect.stringMatching(/export types with no rows/),
        expect.stringMatching(/No run has succeeded in the last 24 hours/),
      ]),
    );
    for (const spec of config.exports) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: [
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                MetricName: 'RowsRejected',
                Namespace: 'Charlie',
                Dimensions: Match.arrayWith([{ Name: 'exportType', Value: spec.type }]),
              },
              Stat: 'Sum',
            }),
          }),
        ],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsSucceeded',
      Period: 86400,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    // A run not done an hour after its time, a check that could not tell, a run Scheduler could not start.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'LateRuns', Namespace: 'Charlie' }),
            Stat: 'Maximum',
          }),
        }),
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('60 minutes after its scheduled time'),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.runCheck.function.function) } }],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.schedule.deadLetterQueue), 'QueueName'] } },
      ],
      Threshold: 1,
    });
    // Every alarm notifies the admins' topic.
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
  });

  it('mails the admins through an encrypted topic that CloudWatch can publish to', () => {
    for (const admin of config.delivery.admins) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: admin });
    }
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('draws a dashboard of runs, rows, rejects, missing exports, workbook size, durations and mail', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const title of [
      'Runs',
      'Rows per outcome',
      'Rejected rows per export',
      'Missing exports',
      'Workbook size',
      'Stage duration',
      'Mail',
    ]) {
      expect(body).toContain(title);
    }
  });
});
