// @ts-check
// ESLint for the k6 scripts (`npm run lint:k6`, part of `npm run check`). k6 runs plain
// JavaScript modules in its own runtime, so this config knows nothing of TypeScript; its job is
// to stop the two faults that make a script fail in a real k6 but pass in Node:
//   - a remote import (k6 downloads it at start; offline the run cannot even begin), and
//   - reading the exported `options` back at run time (k6 hands setup/VU/teardown code its
//     consolidated options, where `options.scenarios` is `{}`; use constants or
//     `exec.test.options`).
import eslint from '@eslint/js';

/** k6's built-in modules and the scripts' own relative files are all a k6 script may import. */
const K6_MODULE = /^k6(\/[a-z0-9-]+)*$/;
const RELATIVE = /^\.{1,2}\//;

/** @param {unknown} value */
const describeSource = (value) =>
  typeof value === 'string' && /^([a-z][a-z0-9+.-]*:)?\/\//i.test(value)
    ? 'a remote import: k6 would download it when the run starts, and offline the run cannot begin'
    : 'not a k6 module or a relative file';

/** @type {import('eslint').Rule.RuleModule} */
const onlyLocalImports = {
  meta: {
    type: 'problem',
    docs: { description: 'k6 scripts import only k6 modules and relative files' },
    schema: [],
    messages: { forbidden: "'{{source}}' is {{why}}." },
  },
  create(context) {
    /** @param {import('estree').Node | null | undefined} node */
    const checkSource = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const source = node.value;
      if (K6_MODULE.test(source) || RELATIVE.test(source)) return;
      context.report({
        node,
        messageId: 'forbidden',
        data: { source, why: describeSource(source) },
      });
    };
    return {
      ImportDeclaration: (node) => checkSource(node.source),
      ExportNamedDeclaration: (node) => checkSource(node.source),
      ExportAllDeclaration: (node) => checkSource(node.source),
      ImportExpression: (node) => checkSource(node.source),
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') {
          checkSource(node.arguments[0]);
        }
      },
    };
  },
};

/** @type {import('eslint').Rule.RuleModule} */
const noOptionsReadBack = {
  meta: {
    type: 'problem',
    docs: { description: 'the exported options object is declared, never read' },
    schema: [],
    messages: {
      readBack:
        "Do not read 'options' back: at run time k6 replaces it with the consolidated options " +
        '(options.scenarios is {}). Use the constants it was built from, or exec.test.options.',
    },
  },
  create(context) {
    return {
      'Program:exit'(program) {
        const scope = context.sourceCode.getScope(program);
        const moduleScope = scope.childScopes.find((child) => child.type === 'module') ?? scope;
        const options = moduleScope.set.get('options');
        if (!options) return;
        for (const reference of options.references) {
          // The declaration's own initialisation is the only allowed use.
          if (reference.init) continue;
          context.report({ node: reference.identifier, messageId: 'readBack' });
        }
      },
    };
  },
};

export default [
  {
    files: ['k6/**/*.js'],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: 'module',
      globals: {
        // The k6 runtime's globals (k6 docs, "JavaScript API" > Init context, Environment).
        __ENV: 'readonly',
        __VU: 'readonly',
        __ITER: 'readonly',
        console: 'readonly',
        open: 'readonly',
      },
    },
    plugins: {
      k6: {
        rules: {
          'only-local-imports': onlyLocalImports,
          'no-options-read-back': noOptionsReadBack,
        },
      },
    },
    rules: {
      ...eslint.configs.recommended.rules,
      'k6/only-local-imports': 'error',
      'k6/no-options-read-back': 'error',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
];
