// Jest snapshot serializer: asset hashes change with every handler edit, so
// snapshots show a stable marker where a 64-hex-digit asset hash stands.
const HASH = /[0-9a-f]{64}/g;
module.exports = {
  test: (val) => typeof val === 'string' && /[0-9a-f]{64}/.test(val),
  serialize: (val) => JSON.stringify(val.replace(HASH, '[ASSET HASH]')),
};
