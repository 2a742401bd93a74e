import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import {
  ConfigurationSet,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ENV } from '../functions/common/names.ts';
import type { CharlieFunction } from './charlie-function.ts';

export interface MailProps {
  /** The sender address, `delivery.from`. */
  readonly from: string;
  /** `delivery.admins`: told of every bounce, complaint and rejection. */
  readonly admins: readonly string[];
}

/**
 * The SES identity the workbook and failure notices are sent from. SES emails the address a verification
 * link on deploy; until it is clicked (and, in the SES sandbox, until each recipient is verified too) sends fail.
 */
export class Mail extends Construct {
  readonly identity: EmailIdentity;
  /** Every message is sent through it: bounces, complaints and rejections go to `deliveryEvents`. */
  readonly configurationSet: ConfigurationSet;
  readonly deliveryEvents: Topic;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    this.identity = new EmailIdentity(this, 'Sender', { identity: Identity.email(props.from) });

    // SES cannot publish to a topic under the AWS-managed SNS key, so the topic has its own key.
    const key = new Key(this, 'DeliveryEventsKey', {
      enableKeyRotation: true,
      description: 'SES delivery events topic',
    });
    key.grant(
      new ServicePrincipal('ses.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.deliveryEvents = new Topic(this, 'DeliveryEvents', {
      displayName: 'Charlie report bounces and complaints',
      masterKey: key,
      enforceSSL: true,
    });
    for (const admin of props.admins) this.deliveryEvents.addSubscription(new EmailSubscription(admin));

    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      // A recipient that bounced or complained is not mailed again until removed from the suppression list.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.snsTopic(this.deliveryEvents),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT, EmailSendingEvent.REJECT],
    });
  }

  /** Lets a function that may send from the identity send through the configuration set: SES authorizes both. */
  useConfigurationSet(fn: CharlieFunction): void {
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          Stack.of(this).formatArn({
            service: 'ses',
            resource: 'configuration-set',
            resourceName: this.configurationSet.configurationSetName,
          }),
        ],
      }),
    );
    fn.function.addEnvironment(ENV.sesConfigurationSet, this.configurationSet.configurationSetName);
  }
}
