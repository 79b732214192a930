// Imported first (index.ts): the AWS SDK warns about Node 20 when its modules load,
// and that warning would land in every CI log the tool's output is read from.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
