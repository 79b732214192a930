/**
 * Exit codes (documented in `--help`): a CI job tells "the setup is wrong"
 * from "the tool could not look" from "try again later".
 */
export const EXIT = {
  OK: 0,
  /** verify: a check failed (the fix is printed). */
  CHECK_FAILED: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The stack, the construct in it, a resource they name, or the page/incident asked about does not exist. */
  NOT_FOUND: 3,
  /** No AWS credentials or region, or a permission the tool needs is missing. */
  ACCESS: 4,
  /** AWS or Twilio could not be reached or answered an error: nothing was decided; try again. */
  UNAVAILABLE: 5,
} as const;

/** An error the tool explains: what happened, what to do, and the exit code it ends with. */
export class CliError extends Error {
  readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly fix?: string,
  ) {
    super(message);
  }
}

interface AwsLikeError {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly Code?: string;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException', 'SignatureDoesNotMatch']);

const NOT_FOUND = new Set(['ResourceNotFoundException', 'NotFoundException', 'NotFound']);

/**
 * An AWS SDK error as the operator should read it: `doing` says what the tool
 * was doing (`reading the stack template`), `action` the IAM action it needed.
 */
export function explainAwsError(err: unknown, doing: string, action: string): CliError {
  const e = err as AwsLikeError;
  const name = e?.name ?? '';
  const message = e?.message ?? String(err);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(
      `no AWS credentials while ${doing}`,
      EXIT.ACCESS,
      'give the tool credentials as the AWS CLI takes them: AWS_PROFILE=<profile> (after `aws sso login` if it is an SSO profile), or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY',
    );
  }
  if (/Region is missing/i.test(message)) {
    return new CliError(`no AWS region while ${doing}`, EXIT.ACCESS, 'pass --region <region> or set AWS_REGION to the stack\'s region');
  }
  if (ACCESS_DENIED.has(name) || e?.$metadata?.httpStatusCode === 403) {
    return new CliError(`AWS refused ${action} while ${doing}: ${message}`, EXIT.ACCESS, `allow ${action} to the identity the tool runs as (\`cdk-twilio-messaging --help\` lists every permission it needs)`);
  }
  if (NOT_FOUND.has(name)) {
    return new CliError(`not found while ${doing}: ${message}`, EXIT.NOT_FOUND, 'check the name and the region (--region or AWS_REGION): the resource the stack or the flags name does not exist there');
  }
  return new CliError(`AWS failed while ${doing}: ${name ? `${name}: ` : ''}${message}`, EXIT.UNAVAILABLE, 'nothing was decided: run the command again; if it keeps failing, check the AWS service health and the endpoint settings (AWS_ENDPOINT_URL_*)');
}
