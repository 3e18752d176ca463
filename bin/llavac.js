#!/usr/bin/env node
// The installed command: the bundled CLI (built by `npm install` through the `prepare` script).
import "../dist/llavac.js";
