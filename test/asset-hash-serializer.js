// Snapshots must not change when an asset's bytes change (a lifecycle script edit, a new dependency):
// 64-hex asset hashes in strings are replaced by a fixed marker.
const HASH = /[0-9a-f]{64}/g;

module.exports = {
  test: (value) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value, config, indentation, depth, refs, printer) =>
    printer(value.replace(HASH, 'ASSET-HASH'), config, indentation, depth, refs),
};
