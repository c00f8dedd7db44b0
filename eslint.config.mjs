// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'packages/*/dist/**',
      // Built inside a temporary app from the packed tarball (packages/lock/test/tarball).
      'packages/lock/test/tarball/app/**',
      'coverage/**',
      'node_modules/**',
      'k6/**',
      '.scratch/**',
      '.demo/**',
      '**/*.config.js',
      // CommonJS that jest loads as is (shared project list, the duration reporter).
      'packages/lock/jest.projects.js',
      'test/support/duration-reporter.js',
      'eslint.config.mjs',
      // The k6 scripts have their own config (plain JavaScript for the k6 runtime).
      'eslint.k6.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // Nest wires classes through decorators; an empty module class is the idiom.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'packages/*/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The /demo page: plain browser JavaScript, served as is (no build step, no type info).
    files: ['src/demo/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'fetch',
          'sessionStorage',
          'requestAnimationFrame',
          'TextDecoderStream',
          'Option',
          'URL',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
