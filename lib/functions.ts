import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { EmailIdentity } from 'aws-cdk-lib/aws-ses';
import { Construct, type IConstruct } from 'constructs';
import type { Resources } from '../functions/common/clients.ts';
import type { Config } from '../functions/common/config.ts';
import { PARTITION_PREFIX } from '../functions/common/keys.ts';
import { STAGES, type StageKey } from '../functions/stages.ts';
import { CharlieFunction } from './charlie-function.ts';
import { allowList, allowObjects, PREFIX, type Storage } from './storage.ts';

export interface FunctionsProps {
  readonly config: Config;
  readonly storage: Storage;
  readonly sender: EmailIdentity;
}

/** The four pipeline stages, each granted only what its handler calls. */
export class Functions extends Construct {
  readonly collect: CharlieFunction;
  readonly ingest: CharlieFunction;
  readonly workbook: CharlieFunction;
  readonly deliver: CharlieFunction;
  /** The resource names every function is given. */
  readonly resources: Resources;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { config, storage, sender } = props;
    const { dataBucket, reportsBucket, table } = storage;
    this.resources = {
      dataBucket: dataBucket.bucketName,
      reportsBucket: reportsBucket.bucketName,
      table: table.tableName,
    };
    // Each stage's function as the registry declares it (functions/stages.ts).
    const stage = (key: StageKey) => {
      const facts = STAGES[key];
      return new CharlieFunction(this, facts.constructId, {
        config,
        resources: this.resources,
        stage: key,
        description: facts.description,
        memorySize: facts.memoryMiB,
        timeout: Duration.seconds(facts.timeoutSeconds),
        ...(facts.nodeFlags ? { nodeFlags: facts.nodeFlags } : {}),
        ...(facts.ephemeralStorageMiB ? { ephemeralStorageMiB: facts.ephemeralStorageMiB(config) } : {}),
      });
    };

