/**
 * Turns aws-cdk-lib's built-in CloudFormation validation back on for this test
 * file (test/support/jest-setup.js turns it off for the others): its synths write
 * `validation-report.json` into the cloud assembly again. Jest gives each test
 * file its own `process.env`, so no other file is affected.
 */
export function useCloudFormationValidation(): void {
  delete process.env.CDK_VALIDATION;
}
