// Where the construct finds its pre-bundled handlers. Internal: not exported.
import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** assets/ beside lib/: the build output that `npm run build` writes and `npm pack` ships. */
export const ASSETS_ROOT = path.join(__dirname, '..', 'assets');

/**
 * The handler bundle assets/<name>/index.js as Lambda code. Consumers get the
 * bundles inside the npm package; in a fresh clone they exist only after a build,
 * and a missing bundle would otherwise surface as an obscure asset error.
 */
export function handlerCode(name: string, root: string = ASSETS_ROOT): lambda.Code {
  const dir = path.join(root, name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `TwilioMessaging: the "${name}" handler bundle is missing (${path.join(dir, 'index.js')}). ` +
        'Run `npm run build` in the cdk-twilio-messaging package to create assets/.',
    );
  }
  return lambda.Code.fromAsset(dir);
}
