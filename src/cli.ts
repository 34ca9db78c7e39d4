#!/usr/bin/env node
/**
 * The `cognito-bff` command (package.json `bin`): the service, configured by
 * the environment alone, as `node dist/server.js` runs it.
 */
import { main } from "./server.js";

void main();
