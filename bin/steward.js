#!/usr/bin/env node
// Entry point of the `steward` command: the bundled CLI lives in dist/cli/ (built by
// `npm ci` / `npm run build`, see scripts/bundle-cli.mjs).
import { main } from '../dist/cli/main.mjs'

process.exitCode = await main(process.argv.slice(2))
