import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Config } from '../functions/common/config.ts';
import {
  AGENT_TOKENS_PARTITION,
  DAY_STATUS_PARTITION,
  PARTITION_PREFIX,
  PREFIX,
  TABLE_KEY,
} from '../functions/common/names.ts';
import {
  acknowledgeObjectWildcard,
  allowItems,
  allowList,
  allowObjects,
  type RoleHolder,
  startingWith,
} from './grants.ts';

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

/** Which quarantine record actions a function needs: read (skip while held), write (quarantine), delete (release). */
export type QuarantineAccess = 'read' | 'write' | 'delete';

/**
 * The buckets and the table, and what a function may do with them: each `grant…` method allows
 * one intent under the prefixes it concerns (and acknowledges the key wildcard it needs), so
 * that the layout of keys stays here and in functions/common/keys.ts.
 */
export class Storage extends Construct {
  /** raw/, rejects/, excluded/, runs/, the agent inbox and saved mail. */
  readonly dataBucket: Bucket;
  /** reports/: one workbook per day, versioned so a rebuilt day keeps what was sent before. */
  readonly reportsBucket: Bucket;
  readonly logsBucket: Bucket;
  readonly table: Table;
  private readonly agentInboxPrefix: string;
  private readonly savedMailPrefix: string;

  constructor(scope: Construct, id: string, { config }: StorageProps) {
    super(scope, id);
    this.agentInboxPrefix = config.agentInbox.prefix;
    this.savedMailPrefix = config.mailbox.savedMailPrefix;
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
      serverAccessLogsPrefix: PREFIX.reports,
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

  /** ListBucket on the data bucket: a missing key then reads as 404 rather than 403. */
  grantDataList(fn: RoleHolder): Grant {
    return allowList(fn, this.dataBucket);
  }

  /** Read what agents pushed into the agent inbox. */
  grantAgentInboxRead(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${this.agentInboxPrefix}*`,
      ['s3:GetObject'],
      'Collect reads any file an agent drops under the agent inbox prefix; key names are not known in advance.',
    );
  }

  /**
   * Answer an agent with a presigned PUT into the inbox: the role signs it, so it must be allowed
   * the PutObject it hands out; HeadObject tells a file already pushed.
   */
  grantAgentInboxPush(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${this.agentInboxPrefix}*`,
      ['s3:GetObject', 's3:PutObject'],
      'The endpoint presigns PUTs for keys <prefix><agent>/<received>_<sha256>/<name> under the agent inbox; the agent and file are only known per request, and an agent bearer token (not IAM) decides who may ask.',
    );
  }

