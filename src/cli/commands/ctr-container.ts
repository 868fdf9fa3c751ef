import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `nubis ctr run | ps | logs | exec | stop | kill | pause | unpause | rm | inspect | stats` */
export function registerContainerCommands(ctr: Command, ctx: CliContext): void {
  void ctr;
  void ctx;
}
