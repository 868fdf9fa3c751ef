import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `nubis ctr image ls | pull | import | export | rm | prune` */
export function registerImageCommands(ctr: Command, ctx: CliContext): void {
  void ctr;
  void ctx;
}
