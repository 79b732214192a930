// cdk-nag AwsSolutions findings this design accepts, each with its reason (also
// listed in the README), acknowledged on the narrowest construct that raises them.
// Internal: not exported from lib/index.ts. Validations is aws-cdk-lib's: the
// library does not depend on cdk-nag.
import { Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

export interface NagSubjects {
  readonly api: apigateway.RestApi;
  readonly accessLogging: boolean;
  readonly sender: lambda.Function;
  readonly statusCallback: lambda.Function;
  readonly inbound: lambda.Function;
  /** The table is under a customer-managed key (an existing table's). */
  readonly tableHasKey: boolean;
  /** The sender runs in a VPC. */
  readonly inVpc: boolean;
  /** The secret the construct created; undefined for an existing one. */
  readonly createdSecret?: secretsmanager.ISecret;
}

export function acknowledgeNagFindings(subjects: NagSubjects): void {
  const { api } = subjects;
  Validations.of(api).acknowledge(
    {
      id: 'AwsSolutions-APIG4',
      reason: 'Twilio cannot present IAM or Cognito credentials; each handler verifies the X-Twilio-Signature HMAC over the exact URL and body, which is the webhook authentication.',
    },
    {
      id: 'AwsSolutions-COG4',
      reason: 'Twilio cannot present Cognito tokens; the X-Twilio-Signature check in the handlers authenticates each request.',
    },
    {
      id: 'AwsSolutions-APIG2',
      reason: 'The bodies are form-encoded Twilio webhooks; the handlers validate them after verifying the signature, which a request validator cannot do.',
    },
    {
      id: 'AwsSolutions-APIG3',
      reason: 'WAF is optional for signed webhooks: unsigned requests are rejected by the handlers, and stage throttling bounds the load. Attach a web ACL to the stage if your organisation requires one.',
    },
    {
      id: 'AwsSolutions-APIG6',
      reason: 'Access logs go to a log group of the construct with retention; execution logs would go to an API Gateway-owned log group without retention and, at INFO level, hold phone numbers. The handlers log every request they process.',
    },
  );
  if (!subjects.accessLogging) {
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG1',
      reason: 'Access logging was turned off (apiAccessLogging: false) because the account has no API Gateway CloudWatch Logs role; the handlers still log every request they process.',
    });
  }
  // sns:Publish to a topic under a customer-managed key needs kms:GenerateDataKey*
  // (GenerateDataKey and GenerateDataKeyWithoutPlaintext), on that one key only.
  Validations.of(subjects.inbound.role!).acknowledge({
    id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
    reason: 'Publishing to the KMS-encrypted inbound topic needs kms:GenerateDataKey* on the topic key; the statement names that key only.',
  });
  if (subjects.tableHasKey) {
    for (const fn of [subjects.sender, subjects.statusCallback, subjects.inbound]) {
      Validations.of(fn.role!).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          reason: 'DynamoDB item access on a table under a customer-managed key needs kms:GenerateDataKey* on that key; the statement names that key only.',
        },
        {
          id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
          reason: 'CDK grants kms:ReEncrypt* with encrypt/decrypt on the existing table key; the statement names that key only.',
        },
      );
    }
  }
  if (subjects.inVpc) {
    Validations.of(subjects.sender.role!).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'A function in a VPC needs to manage its network interfaces; the AWS-managed policy is the documented minimum and ENI actions do not support resource scoping.',
    });
  }
  if (subjects.createdSecret) {
    Validations.of(subjects.createdSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Twilio credentials are rotated in the Twilio console, not by a Secrets Manager rotation function; the handlers re-read the secret after SECRET_CACHE_TTL_SECONDS.',
    });
  }
}
