import { Duration } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { EmailIdentity } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { Resources } from '../functions/common/clients.ts';
import type { Config } from '../functions/common/config.ts';
import { STAGES, type StageKey } from '../functions/stages.ts';
import { CharlieFunction } from './charlie-function.ts';
import type { Storage } from './storage.ts';

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
    storage.grantDataList(this.collect);
    storage.grantAgentInboxRead(this.collect);
    storage.grantSavedMailRead(this.collect);
    storage.grantRawWrite(this.collect);
    storage.grantExclusionMarks(this.collect);
    // The run's manifest: the day's file lists, which the states only point into.
    storage.grantRunRecords(this.collect, 'write');
    // A message that cannot be read is kept aside with its reason (and released on request).
    storage.grantQuarantineRecords(this.collect, ['read', 'write', 'delete']);
    storage.grantQuarantineCopies(this.collect);

    this.ingest = stage('ingest');
    storage.grantRawRead(this.ingest);
    storage.grantRejectsWrite(this.ingest);
    // Reads its file's entry in the run's manifest, stores its result beside it.
    storage.grantRunRecords(this.ingest, 'readWrite');
    // A file whose reading fails is quarantined, and skipped while its record stands. Listing lets
    // a missing record read as 404 rather than 403.
    storage.grantQuarantineRecords(this.ingest, ['read', 'write']);
    storage.grantDataList(this.ingest);
    storage.grantRowWrite(this.ingest);
    storage.grantLeaseTake(this.ingest);
    storage.grantRowAndLeaseDeletes(this.ingest);
    // Row digests (rowDigests.enabled): a snapshot per day and type, and its generation, under the lease.
    storage.grantRowDigests(this.ingest);

    this.workbook = stage('workbook');
    storage.grantRowQuery(this.workbook);
    // The run's manifest and the results its ingests stored, listed under the execution's prefix.
    storage.grantDataList(this.workbook);
    // …and writes the day view beside them, for the console.
    storage.grantRunRecords(this.workbook, 'readWrite');
    storage.grantDayStatusUpdate(this.workbook);
    // The day's quarantine records, listed in the run's output.
    storage.grantQuarantineRecords(this.workbook, ['read']);
    // The rejected rows of the run's files, listed in the workbook's Problems tab.
    storage.grantRejectsRead(this.workbook);
    storage.grantReportWrite(this.workbook);

    this.deliver = stage('deliver');
    // Reads the workbook to attach it, and signs the download link with this role.
    storage.grantReportRead(this.deliver);
    storage.grantDeliveryRecords(this.deliver);
    // The day's status record: delivered, or failed (the failure notice).
    storage.grantDayStatusUpdate(this.deliver);
    // ses:SendEmail and ses:SendRawEmail on the sender identity only.
    sender.grantSendEmail(this.deliver);
    // The Teams webhook's URL, only where Teams is configured; the operator stores it, as the Graph secret.
    if (config.teams) {
      Secret.fromSecretNameV2(this, 'TeamsWebhookSecret', config.teams.webhookSecretName).grantRead(this.deliver);
    }
  }

  get all(): CharlieFunction[] {
    return [this.collect, this.ingest, this.workbook, this.deliver];
  }

  /** The function of a stage of the registry. */
  of(key: StageKey): CharlieFunction {
    return { collect: this.collect, ingest: this.ingest, workbook: this.workbook, deliver: this.deliver }[key];
  }
}
