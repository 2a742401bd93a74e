import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import { TABLE_KEY } from '../functions/common/keys.ts';

/** Key prefixes the functions write under (functions/common/keys.ts forms the full keys). */
export const PREFIX = {
  raw: 'raw/',
  rejects: 'rejects/',
  excluded: 'excluded/',
  reports: 'reports/',
  runs: 'runs/',
  quarantine: 'quarantine/',
  digests: 'digests/',
} as const;

/**
 * Pushed files and saved mail are copied to raw/ by the run of their day; the originals are
 * kept long enough to rerun a missed month, then expire.
 */
const KEEP_INBOX = Duration.days(60);

/**
 * An execution's manifest and results (runs/): read by its own states, and by a redrive,
 * which Step Functions allows for 14 days after the execution ends.
 */
const KEEP_RUNS = Duration.days(30);

export interface StorageProps {
  config: Pick<Config, 'storage' | 'agentInbox' | 'mailbox'>;
}

export class Storage extends Construct {
  /** raw/, rejects/, excluded/, runs/, the agent inbox and saved mail. */
  readonly dataBucket: Bucket;
  /** reports/: one workbook per day, versioned so a rebuilt day keeps what was sent before. */
  readonly reportsBucket: Bucket;
  readonly logsBucket: Bucket;
  readonly table: Table;

  constructor(scope: Construct, id: string, { config }: StorageProps) {
    super(scope, id);
    // Raw files, rejects and exclusion marks are kept as long as the rows they gave (storage.keepDays).
    const keepSource = Duration.days(config.storage.keepDays);

    this.logsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery supports SSE-S3 only.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(400) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.dataBucket = new Bucket(this, 'Data', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        { prefix: PREFIX.raw, expiration: keepSource },
        { prefix: PREFIX.rejects, expiration: keepSource },
        { prefix: PREFIX.excluded, expiration: keepSource },
        { prefix: PREFIX.quarantine, expiration: keepSource },
        { prefix: PREFIX.digests, expiration: keepSource },
        { prefix: PREFIX.runs, expiration: KEEP_RUNS },
        { prefix: config.agentInbox.prefix, expiration: KEEP_INBOX },
        { prefix: config.mailbox.savedMailPrefix, expiration: KEEP_INBOX },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.reportsBucket = new Bucket(this, 'Reports', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(90) },
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEY.partition, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEY.sort, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/**
 * Object access under one key pattern with exactly the actions named: the bucket's
 * `grantRead`/`grantWrite` would add wildcard actions (s3:GetObject*, s3:List*, s3:DeleteObject*).
 */
export function allowObjects(grantee: IGrantable, bucket: IBucket, keyPattern: string, actions: string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions, resources: [bucket.arnForObjects(keyPattern)] }),
  );
}

/** ListBucket turns a HeadObject/GetObject on a missing key into 404 instead of 403. */
export function allowList(grantee: IGrantable, bucket: IBucket): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  );
}
