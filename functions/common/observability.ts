import { Console } from 'node:console';
import type { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The one logger. Logs carry ids and counts, never row contents (agent names are PII). */
export const logger = new Logger({ serviceName: 'charlie' });

/**
 * Metrics, flushed as CloudWatch embedded metric format (EMF) lines: to stdout in Lambda, where
 * CloudWatch reads them from the function's log; on the local stack to a stream of its own
 * (`writeTo`), so that a local run keeps them apart from its output.
 */
class StageMetrics extends Metrics {
  #console: Console | undefined;

  /**
   * Powertools Metrics 2.35 prints EMF through a private `console` (a Console on process.stdout,
   * Metrics.setConsole) and has no option for another stream, so the Console is replaced;
   * the cold-start metric is printed by an instance of its own (singleMetric), redirected below.
   */
  writeTo(stream: Writable): void {
    this.#console = new Console({ stdout: stream, stderr: stream });
    Reflect.set(this, 'console', this.#console);
  }

  override singleMetric(): Metrics {
    const single = super.singleMetric();
    if (this.#console) Reflect.set(single, 'console', this.#console);
    return single;
  }
}

// Its warnings (no metric to flush after a stage failed, a dimension set twice) go through the logger.
export const metrics = new StageMetrics({ namespace: 'Charlie', serviceName: 'charlie', logger });
