// `--deny CODE`, `--allow CODE` and `--strict`, shared by check, build and run.
import type { Command } from "commander";

export interface LevelOptions {
  deny?: string[];
  allow?: string[];
  strict?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addLevelOptions(cmd: Command): Command {
  return cmd
    .option("--deny <code>", "raise this warning as an error (repeatable)", collect)
    .option("--allow <code>", "silence this warning (repeatable; errors cannot be allowed)", collect)
    .option("--strict", "deny the data-presence warnings (a missing data folder is an error)");
}

/** The level options of a command's parsed options, in the shape compile() takes. */
export function levelsOf(o: LevelOptions): LevelOptions {
  return { deny: o.deny ?? [], allow: o.allow ?? [], strict: o.strict ?? false };
}
