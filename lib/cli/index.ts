/**
 * The `cdk-twilio-messaging` command, bundled into assets/cli/index.js
 * (scripts/bundle.mjs), the package.json `bin`.
 */
import './quiet-sdk';
import { main } from './main';

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cdk-twilio-messaging: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 5;
  },
);
