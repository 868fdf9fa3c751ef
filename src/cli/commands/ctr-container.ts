import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerManageCommands } from './container-manage.js';
import { registerObserveCommands } from './container-observe.js';
import { registerRunCommand } from './container-run.js';

/** `nubis ctr run | ps | logs | exec | stop | kill | pause | unpause | rm | inspect | stats` */
export function registerContainerCommands(ctr: Command, ctx: CliContext): void {
  registerRunCommand(ctr, ctx);
  registerManageCommands(ctr, ctx);
  registerObserveCommands(ctr, ctx);
}
