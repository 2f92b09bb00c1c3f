'use strict';
// Runs the shared interop suite with the @dfns/* packages installed in this directory.
// Usually started by ../run.sh; alone: `npm ci && node --test --test-reporter=spec interop.test.js`
// (builds signet itself unless SIGNET_BIN is set; see ../suite/harness.js for the environment).
require('../suite/interop')(__dirname);
