// The webhook API Twilio posts to, and the URLs the handlers verify signatures
// against. Internal: not exported from lib/index.ts.
import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The API stage; part of the webhook URLs, so fixed rather than configurable. */
const STAGE_NAME = 'v1';
const STATUS_PATH = 'status';
const INBOUND_PATH = 'inbound';

export interface WebhookApiOptions {
  readonly restApiName: string;
  /** Access logs to `ApiAccessLogs`. */
  readonly accessLogging: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /** The public base URL when the API sits behind a custom domain. */
  readonly publicCallbackBaseUrl?: string;
}

export interface WebhookApi {
  readonly api: apigateway.RestApi;
  /** The URL Twilio posts delivery status to. */
  readonly statusCallbackUrl: string;
  /** The URL of the number's "A message comes in" webhook. */
  readonly inboundUrl: string;
}

/** `Api` (regional, stage `v1`, throttled) with its access logs, and the two webhook URLs. */
export function buildWebhookApi(scope: Construct, options: WebhookApiOptions): WebhookApi {
  const stack = Stack.of(scope);
  const accessLogs = options.accessLogging
    ? new logs.LogGroup(scope, 'ApiAccessLogs', { retention: options.logRetention, removalPolicy: options.removalPolicy })
    : undefined;
  const api = new apigateway.RestApi(scope, 'Api', {
    restApiName: options.restApiName,
    description: `Twilio webhooks of ${scope.node.path}`,
    endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
    // Creating the account-wide API Gateway logging role is not a library's business.
    cloudWatchRole: false,
    deployOptions: {
      stageName: STAGE_NAME,
      throttlingRateLimit: options.throttlingRateLimit,
      throttlingBurstLimit: options.throttlingBurstLimit,
      ...(accessLogs
        ? {
            accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
            accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
          }
        : {}),
    },
  });

  // Built from the API id, not api.url: api.url depends on the deployment, which
  // depends on the methods, which depend on the functions whose environment holds
  // this URL: a cycle CloudFormation would reject.
  const baseUrl =
    options.publicCallbackBaseUrl !== undefined
      ? stripTrailingSlash(options.publicCallbackBaseUrl)
      : `https://${api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${STAGE_NAME}`;
  return { api, statusCallbackUrl: `${baseUrl}/${STATUS_PATH}`, inboundUrl: `${baseUrl}/${INBOUND_PATH}` };
}

/** POST /status and POST /inbound, each to its function. */
export function routeWebhooks(api: apigateway.RestApi, handlers: { statusCallback: lambda.IFunction; inbound: lambda.IFunction }): void {
  // Lambda proxy integrations pass the form-encoded body through untouched; the
  // handlers verify X-Twilio-Signature over it.
  api.root.addResource(STATUS_PATH).addMethod('POST', new apigateway.LambdaIntegration(handlers.statusCallback, { allowTestInvoke: false }));
  api.root.addResource(INBOUND_PATH).addMethod('POST', new apigateway.LambdaIntegration(handlers.inbound, { allowTestInvoke: false }));
}

function stripTrailingSlash(url: string): string {
  return Token.isUnresolved(url) ? url : url.replace(/\/+$/, '');
}
