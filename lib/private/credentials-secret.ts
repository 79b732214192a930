// The Twilio credentials secret the construct creates when none is given.
// Internal: not exported from lib/index.ts.
import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_SECRET } from '../contract';

/** `Secret`, holding a placeholder the operator replaces with the credentials after deploy. */
export function buildCredentialsSecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.ISecret {
  return new secretsmanager.Secret(scope, 'Secret', {
    description: `Twilio credentials of ${scope.node.path}: {"accountSid","authToken"} and optionally {"apiKeySid","apiKeySecret"}`,
    // A placeholder the handlers recognise, not a credential: the operator fills in the value after deploy.
    secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_SECRET)),
    removalPolicy,
  });
}
