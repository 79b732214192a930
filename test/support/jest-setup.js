// The AWS SDK warns once per process that it will need Node 22 from 2027;
// this machine runs Node 20 (the Lambdas run on Node 24). Silence it in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
