import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/**
 * The layers of src/ (docs/adr/0019-one-path-on-the-v2-sdk.md): who may import whom. A zone's `from`
 * files may not be imported by its `target` files. Type-only imports count too, except where a layer
 * names another's types on purpose (listed per zone). import-x/no-cycle keeps cycles out.
 */
const layers = [
  // Shared JSON-RPC framing knows nothing of the layers that use it.
  {
    target: "./src/jsonrpc",
    from: [
      "./src/front",
      "./src/downstream",
      "./src/pipeline",
      "./src/catalog",
      "./src/meta",
      "./src/workflows",
    ],
    message: "src/jsonrpc is shared framing: it must not depend on a layer.",
  },
  // Downstream connections know nothing of the fronts, the pipeline or the catalog.
  {
    target: "./src/downstream",
    from: ["./src/front", "./src/pipeline", "./src/catalog", "./src/meta", "./src/workflows"],
    message: "src/downstream must not depend on the fronts, the pipeline or the catalog.",
  },
  // The fronts reach downstreams only through the backend (router, pipeline).
  {
    target: "./src/front",
    from: ["./src/downstream", "./src/pipeline"],
    message: "src/front talks to the aggregator through front/backend.ts only.",
  },
  // The pipeline is above downstream and below the fronts.
  {
    target: "./src/pipeline",
    from: [
      "./src/front/http.ts",
      "./src/front/stdio.ts",
      "./src/front/session.ts",
      "./src/meta",
      "./src/workflows",
    ],
    message: "src/pipeline must not depend on the fronts, meta-tools or workflows.",
  },
  // The catalog is data: no connections, no pipeline.
  {
    target: "./src/catalog",
    from: ["./src/front", "./src/pipeline", "./src/meta", "./src/workflows"],
    message: "src/catalog must not depend on the fronts, the pipeline, meta-tools or workflows.",
  },
];

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "coverage/**",
      "bench/.cache/**",
      "bench/node_modules/**",
      "**/*.mjs",
      "**/*.cjs",
      "eslint.config.js",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  { files: ["src/**/*.ts"], rules: { "no-console": "error" } },
  {
    files: ["src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })] },
    rules: {
      "import-x/no-restricted-paths": ["error", { zones: layers }],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },
);
