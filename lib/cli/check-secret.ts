import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseCredentials, TwilioCredentials } from '../../lambda/shared/credentials';
import { Check, fail, pass } from './check';
import { explainAwsError } from './errors';

const putSecret = (arn: string) =>
  `aws secretsmanager put-secret-value --secret-id ${arn} --secret-string '{"accountSid":"AC…","authToken":"…"}' ` +
  '(the account SID and auth token from the Twilio Console, Account → API keys & tokens; add "apiKeySid","apiKeySecret" to make REST calls with an API key)';

/** The secret holds usable credentials: not the placeholder, every field well-formed (the handlers' own parser). */
export async function checkSecret(secrets: SecretsManagerClient, secretArn: string): Promise<{ check: Check; credentials?: TwilioCredentials }> {
  let text: string | undefined;
  try {
    ({ SecretString: text } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn })));
  } catch (err) {
    throw explainAwsError(err, `reading the credentials secret ${secretArn}`, 'secretsmanager:GetSecretValue (and kms:Decrypt on its key)');
  }
  try {
    const credentials = parseCredentials(text);
    const rest = credentials.apiKeySid ? `REST calls with API key ${credentials.apiKeySid}` : 'REST calls with the auth token';
    return { check: pass('secret', `filled in: account ${credentials.accountSid}, ${rest}`), credentials };
  } catch (err) {
    const reason = (err as Error).message.replace(/^the Twilio credentials secret /, '');
    return { check: fail('secret', `the secret ${reason.split(':')[0]}`, putSecret(secretArn)) };
  }
}
