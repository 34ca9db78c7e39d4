import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "packages/*/dist/", ".stryker-tmp/", "reports/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    // The emulator and the dev launcher are developer tools that talk to a terminal.
    files: ["src/emulator/**", "src/dev.ts", "bench/**"],
    rules: { "no-console": "off" },
  },
  {
    // The browser client ships without dependencies and runs in browsers: no imports from outside it, no Node globals.
    files: ["packages/client/src/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "^(?!\\./)", message: "The client imports only its own modules (./*.js)." }] }],
      "no-restricted-globals": ["error", "process", "Buffer", "require", "module", "__dirname", "__filename", "global"],
    },
  },
);
