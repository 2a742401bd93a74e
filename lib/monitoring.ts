import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import {
  EXPORT_TYPE_DIMENSION,
  METRIC,
  METRIC_NAMESPACE,
  type MetricName,
  ROW_COUNT_METRIC,
  serviceName,
} from '../functions/common/names.ts';
import type { CharlieFunction } from './charlie-function.ts';

export interface MonitoringProps {
  readonly config: Config;
  readonly stateMachine: StateMachine;
  readonly functions: readonly CharlieFunction[];
  /** Runs and run checks Scheduler could not start, failure notices EventBridge could not hand over. */
  readonly deadLetterQueue: IQueue;
  /** The check that a run succeeded after each scheduled time. */
  readonly runCheck: CharlieFunction;
}

const rowOutcomes = ['inserted', 'updated', 'unchanged', 'stale', 'rejected'] as const;

/**
 * What an operator watches: a dashboard of the day's runs and rows, and alarms — mailed to
 * the admins through an SNS topic — on a failed run, on rejected rows, on missing exports,
 * on a run not done by its time or not started at all, and when no run has succeeded for a day.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, stateMachine } = props;
    // Powertools publishes every stage's metrics in METRIC_NAMESPACE, with the deployment's `service` dimension.
    const service = { service: serviceName(config) };

    // CloudWatch cannot publish to a topic under the AWS-managed SNS key, so the topic has its own key.
    const key = new Key(this, 'AlarmsKey', { enableKeyRotation: true, description: `${config.name} alarm topic` });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Alarms', { displayName: `${config.name} alarms`, masterKey: key, enforceSSL: true });
    for (const admin of config.delivery.admins) this.topic.addSubscription(new EmailSubscription(admin));

    const failedRuns = new MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: stateMachine.metricFailed({ period: Duration.minutes(5) }),
        timedOut: stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
        aborted: stateMachine.metricAborted({ period: Duration.minutes(5) }),
      },
      label: 'Failed runs',
      period: Duration.minutes(5),
    });
    this.alarm('RunFailed', 'A run failed, timed out or was aborted.', failedRuns, 1);

    const rejected = config.exports.map(
      (spec) =>
        new Metric({
          namespace: METRIC_NAMESPACE,
          metricName: METRIC.rowsRejected,
          dimensionsMap: { ...service, [EXPORT_TYPE_DIMENSION]: spec.type },
          statistic: 'Sum',
          period: Duration.hours(1),
          label: spec.type,
        }),
    );
    config.exports.forEach((spec, i) => {
      this.alarm(
        `Rejects${spec.type}`,
        `Rows of ${spec.type} were rejected: see rejects/ in the data bucket.`,
        rejected[i] as Metric,
        1,
      );
    });

    const missing = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC.missingExports,
      dimensionsMap: service,
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: 'Missing exports',
    });
    this.alarm('MissingExports', 'A built day has export types with no rows.', missing, 1);

    // A day is the longest period an alarm evaluates; no data at all counts as no run.
    const succeeded = stateMachine.metricSucceeded({ period: Duration.days(1), statistic: 'Sum' });
    const noRun = new Alarm(this, 'NoRunToday', {
      alarmDescription: `No run has succeeded in the last 24 hours (daily run at ${config.schedule.daily} ${config.timeZone}).`,
      metric: succeeded,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
    });
    noRun.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(noRun);

    const lateRuns = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC.lateRuns,
      dimensionsMap: service,
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: 'Late runs',
    });
    this.alarm(
      'RunLate',
      `No run had succeeded ${config.schedule.lateAfterMinutes} minutes after its scheduled time.`,
      lateRuns,
      1,
    );
    this.alarm(
      'RunCheckFailed',
      'The check that runs happen on time failed: whether the last run was late is unknown.',
      props.runCheck.function.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      1,
    );
    this.alarm(
      'ScheduleDeadLetters',
      'Scheduler could not start a run or a run check, or EventBridge could not hand over a failure notice: it is in the dead-letter queue.',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      1,
    );

    const rows = (outcome: (typeof rowOutcomes)[number]) =>
      new MathExpression({
        expression: config.exports.map((_, i) => `${outcome}${i}`).join(' + '),
        usingMetrics: Object.fromEntries(
          config.exports.map((spec, i) => [
            `${outcome}${i}`,
            new Metric({
              namespace: METRIC_NAMESPACE,
              metricName: ROW_COUNT_METRIC[outcome],
              dimensionsMap: { ...service, [EXPORT_TYPE_DIMENSION]: spec.type },
              statistic: 'Sum',
              period: Duration.hours(1),
            }),
          ]),
        ),
        label: outcome,
        period: Duration.hours(1),
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${config.name}-reporting`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${config.name} reporting\nDaily run ${config.schedule.daily} ${config.timeZone}. Runbook: docs/operations.md in the repository.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Runs',
        left: [
          stateMachine.metricStarted({ period: Duration.hours(1), label: 'started' }),
          stateMachine.metricSucceeded({ period: Duration.hours(1), label: 'succeeded' }),
          failedRuns,
          lateRuns,
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Rows per outcome',
        left: rowOutcomes.map(rows),
        stacked: true,
        width: 8,
      }),
      new GraphWidget({ title: 'Rejected rows per export', left: rejected, width: 8 }),
    );
    this.dashboard.addWidgets(
      new SingleValueWidget({ title: 'Missing exports (latest build)', metrics: [missing], width: 6 }),
      new GraphWidget({
        title: 'Workbook size',
        left: [
          new Metric({
            namespace: METRIC_NAMESPACE,
            metricName: METRIC.workbookBytes,
            dimensionsMap: service,
            statistic: 'Maximum',
            period: Duration.hours(1),
          }),
        ],
        width: 6,
      }),
      new GraphWidget({
        title: 'Stage duration (p95)',
        left: props.functions.map((fn) =>
          fn.function.metricDuration({ statistic: 'p95', period: Duration.hours(1), label: fn.node.id }),
        ),
        width: 6,
      }),
      new GraphWidget({
        title: 'Mail',
        left: (
          [
            METRIC.messagesSeen,
            METRIC.messagesMatched,
            METRIC.messagesIgnored,
            METRIC.attachmentsStored,
          ] as MetricName[]
        ).map(
          (name) =>
            new Metric({
              namespace: METRIC_NAMESPACE,
              metricName: name,
              dimensionsMap: service,
              statistic: 'Sum',
              period: Duration.hours(1),
            }),
        ),
        width: 6,
      }),
    );
  }

  private alarm(id: string, description: string, metric: Metric | MathExpression, threshold: number): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
