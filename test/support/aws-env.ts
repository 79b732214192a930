/**
 * Points the AWS SDK's default configuration at local fakes through the
 * standard AWS_ENDPOINT_URL_* variables, with dummy credentials and region.
 * Call before importing a handler: handlers create their clients at module scope.
 */
export function useLocalAws(endpoints: { dynamodb?: string; secretsManager?: string; sns?: string }): void {
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIDLOCALTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'local-test-secret';
  delete process.env.AWS_PROFILE;
  process.env.AWS_MAX_ATTEMPTS = process.env.AWS_MAX_ATTEMPTS ?? '3';
  if (endpoints.dynamodb) process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  if (endpoints.secretsManager) process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoints.secretsManager;
  if (endpoints.sns) process.env.AWS_ENDPOINT_URL_SNS = endpoints.sns;
  // Powertools Metrics: flush EMF to stdout quietly is fine; the namespace must be set.
  process.env.POWERTOOLS_METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'TwilioMessaging';
  process.env.POWERTOOLS_SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'test';
}
