import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  awsLimits,
  checkLambdaResponse,
  checkStateData,
  jsonBytes,
  StatePayloadMeter,
  s3MetadataBytes,
} from '../../local/aws-limits.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';

describe('sizes as AWS measures them', () => {
  it('counts S3 user metadata by its keys and values in UTF-8', () => {
    expect(s3MetadataBytes({ 'message-id': 'abc', name: 'é' })).toBe(10 + 3 + 4 + 2);
    expect(s3MetadataBytes(undefined)).toBe(0);
  });

  it('measures state data as JSON text in UTF-8', () => {
    expect(jsonBytes({ a: 'é' })).toBe('{"a":"é"}'.length + 1);
    expect(jsonBytes(null)).toBe(4);
  });
});

describe('Step Functions and Lambda limits', () => {
  const over = 'x'.repeat(awsLimits.stateDataBytes);

  it('refuses task data over 256 KB as States.DataLimitExceeded', () => {
    expect(() => checkStateData('Build', 'returned a result', { data: 'x'.repeat(1000) })).not.toThrow();
    expect(() => checkStateData('Build', 'returned a result', over)).toThrow(
      expect.objectContaining({
        name: 'States.DataLimitExceeded',
        message: expect.stringMatching(/^The state\/task 'Build' returned a result with a size exceeding/),
      }),
    );
  });

  it('refuses a Lambda response over 6 MB', () => {
    expect(() => checkLambdaResponse('Collect', 'x'.repeat(awsLimits.lambdaPayloadBytes - 2))).not.toThrow();
    expect(() => checkLambdaResponse('Collect', 'x'.repeat(awsLimits.lambdaPayloadBytes))).toThrow(
      expect.objectContaining({ name: 'Function.ResponseSizeTooLarge' }),
    );
  });

  it("measures every state's and Map iteration's input and output, keeping the largest", () => {
    const meter = new StatePayloadMeter();
    expect(meter.measure({ type: 'StateEntered', state: { name: 'Collect', input: { date: '2026-03-09' } } })).toBe(
      undefined,
    );
    expect(
      meter.measure({
        type: 'MapIterationStarted',
        parentState: { name: 'IngestFiles' },
        index: 3,
        input: 'y'.repeat(500),
      }),
    ).toBe(undefined);
    expect(meter.largest).toEqual({ bytes: 502, state: 'IngestFiles[3]', what: 'input' });
    expect(meter.measure({ type: 'StateRetried' })).toBe(undefined);

    const error = meter.measure({ type: 'StateExited', state: { name: 'Ingest', output: over }, index: 7 });
    expect(error?.name).toBe('States.DataLimitExceeded');
    expect(error?.message).toContain("'Ingest[7]' returned a result");
    expect(meter.largest).toEqual({ bytes: jsonBytes(over), state: 'Ingest[7]', what: 'output' });
    expect(
      meter.measure({ type: 'MapIterationSucceeded', parentState: { name: 'IngestFiles' }, index: 1, output: over })
        ?.message,
    ).toContain("'IngestFiles[1]' returned a result");
  });
});

describe('the local stack refuses what AWS refuses', () => {
  let stack: LocalStack;
  const maxItem = awsLimits.dynamoDbItemBytes;

  beforeAll(async () => {
    stack = await startLocalStack(mkdtempSync(join(tmpdir(), 'charlie-limits-')));
  });
  afterAll(async () => stack?.stop());

  /** An item of exactly `bytes` as DynamoDB counts it, names and values: pk, sk "s", v filling the rest. */
  function item(pk: string, bytes: number) {
    return { pk, sk: 's', v: 'x'.repeat(bytes - (2 + pk.length) - (2 + 1) - 1) };
  }

  it('DynamoDB (dynalite itself): an item of 400 KB is stored; one byte more is a ValidationException, as PutItem, BatchWriteItem or UpdateItem', async () => {
    const { dynamodb } = stack.clients;
    const TableName = stack.resources.table;
    await dynamodb.send(new PutCommand({ TableName, Item: item('a', maxItem) }));
    expect((await dynamodb.send(new GetCommand({ TableName, Key: { pk: 'a', sk: 's' } }))).Item?.v).toHaveLength(
      item('a', maxItem).v.length,
    );

    const tooLarge = { name: 'ValidationException', message: 'Item size has exceeded the maximum allowed size' };
    await expect(dynamodb.send(new PutCommand({ TableName, Item: item('b', maxItem + 1) }))).rejects.toMatchObject(
      tooLarge,
    );
    await expect(
      dynamodb.send(
        new BatchWriteCommand({
          RequestItems: {
            [TableName]: [{ PutRequest: { Item: item('c', 10) } }, { PutRequest: { Item: item('d', maxItem + 1) } }],
          },
        }),
      ),
    ).rejects.toMatchObject(tooLarge);
    await expect(
      dynamodb.send(
        new UpdateCommand({
          TableName,
          Key: { pk: 'e', sk: 's' },
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': 'x'.repeat(maxItem) },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Item size to update has exceeded the maximum allowed size',
    });
    // Nothing of the refused requests was written.
    for (const pk of ['b', 'c', 'd', 'e']) {
      expect((await dynamodb.send(new GetCommand({ TableName, Key: { pk, sk: 's' } }))).Item, pk).toBeUndefined();
    }
  });

  it('S3: 2 KB of user metadata is stored; one byte more is MetadataTooLarge, on put, multipart upload and copy', async () => {
    const { s3 } = stack.clients;
    const Bucket = stack.resources.dataBucket;
    const metadata = (bytes: number) => ({ name: 'x'.repeat(bytes - 4) });
    await s3.send(new PutObjectCommand({ Bucket, Key: 'at-limit', Body: 'a', Metadata: metadata(2048) }));
    expect((await s3.send(new HeadObjectCommand({ Bucket, Key: 'at-limit' }))).Metadata?.name).toHaveLength(2044);

    const tooLarge = { name: 'MetadataTooLarge' };
    await expect(
      s3.send(new PutObjectCommand({ Bucket, Key: 'over', Body: 'a', Metadata: metadata(2049) })),
    ).rejects.toMatchObject(tooLarge);
    await expect(
      s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'over', Metadata: metadata(2049) })),
    ).rejects.toMatchObject(tooLarge);
    await expect(
      s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'over',
          CopySource: `${Bucket}/at-limit`,
          MetadataDirective: 'REPLACE',
          Metadata: metadata(2049),
        }),
      ),
    ).rejects.toMatchObject(tooLarge);
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key: 'over' }))).rejects.toMatchObject({ name: 'NotFound' });
  });
});
