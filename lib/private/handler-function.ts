// How every handler function is built: its own log group and role, the runtime,
// the pre-bundled code, and the environment all handlers share. Internal: not
// exported from lib/index.ts. Resources are created in the construct's own scope,
// so their construct IDs (and logical IDs) are those of a flat construct.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, METRICS_NAMESPACE } from '../contract';
import { handlerCode } from '../handler-code';

const RUNTIME = lambda.Runtime.NODEJS_24_X;
const ARCHITECTURE = lambda.Architecture.ARM_64;
const DEFAULT_MEMORY_SIZE = 256;

/** What every handler function of one construct shares: the secret, the table, the alert queue and their settings. */
export interface HandlerContext {
  readonly secret: secretsmanager.ISecret;
  readonly table: dynamodb.ITable;
  /** The alert queue: timers are delayed messages to it. */
  readonly alertQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The environment variables every handler reads. */
  readonly environment: Record<string, string>;
}

export interface HandlerContextInput {
  readonly secret: secretsmanager.ISecret;
  readonly table: dynamodb.ITable;
  readonly alertQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The `service` dimension of the handlers' metrics. */
  readonly serviceName: string;
  /** @default Duration.minutes(5) */
  readonly secretCacheTtl?: Duration;
  /** @default 90 */
  readonly statusRetentionDays?: number;
}

/** The context of every handler, with the environment variables they all read: where the credentials and the table are, and how they report. */
export function handlerContext(input: HandlerContextInput): HandlerContext {
  const { serviceName, secretCacheTtl, statusRetentionDays, ...shared } = input;
  return {
    ...shared,
    environment: {
      [ENV.TWILIO_SECRET_ARN]: input.secret.secretArn,
      [ENV.STATUS_TABLE_NAME]: input.table.tableName,
      [ENV.SECRET_CACHE_TTL_SECONDS]: String((secretCacheTtl ?? Duration.minutes(5)).toSeconds()),
      [ENV.STATUS_RETENTION_DAYS]: String(statusRetentionDays ?? 90),
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    },
  };
}

export interface HandlerFunctionTuning {
  /** @default 256 */
  readonly memorySize?: number;
}

export interface HandlerFunctionOptions extends HandlerFunctionTuning {
  readonly description: string;
  readonly timeout: Duration;
  /** Variables of this function only, beside the shared ones. */
  readonly environment?: Record<string, string>;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * The function `id` running assets/`handlerName`/, with `${id}Logs` and `${id}Role`
 * beside it in `scope`. It is granted only its log writes: each caller adds the
 * grants its handler needs.
 */
export function buildHandlerFunction(scope: Construct, id: string, handlerName: string, context: HandlerContext, options: HandlerFunctionOptions): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: context.logRetention,
    removalPolicy: context.removalPolicy,
  });
  // Our own role instead of AWSLambdaBasicExecutionRole: log writes only to this
  // function's log group, and nothing else the function does not do.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the ${handlerName} function of ${scope.node.path}`,
  });
  logGroup.grantWrite(role);
  if (options.vpc) {
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
  }
  return new lambda.Function(scope, id, {
    description: options.description,
    runtime: RUNTIME,
    architecture: ARCHITECTURE,
    handler: 'index.handler',
    code: handlerCode(handlerName),
    memorySize: options.memorySize ?? DEFAULT_MEMORY_SIZE,
    timeout: options.timeout,
    role,
    logGroup,
    environment: { ...context.environment, ...options.environment },
    vpc: options.vpc,
    vpcSubnets: options.vpcSubnets,
  });
}
