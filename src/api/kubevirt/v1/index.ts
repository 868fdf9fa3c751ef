import type { ResourceType } from '../../resource-type.js';
import { migrationType } from './migration.js';
import { virtualMachineType } from './vm.js';
import { virtualMachineInstanceType } from './vmi.js';

/** The kinds of kubevirt.io/v1, listed explicitly. */
export function kubevirtV1(): ResourceType[] {
  return [virtualMachineType(), virtualMachineInstanceType(), migrationType()];
}
