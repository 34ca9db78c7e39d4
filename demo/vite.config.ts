/**
 * Vite settings of the demo SPA. `npm run dev` (src/dev.ts) and the e2e test
 * add `define` (the BFF and sample API URLs) and the server or build options.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  appType: "spa",
  clearScreen: false,
  logLevel: "warn",
  server: { fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] } },
  build: { emptyOutDir: true, sourcemap: true },
});
