// Dependency rules checked by `npm run lint` (depcruise): no circles anywhere, packages reached by
// name and exports only, and a service's router/ on top (nothing below imports it).
/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports: modules that need each other cannot be read (or tested) one at a time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-relative-path-into-another-package',
      severity: 'error',
      comment: 'A package reaches another (and scripts/, tests/) by package name and its exports only.',
      from: { path: '^(services|shared)/([^/]+)/' },
      to: { path: '^(services|shared|scripts|tests)/', pathNot: '^$1/$2/', dependencyTypes: ['local'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve: a typo, or a deep path a package does not export.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'router-on-top',
      severity: 'error',
      comment: "A service's tRPC surface (router/) sits on top: domain rules and stores never import it.",
      from: { path: '^services/[^/]+/src/(domain|store|events|adapters)/' },
      to: { path: '^services/[^/]+/src/router/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|generated|\\.data|\\.turbo)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@platform/source', 'import', 'types', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
