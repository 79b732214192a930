import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { maskNumbersInText } from './mask';
import { flushMetrics, logger } from './observability';
import { emptyResponse } from './webhook-request';

/**
 * The Lambda entry point around a webhook's `handle`: request context in the
 * logs, an unexpected error answered 500 (Twilio retries) with its message
 * masked, and the metrics flushed whatever happened.
 */
export function webhookHandler(handle: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>) {
  return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    logger.addContext(context);
    try {
      return await handle(event);
    } catch (err) {
      logger.error('unexpected failure', { error: (err as Error).name, message: maskNumbersInText(String((err as Error).message)) });
      return emptyResponse(500);
    } finally {
      flushMetrics();
    }
  };
}
