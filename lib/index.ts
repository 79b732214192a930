// The public API: the construct and its props. lib/contract.ts is deliberately not
// re-exported: its `as const` objects are shared with the handlers, but they are not
// a jsii-compatible surface.
export * from './twilio-messaging';
export * from './dashboard';
