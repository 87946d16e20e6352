#!/usr/bin/env node
// Standalone entry for the OCSP operator CLI: `node dist/src/cli/ocsp-main.js check --cert ...`
// is `tsnats ocsp check --cert ...`. The exit status is runOcspCommand's (see docs/cli-ocsp.md).

import { runOcspCommand } from './ocsp.js';

process.exitCode = await runOcspCommand(process.argv.slice(2));
