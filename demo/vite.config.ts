/**
 * Vite settings of the demo SPA. `npm run dev` (src/dev.ts) and the e2e test
 * add `define` (the BFF and sample API URLs) and the server or build options.
 *
 * The demo imports `@cognito-bff/client` by its name, through the workspace
 * link in node_modules. The dev server takes the package's TypeScript source
 * (its `@cognito-bff/source` export condition), so `npm run dev` needs no build
 * and shows edits to the client at once; a build (the e2e test) takes the
 * package's built `dist/`, as an SPA that installed the package does.
 */
import { fileURLToPath } from "node:url";
import { defaultClientConditions, defineConfig } from "vite";

export default defineConfig(({ command }) => ({
  root: fileURLToPath(new URL(".", import.meta.url)),
  appType: "spa",
  clearScreen: false,
  logLevel: "warn",
  resolve: { conditions: command === "serve" ? ["@cognito-bff/source", ...defaultClientConditions] : [...defaultClientConditions] },
  server: { fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
  build: { emptyOutDir: true, sourcemap: true },
}));
