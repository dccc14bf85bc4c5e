#!/usr/bin/env node
/**
 * The `llm-resilience` executable. It always runs the CLI: an "am I the entry module?" test in
 * main.ts would compare paths, and npm starts bins through a `.bin` symlink whose path differs
 * from the module's real one, so such a test silently did nothing when installed.
 */
import { main } from './main.js';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
