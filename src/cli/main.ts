#!/usr/bin/env node
// vdm's entry point: turns on source maps first, so that acquisition sites and stacks in reports
// name the TypeScript sources, then loads the CLI.

process.setSourceMapsEnabled(true);
await import('./app.js');
