import { EmailIdentity, Identity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface MailProps {
  /** The sender address, `delivery.from`. */
  readonly from: string;
}

/**
 * The SES identity the workbook and failure notices are sent from. SES emails the address a verification
 * link on deploy; until it is clicked (and, in the SES sandbox, until each recipient is verified too) sends fail.
 */
export class Mail extends Construct {
  readonly identity: EmailIdentity;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    this.identity = new EmailIdentity(this, 'Sender', { identity: Identity.email(props.from) });
  }
}
