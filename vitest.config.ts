import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests import @cognito-bff/client by its name and get its TypeScript source (no build needed). The rest is
  // vitest's default: Vite's server conditions without `module` (with it, the AWS SDK resolves to files Node cannot load).
  ssr: { resolve: { conditions: ["@cognito-bff/source", ...defaultServerConditions.filter((c) => c !== "module")] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
    // The SDK's notice that its 2027 releases need Node 22 is for operators, not for every test process.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