    this.collect = stage('collect');
    // The operator creates this secret before the first deploy; referenced by name, its value never passes through CDK.
    const graphSecret = Secret.fromSecretNameV2(this, 'GraphSecret', config.mailbox.secretName);
    graphSecret.grantRead(this.collect);
    allowList(this.collect, dataBucket);
    allowObjects(this.collect, dataBucket, `${config.agentInbox.prefix}*`, ['s3:GetObject']);
    // Saved .eml files for backfills: read, never changed.
    allowObjects(this.collect, dataBucket, `${config.mailbox.savedMailPrefix}*`, ['s3:GetObject']);
    allowObjects(this.collect, dataBucket, `${PREFIX.raw}*`, ['s3:GetObject', 's3:PutObject']);
    // Undo marks a raw file excluded; the mark is listed, never read or deleted by a function.
    allowObjects(this.collect, dataBucket, `${PREFIX.excluded}${PREFIX.raw}*`, ['s3:PutObject']);
    // The run's manifest: the day's file lists, which the states only point into.
    allowObjects(this.collect, dataBucket, `${PREFIX.runs}*`, ['s3:PutObject']);
    // A message that cannot be read is kept aside with its reason (and released on request).
    allowObjects(this.collect, dataBucket, `${PREFIX.quarantine}*`, [
      's3:GetObject',
      's3:PutObject',
      's3:DeleteObject',
    ]);
    allowObjects(this.collect, dataBucket, `${PREFIX.rejects}${PREFIX.quarantine}*`, ['s3:PutObject']);
    this.acknowledgeObjectWildcards(this.collect, [
      {
        finding: `Resource::${arnRef(dataBucket)}/${config.agentInbox.prefix}*`,
        reason:
          'Collect reads any file an agent drops under the agent inbox prefix; key names are not known in advance.',
      },
      {
        finding: `Resource::${arnRef(dataBucket)}/${config.mailbox.savedMailPrefix}*`,
        reason: 'Collect reads any saved .eml file an operator puts under the saved-mail prefix for a backfill.',
      },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.raw}*`,
        reason: 'Collect stores each attachment under raw/<date>/<type>/<sha256>.csv; keys are content-addressed.',
      },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.excluded}${PREFIX.raw}*`,
        reason: 'Undo marks a raw file excluded under excluded/<its raw key>; raw keys are content-addressed.',
      },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.runs}*`,
        reason: runsReason,
      },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.quarantine}*`, reason: quarantineReason },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.rejects}${PREFIX.quarantine}*`, reason: quarantineReason },
    ]);

    this.ingest = stage('ingest');
    allowObjects(this.ingest, dataBucket, `${PREFIX.raw}*`, ['s3:GetObject']);
    allowObjects(this.ingest, dataBucket, `${PREFIX.rejects}*`, ['s3:PutObject']);
    // Reads its file's entry in the run's manifest, stores its result beside it.
    allowObjects(this.ingest, dataBucket, `${PREFIX.runs}*`, ['s3:GetObject', 's3:PutObject']);
    // A file whose reading fails is quarantined, and skipped while its record stands. Listing lets
    // a missing record read as 404 rather than 403.
    allowObjects(this.ingest, dataBucket, `${PREFIX.quarantine}*`, ['s3:GetObject', 's3:PutObject']);
    // Row digests (rowDigests.enabled): a snapshot per day and type, read and rewritten under the lease.
    allowObjects(this.ingest, dataBucket, `${PREFIX.digests}*`, ['s3:GetObject', 's3:PutObject']);
    allowList(this.ingest, dataBucket);
    // Rows: batch lookups and batch puts, never the delivery records or agent tokens beside them; a
    // day's partitions are queried to rebuild its row digests.
    allowItems(
      this.ingest,
      table,
      [startingWith(PARTITION_PREFIX.row)],
      ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'],
    );
    // Leases (one writer per day and type): taken with a conditional put.
    allowItems(this.ingest, table, [startingWith(PARTITION_PREFIX.lease)], ['dynamodb:PutItem']);
    // Row digests: the generation of each day and type is read and renewed.
    allowItems(
      this.ingest,
      table,
      [startingWith(PARTITION_PREFIX.digest)],
      ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    );
    // A lease is released, and an undone file's rows are taken out, with conditional deletes.
    allowItems(
      this.ingest,
      table,
      [startingWith(PARTITION_PREFIX.row), startingWith(PARTITION_PREFIX.lease)],
      ['dynamodb:DeleteItem'],
    );
    this.acknowledgeObjectWildcards(this.ingest, [
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.raw}*`,
        reason: 'Ingest reads the raw/ file the state machine hands it; keys are content-addressed per day and type.',
      },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.rejects}*`,
        reason: 'Ingest writes rejected rows and files under rejects/, named after the raw/ key they came from.',
      },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.runs}*`, reason: runsReason },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.quarantine}*`, reason: quarantineReason },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.digests}*`,
        reason: 'Ingest reads and rewrites the row digest snapshot of each business day and export type it writes.',
      },
    ]);

    this.workbook = stage('workbook');
    // The day's rows, a partition (day, type, shard) at a time; never delivery records or agent tokens.
    allowItems(this.workbook, table, [startingWith(PARTITION_PREFIX.row)], ['dynamodb:Query']);
    // The run's manifest and the results its ingests stored, listed under the execution's prefix.
    allowList(this.workbook, dataBucket);
    allowObjects(this.workbook, dataBucket, `${PREFIX.runs}*`, ['s3:GetObject']);
    // The day's quarantine records, listed in the run's output.
    allowObjects(this.workbook, dataBucket, `${PREFIX.quarantine}*`, ['s3:GetObject']);
    // The rejected rows of the run's files, listed in the workbook's Problems tab.
    allowObjects(this.workbook, dataBucket, `${PREFIX.rejects}*`, ['s3:GetObject']);
    // Multipart uploads (lib-storage) also abort on failure.
    allowObjects(this.workbook, reportsBucket, `${PREFIX.reports}*`, ['s3:PutObject', 's3:AbortMultipartUpload']);
    this.acknowledgeObjectWildcards(this.workbook, [
      {
        finding: `Resource::${arnRef(reportsBucket)}/${PREFIX.reports}*`,
        reason: 'Build writes one workbook per business day under reports/<date>/; the date is only known at run time.',
      },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.runs}*`, reason: runsReason },
      { finding: `Resource::${arnRef(dataBucket)}/${PREFIX.quarantine}*`, reason: quarantineReason },
      {
        finding: `Resource::${arnRef(dataBucket)}/${PREFIX.rejects}*`,
        reason:
          'Build reads the rejected rows of the run’s files under rejects/, named after the raw/ keys they came from.',
      },
    ]);

    this.deliver = stage('deliver');
    // Reads the workbook to attach it, and signs the download link (pinned to the object version) with this role.
    allowObjects(this.deliver, reportsBucket, `${PREFIX.reports}*`, ['s3:GetObject', 's3:GetObjectVersion']);
    // Delivery records: the day's slots, read before sending and written after, and its history of messages.
    allowItems(
      this.deliver,
      table,
      [startingWith(PARTITION_PREFIX.delivery)],
      ['dynamodb:GetItem', 'dynamodb:PutItem'],
    );
    // ses:SendEmail and ses:SendRawEmail on the sender identity only.
    sender.grantSendEmail(this.deliver);
    this.acknowledgeObjectWildcards(this.deliver, [
      {
        finding: `Resource::${arnRef(reportsBucket)}/${PREFIX.reports}*`,
        reason: 'Deliver reads and links the workbook of the run’s business day under reports/<date>/.',
      },
    ]);
  }

  get all(): CharlieFunction[] {
    return [this.collect, this.ingest, this.workbook, this.deliver];
  }

  /** The function of a stage of the registry. */
  of(key: StageKey): CharlieFunction {
    return { collect: this.collect, ingest: this.ingest, workbook: this.workbook, deliver: this.deliver }[key];
  }

  private acknowledgeObjectWildcards(fn: CharlieFunction, findings: { finding: string; reason: string }[]): void {
    for (const { finding, reason } of findings) {
      Validations.of(fn.role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
  }
}

const quarantineReason =
  'An input that cannot be read is kept under quarantine/<date>/<hash of its source>.json, with its bytes under rejects/quarantine/; names follow the input.';

const runsReason =
  'An execution keeps its manifest and per-file results under runs/<date>/<execution name>/; names are only known at run time.';

/**
 * Item actions on the table, only on items whose partition key matches one of the patterns
 * (`dynamodb:LeadingKeys`, `StringLike`: a partition key, or `startingWith` a prefix; every key
 * of a batch request must match).
 */
export function allowItems(grantee: IGrantable, table: ITable, partitions: string[], actions: string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions,
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions } },
    }),
  );
}

/** The `dynamodb:LeadingKeys` pattern of every partition key beginning with `prefix`. */
export function startingWith(prefix: string): string {
  return `${prefix}*`;
}

/** How cdk-nag renders a `Fn::GetAtt [..., Arn]` of the construct's resource in a finding. */
export function arnRef(construct: IConstruct): string {
  return `<${Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement)}.Arn>`;
}
