// The AWS SDK warns once per process that it will need Node 22 from 2027;
// this machine runs Node 20 (the Lambdas run on Node 24). Silence it in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// aws-cdk-lib validates every synthesized template against CloudFormation's rules
// (a WebAssembly engine: ~6 s of CPU to start in each test file, more per synth)
// and, for a construct library, only prints what it finds. The tests that read its
// report (test/construct/example-app.test.ts) turn it back on with
// `useCloudFormationValidation()` from test/support/cdk-validation.ts.
process.env.CDK_VALIDATION = 'false';
