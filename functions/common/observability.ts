import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The one logger. Logs carry ids and counts, never row contents (agent names are PII). */
export const logger = new Logger({ serviceName: 'charlie' });

export const metrics = new Metrics({ namespace: 'Charlie', serviceName: 'charlie' });
