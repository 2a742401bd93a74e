/**
 * AWS's public on-demand list prices in us-east-1 (USD), as the pricing pages below give them
 * on `pricesAsOf`. Free tiers are left out: the model prices every unit. Update the date with
 * the figures.
 */
export const pricesAsOf = '2026-12-03';

export const awsPrices = {
  lambda: {
    url: 'https://aws.amazon.com/lambda/pricing/',
    perMillionRequests: 0.2,
    /** Arm (Graviton), first 7.5 billion GB-seconds a month; the functions are deployed on arm64. */
    perGbSecondArm: 0.0000133334,
    perGbSecondX86: 0.0000166667,
    /** Ephemeral storage above the 512 MB included. */
    perGbSecondEphemeral: 0.0000000309,
  },
  stepFunctions: {
    url: 'https://aws.amazon.com/step-functions/pricing/',
    /** Standard workflows. */
    perThousandTransitions: 0.025,
  },
  dynamodb: {
    url: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    /** Standard table class, past the first 25 GB. */
    perGbMonth: 0.25,
  },
  s3: {
    url: 'https://aws.amazon.com/s3/pricing/',
    /** S3 Standard, first 50 TB. */
    perGbMonth: 0.023,
    /** PUT, COPY, POST, LIST. */
    perThousandTier1: 0.005,
    /** GET, HEAD and every other request but DELETE, which is free. */
    perThousandTier2: 0.0004,
  },
  ses: {
    url: 'https://aws.amazon.com/ses/pricing/',
    perThousandMessages: 0.1,
    /** Attachments, per GB sent. */
    perGbAttachments: 0.12,
  },
  cloudWatch: {
    url: 'https://aws.amazon.com/cloudwatch/pricing/',
    /** Custom metrics, first 10,000; a metric is billed in a month it is emitted. */
    perMetricMonth: 0.3,
    /** Standard-resolution alarm, per metric it watches. */
    perAlarmMonth: 0.1,
    perDashboardMonth: 3,
    /** Logs: standard class, ingested (Lambda logs, Step Functions' vended logs, EMF). */
    perGbIngested: 0.5,
    perGbStoredMonth: 0.03,
  },
  xRay: {
    url: 'https://aws.amazon.com/xray/pricing/',
    perMillionTracesRecorded: 5,
  },
  secretsManager: {
    url: 'https://aws.amazon.com/secrets-manager/pricing/',
    perSecretMonth: 0.4,
  },
  kms: {
    url: 'https://aws.amazon.com/kms/pricing/',
    /** A customer managed key; rotation adds $1 a month for each of its first two rotations, then nothing. */
    perKeyMonth: 1,
  },
} as const;

/** The price list's pages, for the table's sources. */
export const priceSources = Object.entries(awsPrices).map(([service, prices]) => ({ service, url: prices.url }));
