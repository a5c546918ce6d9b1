// Tests run the TypeScript sources through SWC (fast, no type-check: `npm run build` type-checks
// first). lowdb 7 and its steno writer are ESM-only, so they are transformed to CommonJS for Jest
// instead of running Jest in experimental-vm-modules mode, whose separate realm breaks tfjs'
// typed-array checks.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(lowdb|steno)/)'],
  // Relative imports name the compiled `.js` file (as Node needs at run time); Jest reads the `.ts` source.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/tests/reporters/summary-line.js'],
};
