import { Console } from 'node:console';
import type { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Powertools sets the level back to the one it started with at each warm invocation
 * (refreshSampleRateCalculation, for debug-log sampling, which is not configured here). The
 * level set later is kept instead: a local run is quiet unless asked, in every invocation.
 */
class StageLogger extends Logger {
  override refreshSampleRateCalculation(): void {}
}

/** The one logger. Logs carry ids and counts, never row contents (agent names are PII). */
export const logger = new StageLogger({ serviceName: 'charlie' });

/**
 * Metrics, flushed as CloudWatch embedded metric format (EMF) lines: to stdout in Lambda, where
 * CloudWatch reads them from the function's log; on the local stack to a stream of its own
 * (`writeTo`), so that a local run keeps them apart from its output.
 */
class StageMetrics extends Metrics {
  /**
   * Powertools Metrics 2.35 prints EMF through a private `console` (a Console on process.stdout,
   * Metrics.setConsole) and has no option for another stream, so the Console is replaced. (The
   * cold-start metric, printed by an instance of its own, is only emitted in Lambda, where
   * AWS_LAMBDA_INITIALIZATION_TYPE is set.)
   */
  writeTo(stream: Writable): void {
    Reflect.set(this, 'console', new Console({ stdout: stream, stderr: stream }));
  }
}

// Its warnings (no metric to flush after a stage failed, a dimension set twice) go through the logger.
export const metrics = new StageMetrics({ namespace: 'Charlie', serviceName: 'charlie', logger });
