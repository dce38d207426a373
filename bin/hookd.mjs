#!/usr/bin/env node
// The installed `hookd` command: registers tsx so Node can load hookd's TypeScript sources.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/hookd.ts");