  /** Read the saved .eml files an operator puts aside for a backfill; never changed. */
  grantSavedMailRead(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${this.savedMailPrefix}*`,
      ['s3:GetObject'],
      'Collect reads any saved .eml file an operator puts under the saved-mail prefix for a backfill.',
    );
  }

  /** Store the day's source files under raw/ (HeadObject first: content-addressed keys are stored once). */
  grantRawWrite(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.raw}*`,
      ['s3:GetObject', 's3:PutObject'],
      'Collect stores each attachment under raw/<date>/<type>/<sha256>.csv; keys are content-addressed.',
    );
  }

  grantRawRead(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.raw}*`,
      ['s3:GetObject'],
      'Ingest reads the raw/ file the state machine hands it; keys are content-addressed per day and type.',
    );
  }

  /** Undo marks a raw file excluded; the mark is listed, never read or deleted by a function. */
  grantExclusionMarks(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.excluded}${PREFIX.raw}*`,
      ['s3:PutObject'],
      'Undo marks a raw file excluded under excluded/<its raw key>; raw keys are content-addressed.',
    );
  }

  /** An execution's manifest and per-file results under runs/. */
  grantRunRecords(fn: RoleHolder, access: 'read' | 'write' | 'readWrite'): Grant {
    const actions = { read: ['s3:GetObject'], write: ['s3:PutObject'], readWrite: ['s3:GetObject', 's3:PutObject'] };
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.runs}*`,
      actions[access],
      'An execution keeps its manifest and per-file results under runs/<date>/<execution name>/; names are only known at run time.',
    );
  }

  /** Quarantine records (functions/common/quarantine.ts). */
  grantQuarantineRecords(fn: RoleHolder, access: readonly QuarantineAccess[]): Grant {
    const actions = { read: 's3:GetObject', write: 's3:PutObject', delete: 's3:DeleteObject' };
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.quarantine}*`,
      access.map((a) => actions[a]),
      quarantineReason,
    );
  }

  /** The bytes of a quarantined input, kept beside the other rejects. */
  grantQuarantineCopies(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.rejects}${PREFIX.quarantine}*`,
      ['s3:PutObject'],
      quarantineReason,
    );
  }

  /** Rejected rows and files, named after the raw/ key they came from. */
  grantRejectsWrite(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.rejects}*`,
      ['s3:PutObject'],
      'Ingest writes rejected rows and files under rejects/, named after the raw/ key they came from.',
    );
  }

  grantRejectsRead(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.rejects}*`,
      ['s3:GetObject'],
      'Build reads the rejected rows of the run’s files under rejects/, named after the raw/ keys they came from.',
    );
  }

  /** Write a day's workbook; multipart uploads (lib-storage) also abort on failure. */
  grantReportWrite(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.reportsBucket,
      `${PREFIX.reports}*`,
      ['s3:PutObject', 's3:AbortMultipartUpload'],
      'Build writes one workbook per business day under reports/<date>/; the date is only known at run time.',
    );
  }

  /** Read a workbook, and sign a link to it (pinned to the object version) with the function's role. */
  grantReportRead(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.reportsBucket,
      `${PREFIX.reports}*`,
      ['s3:GetObject', 's3:GetObjectVersion'],
      'Reads and links the workbook of a business day, reports/<date>/<name>.xlsx; the date is only known at run time.',
    );
  }

  /** Rows: batch lookups and batch puts, never the delivery records or agent tokens beside them. */
  grantRowWrite(fn: RoleHolder): Grant {
    return allowItems(
      fn,
      this.table,
      [startingWith(PARTITION_PREFIX.row)],
      ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
    );
  }

  /** The day's rows, a partition (day, type, shard) at a time. */
  grantRowQuery(fn: RoleHolder): Grant {
    return allowItems(fn, this.table, [startingWith(PARTITION_PREFIX.row)], ['dynamodb:Query']);
  }

  /**
   * Row digests (functions/ingest/digests.ts): each day and type's snapshot read and rewritten,
   * its generation read and renewed, and the day's row partitions queried to rebuild it.
   */
  grantRowDigests(fn: RoleHolder): Grant {
    return this.objects(
      fn,
      this.dataBucket,
      `${PREFIX.digests}*`,
      ['s3:GetObject', 's3:PutObject'],
      'Ingest reads and rewrites the row digest snapshot of each business day and export type it writes, digests/<date>/<type>.gz.',
    )
      .combine(
        allowItems(
          fn,
          this.table,
          [startingWith(PARTITION_PREFIX.digest)],
          ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        ),
      )
      .combine(this.grantRowQuery(fn));
  }

  /** Leases (one writer per day and type), taken with a conditional put. */
  grantLeaseTake(fn: RoleHolder): Grant {
    return allowItems(fn, this.table, [startingWith(PARTITION_PREFIX.lease)], ['dynamodb:PutItem']);
  }

  /** A lease released, and an undone file's rows taken out, with conditional deletes. */
  grantRowAndLeaseDeletes(fn: RoleHolder): Grant {
    return allowItems(
      fn,
      this.table,
      [startingWith(PARTITION_PREFIX.row), startingWith(PARTITION_PREFIX.lease)],
      ['dynamodb:DeleteItem'],
    );
  }

  /** Delivery records: the day's slots, read before sending and written after, and its history of messages. */
  grantDeliveryRecords(fn: RoleHolder): Grant {
    return allowItems(
      fn,
      this.table,
      [startingWith(PARTITION_PREFIX.delivery)],
      ['dynamodb:GetItem', 'dynamodb:PutItem'],
    );
  }

  /** The day's status record (functions/common/day-status.ts), updated as a run builds, delivers or fails. */
  grantDayStatusUpdate(fn: RoleHolder): Grant {
    return allowItems(fn, this.table, [DAY_STATUS_PARTITION], ['dynamodb:UpdateItem']);
  }

  /** What the console reads of the table: the days' status records, the audit log, the delivery records. */
  grantConsoleQueries(fn: RoleHolder): Grant {
    return allowItems(
      fn,
      this.table,
      [DAY_STATUS_PARTITION, startingWith(PARTITION_PREFIX.audit), startingWith(PARTITION_PREFIX.delivery)],
      ['dynamodb:Query'],
    );
  }

  /** The console's audit log: entries added, never changed. */
  grantAuditWrite(fn: RoleHolder): Grant {
    return allowItems(fn, this.table, [startingWith(PARTITION_PREFIX.audit)], ['dynamodb:PutItem']);
  }

  /** A workbook's versions, listed for the console's downloads of earlier ones. */
  grantReportVersionsList(fn: RoleHolder): Grant {
    return Grant.addToPrincipal({
      grantee: fn,
      actions: ['s3:ListBucketVersions'],
      resourceArns: [this.reportsBucket.bucketArn],
    });
  }

  /** Agent token hashes (read) and per-minute request counters (conditional update), nothing else. */
  grantAgentAuthentication(fn: RoleHolder): Grant {
    return allowItems(fn, this.table, [AGENT_TOKENS_PARTITION], ['dynamodb:GetItem']).combine(
      allowItems(fn, this.table, [startingWith(PARTITION_PREFIX.agent)], ['dynamodb:UpdateItem']),
    );
  }

  private objects(fn: RoleHolder, bucket: IBucket, keyPattern: string, actions: string[], reason: string): Grant {
    const grant = allowObjects(fn, bucket, keyPattern, actions);
    acknowledgeObjectWildcard(fn, bucket, keyPattern, reason);
    return grant;
  }
}

const quarantineReason =
  'An input that cannot be read is kept under quarantine/<date>/<hash of its source>.json, with its bytes under rejects/quarantine/; names follow the input.';
