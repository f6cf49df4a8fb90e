// ESLint flat config for every TypeScript package; Prettier owns formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/lib/**',
      '**/dist/**',
      '.venv/**',
      '.cache/**',
      'jupyterlab_desktops/**',
      'packages/labextension/jupyterlab_desktops/**',
      'ui-tests/test-results/**',
      'ui-tests/playwright-report/**'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser }
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // JupyterLab's house style: CommandIDs and Private helpers live in namespaces.
      '@typescript-eslint/no-namespace': 'off',
      eqeqeq: ['error', 'smart'],
      // JupyterLab's extension template: interfaces are named IThing, callbacks are arrow
      // functions (and, below, every block has braces).
      '@typescript-eslint/naming-convention': [
        'error',
        { selector: 'interface', format: ['PascalCase'], custom: { regex: '^I[A-Z]', match: true } }
      ],
      'prefer-arrow-callback': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='innerHTML']",
          message: 'Use textContent: user-visible strings are never parsed as HTML.'
        }
      ]
    }
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts', 'ui-tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off'
    }
  },
  prettier,
  // After Prettier's config, which turns `curly` off: Prettier leaves braces alone.
  { rules: { curly: ['error', 'all'] } }
);
