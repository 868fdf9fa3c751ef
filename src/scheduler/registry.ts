import { invalid } from '../lib/errors.js';
import { type AnyPlugin, Framework, type FrameworkHandle } from './framework.js';
import { BALANCED_ALLOCATION, balancedAllocation } from './plugins/balanced-allocation/balanced-allocation.js';
import { INTER_POD_AFFINITY, interPodAffinity } from './plugins/inter-pod-affinity/inter-pod-affinity.js';
import { LEAST_ALLOCATED, leastAllocated } from './plugins/least-allocated/least-allocated.js';
import { NODE_AFFINITY, nodeAffinity } from './plugins/node-affinity/node-affinity.js';
import { NODE_NAME, nodeName } from './plugins/node-name/node-name.js';
import { NODE_RESOURCES_FIT, nodeResourcesFit } from './plugins/node-resources-fit/node-resources-fit.js';
import { NODE_RUNTIME_HANDLER, nodeRuntimeHandler } from './plugins/node-runtime-handler/node-runtime-handler.js';
import { NODE_UNSCHEDULABLE, nodeUnschedulable } from './plugins/node-unschedulable/node-unschedulable.js';
import { SELECTOR_SPREAD, selectorSpread } from './plugins/selector-spread/selector-spread.js';
import { TAINT_TOLERATION, taintToleration } from './plugins/taint-toleration/taint-toleration.js';

/** Makes one plugin instance for a profile. */
export type PluginFactory = (handle: FrameworkHandle) => AnyPlugin;

/** Every built-in plugin by name. Explicit: nothing registers itself on import. */
export function builtinPlugins(): Map<string, PluginFactory> {
  return new Map<string, PluginFactory>([
    [NODE_NAME, nodeName],
    [NODE_UNSCHEDULABLE, nodeUnschedulable],
    [NODE_RUNTIME_HANDLER, nodeRuntimeHandler],
    [TAINT_TOLERATION, taintToleration],
    [NODE_AFFINITY, nodeAffinity],
    [NODE_RESOURCES_FIT, nodeResourcesFit],
    [INTER_POD_AFFINITY, interPodAffinity],
    [LEAST_ALLOCATED, leastAllocated],
    [BALANCED_ALLOCATION, balancedAllocation],
    [SELECTOR_SPREAD, selectorSpread],
  ]);
}

/** A scheduler profile: the enabled plugins in order (cheap filters first) and score weights. */
export interface Profile {
  schedulerName: string;
  plugins: Array<{ name: string; weight?: number }>;
}

/**
 * The default profile, as kube-scheduler's (plus the nodes' runtime handlers): cheap filters that reject
 * whole classes of nodes first, then resources, then pod affinity (the costliest). Weights follow
 * Kubernetes' defaults.
 */
export function defaultProfile(): Profile {
  return {
    schedulerName: 'default-scheduler',
    plugins: [
      { name: NODE_NAME },
      { name: NODE_UNSCHEDULABLE },
      { name: NODE_RUNTIME_HANDLER },
      { name: TAINT_TOLERATION, weight: 3 },
      { name: NODE_AFFINITY, weight: 2 },
      { name: NODE_RESOURCES_FIT },
      { name: INTER_POD_AFFINITY, weight: 2 },
      { name: LEAST_ALLOCATED, weight: 1 },
      { name: BALANCED_ALLOCATION, weight: 1 },
      { name: SELECTOR_SPREAD, weight: 1 },
    ],
  };
}

/** Builds the framework of a profile; an unknown plugin name is an Invalid error. */
export function buildFramework(profile: Profile, handle: FrameworkHandle, registry = builtinPlugins()): Framework {
  return new Framework(
    profile.plugins.map(({ name, weight }) => {
      const factory = registry.get(name);
      if (!factory) throw invalid(`scheduler profile ${profile.schedulerName}: unknown plugin ${name}`);
      return { plugin: factory(handle), weight };
    }),
  );
}
