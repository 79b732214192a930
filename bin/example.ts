// The example app that `npx cdk synth` runs (cdk.json): the construct in an
// environment-agnostic stack, so it synthesizes without AWS credentials.
import { App, AppProps, CfnOutput, Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { TwilioMessaging } from '../lib';

export class ExampleAlertingStack extends Stack {
  public readonly messaging: TwilioMessaging;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Twilio's magic test numbers: replace them with your Twilio number and on-call phones.
    this.messaging = new TwilioMessaging(this, 'Alerts', {
      from: '+15005550006',
      defaultRecipients: ['+15005550001', '+15005550002'],
      // On-call: the primary is paged when an incident opens, the secondary 10 minutes
      // later if nobody has replied ACK, then both again every 15 minutes, twice.
      escalation: {
        stages: [{ recipients: ['+15005550001'] }, { recipients: ['+15005550002'], after: Duration.minutes(10) }],
        repeats: 2,
        repeatAfter: Duration.minutes(15),
      },
      enableDeadLetterQueueAlarm: true,
      enableSendFailureAlarm: true,
    });

    // Any CloudWatch alarm can page through the construct: this one watches an
    // application metric. watch() wires its ALARM (opens an incident and pages) and
    // its OK (resolves it and tells everyone it paged).
    const errors = new cloudwatch.Metric({
      namespace: 'ExampleApp',
      metricName: 'Errors',
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
    });
    const alarm = errors.createAlarm(this, 'ExampleErrorsAlarm', {
      alarmDescription: 'ExampleApp reports errors',
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.messaging.watch(alarm);

    new CfnOutput(this, 'TopicArn', { value: this.messaging.topic.topicArn, description: 'Publish alerts here' });
    new CfnOutput(this, 'SecretArn', {
      value: this.messaging.secret.secretArn,
      description: 'Put the Twilio credentials here (aws secretsmanager put-secret-value)',
    });
    new CfnOutput(this, 'StatusCallbackUrl', { value: this.messaging.statusCallbackUrl, description: 'Twilio posts delivery status here' });
    new CfnOutput(this, 'InboundUrl', {
      value: this.messaging.inboundUrl,
      description: 'Set as the Twilio number\'s "A message comes in" webhook (HTTP POST)',
    });
    new CfnOutput(this, 'InboundTopicArn', { value: this.messaging.inboundTopic.topicArn, description: 'Replies are published here' });
    new CfnOutput(this, 'StatusTableName', { value: this.messaging.table.tableName, description: 'Message status by Twilio message SID' });
    new CfnOutput(this, 'WebhookBacklogDeadLetterQueueUrl', {
      value: this.messaging.webhookBacklogDeadLetterQueue.queueUrl,
      description: 'Verified callbacks and replies that could not be recorded: redrive them from here once DynamoDB and SNS work',
    });
  }
}

/** The example app, with cdk-nag's AwsSolutions checks failing synthesis on any unacknowledged finding. */
export function createExampleApp(props?: AppProps): App {
  const app = new App(props);
  new ExampleAlertingStack(app, 'TwilioMessagingExample', {
    description: 'cdk-twilio-messaging example: SMS alerting through Twilio',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (require.main === module) {
  createExampleApp().synth();
}
