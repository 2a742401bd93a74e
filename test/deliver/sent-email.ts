import type { SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import type { LocalStack } from '../../local/stack.ts';

/** Keeps every SendEmail request the stack's SES client makes, in order, in `requests`. */
export function recordSentEmail(stack: LocalStack, requests: SendEmailCommandInput[]): void {
  stack.clients.sesv2.middlewareStack.add(
    (next) => async (args) => {
      requests.push(args.input as SendEmailCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordSendEmail' },
  );
}
