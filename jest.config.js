/** Tests run through @swc/jest (no type-checking here; `npm run typecheck` does that once). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean', '<rootDir>/test/quiet-annotations.ts'],
  snapshotSerializers: ['<rootDir>/test/asset-hash-serializer.js'],
};
