/**
 * `GET /openapi.yaml` (the contract) and `GET /docs` (Swagger UI rendering it).
 * The UI's assets come from the `swagger-ui-dist` package, served from this
 * process: no CDN at run time, and a Content-Security-Policy that lets the page
 * load its own scripts and nothing from anywhere else.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import express, { type Express, type RequestHandler } from "express";

/** openapi.yaml sits at the package root, two levels above both `src/routes/` and `dist/routes/`. */
export const OPENAPI_PATH = new URL("../../openapi.yaml", import.meta.url);

/** Same-origin scripts only; Swagger UI sets inline styles, and its icons are data: URIs. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The UI's files that the page loads; nothing else of the package is served. */
const ASSETS = ["swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"];

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>cognito-bff API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="/docs/index.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI would load a badge from validator.swagger.io.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
`;

function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

/** Mounts `/openapi.yaml` and `/docs` (page, initializer and the UI's assets). */
export function mountDocsRoutes(app: Express): void {
  const spec = readFileSync(OPENAPI_PATH, "utf8");
  const withCsp: RequestHandler = (_req, res, next) => {
    res.setHeader("Content-Security-Policy", DOCS_CSP);
    next();
  };

  app.get("/openapi.yaml", (_req, res) => {
    res.setHeader("Content-Type", "application/yaml; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    res.send(spec);
  });
  app.get("/docs", withCsp, (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.type("html").send(PAGE);
  });
  app.get("/docs/swagger-initializer.js", withCsp, (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.type("js").send(INITIALIZER);
  });
  const files = express.static(swaggerUiDir(), { index: false, maxAge: "1h" });
  const allowed = new Set(ASSETS.map((name) => `/${name}`));
  app.use("/docs", withCsp, (req, res, next) => {
    if (!allowed.has(req.path)) {
      next();
      return;
    }
    files(req, res, next);
  });
}
