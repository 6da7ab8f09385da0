#!/usr/bin/env bun
// Entry point of the t3-dispatch executable.
import { main } from "./cli/index";

const exit = await main(process.argv.slice(2));
if (exit !== "running") process.exit(exit);
