import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stageHandler } from '../../functions/common/handler.ts';
import { logger, metrics } from '../../functions/common/observability.ts';
import { TransientError } from '../../functions/common/retry.ts';

/** The parts of a Lambda context the middlewares read. */
function lambdaContext(requestId: string) {
  return {
    functionName: 'charlie-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:charlie-ingest',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/charlie-ingest',
    logStreamName: '2026/12/01/[$LATEST]0123',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const run = {
  date: '2026-03-09',
  executionId: 'arn:aws:states:us-east-1:123456789012:execution:charlie-daily-report:a1',
};

describe('stageHandler', () => {
  let lines: Record<string, unknown>[];

  beforeEach(() => {
    lines = [];
    logger.setLogLevel('INFO');
    // Info lines and metrics go to stdout, warnings and errors to stderr.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk) => {
        for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line));
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    logger.setLogLevel('SILENT');
  });

  it('puts the execution id and business date on every line of an invocation, and only of that one', async () => {
    const handler = stageHandler(async (event: { run?: typeof run; n: number }) => {
      logger.info('first', { n: event.n });
      logger.warn('second');
      metrics.addMetric('Things', 'Count', event.n);
      return event.n;
    });
    expect(await handler({ run, n: 3 }, lambdaContext('r1') as never)).toBe(3);
    await handler({ n: 4 }, lambdaContext('r2') as never);

    const logs = lines.filter((line) => 'message' in line);
    const first = logs.filter((line) => line.function_request_id === 'r1');
    expect(first.map((line) => line.message)).toEqual(['first', 'second']);
    for (const line of first) expect(line).toMatchObject({ executionId: run.executionId, businessDate: run.date });
    // The next invocation, of another run or none, does not inherit them.
    const second = logs.filter((line) => line.function_request_id === 'r2');
    expect(second).toHaveLength(2);
    for (const line of second) expect(line).not.toHaveProperty('executionId');
    // Metrics are flushed after each invocation, as CloudWatch embedded metric format.
    const flushed = lines.filter((line) => '_aws' in line);
    expect(flushed.map((line) => line.Things)).toEqual([3, 4]);
  });

  it('names a throttled or failing AWS call TransientError, so that the state machine retries it', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
      $retryable: { throttling: true },
    });
    const failing = stageHandler(async () => {
      throw throttled;
    });
    const error = await failing({}, lambdaContext('r3') as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).name).toBe('TransientError');
    expect((error as Error).cause).toBe(throttled);

    const broken = stageHandler(async () => {
      throw new Error('date must be a calendar date YYYY-MM-DD, got "2026-02-30"');
    });
    const other = await broken({}, lambdaContext('r4') as never).catch((e: unknown) => e);
    expect(other).not.toBeInstanceOf(TransientError);
    expect((other as Error).message).toContain('2026-02-30');
  });

  it('flushes metrics to the stream it is given instead of stdout, as a local run does', async () => {
    const sink: string[] = [];
    metrics.writeTo(
      new Writable({
        decodeStrings: false,
        write(chunk, _encoding, done) {
          sink.push(String(chunk));
          done();
        },
      }),
    );
    const handler = stageHandler(async (event: { n: number }) => {
      metrics.addMetric('Things', 'Count', event.n);
      return event.n;
    });

    try {
      await handler({ n: 5 }, lambdaContext('r5') as never);
    } finally {
      metrics.writeTo(process.stdout);
    }

    expect(lines.filter((line) => '_aws' in line)).toEqual([]);
    expect(sink.map((line) => JSON.parse(line).Things)).toEqual([5]);
  });
});
