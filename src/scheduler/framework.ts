import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import type { ClusterSnapshot } from './snapshot.js';

/**
 * The scheduling framework: plugin contracts (PreFilter, Filter, PreScore, Score, NormalizeScore) and
 * the runner that calls the enabled plugins of a profile in order. Expected outcomes are values: a
 * filter that rejects a node returns a Status with the reason users see, never throws.
 */

export type StatusCode =
  | 'Success'
  /** The node does not fit now; cluster changes may help. */
  | 'Unschedulable'
  /** The node does not fit, and evicting pods would not help (Kubernetes' preemption hint). */
  | 'UnschedulableAndUnresolvable'
  /** From PreFilter/PreScore: this plugin has nothing to say about this pod; its Filter/Score is skipped. */
  | 'Skip'
  | 'Error';

/** The outcome of a plugin call. Shared constants for the common cases keep the hot path allocation-free. */
export class Status {
  constructor(
    readonly code: StatusCode,
    /** Why a node was rejected, as shown in the FailedScheduling message (one entry per reason). */
    readonly reasons: readonly string[] = [],
  ) {}

  get isSuccess(): boolean {
    return this.code === 'Success';
  }

  get isRejection(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable';
  }

  static unschedulable(...reasons: string[]): Status {
    return new Status('Unschedulable', reasons);
  }

  static unresolvable(...reasons: string[]): Status {
    return new Status('UnschedulableAndUnresolvable', reasons);
  }

  static error(message: string): Status {
    return new Status('Error', [message]);
  }
}

export const SUCCESS = new Status('Success');
export const SKIP = new Status('Skip');

/** Highest score a Score plugin gives a node after normalization. */
export const MAX_NODE_SCORE = 100;

/** Data plugins share within one scheduling cycle (PreFilter computes, Filter reads). */
export class CycleState {
  private readonly data = new Map<string, unknown>();

  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }

  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
}

/**
 * Cluster changes that may make a rejected pod schedulable. A plugin lists the ones that can undo its
 * rejections; the queue moves a pod back only when an event listed by a plugin that rejected it occurs.
 */
export type ClusterEvent =
  | 'NodeAdd'
  | 'NodeAllocatableChange'
  | 'NodeLabelChange'
  | 'NodeTaintChange'
  | 'NodeUnschedulableChange'
  | 'NodeRuntimeHandlersChange'
  | 'AssignedPodAdd'
  | 'AssignedPodUpdate'
  | 'AssignedPodDelete'
  | 'NamespaceChange'
  | 'RuntimeClassChange';

/** What plugins may read: the live cluster snapshot. */
export interface FrameworkHandle {
  readonly snapshot: ClusterSnapshot;
}

export interface Plugin {
  readonly name: string;
  /** Events that may make a pod this plugin rejected schedulable (omitted: any node or pod change). */
  readonly events?: readonly ClusterEvent[];
}

export interface PreFilterPlugin extends Plugin {
  /** Once per cycle. Skip disables this plugin's Filter for the cycle; a rejection rejects every node. */
  preFilter(state: CycleState, pod: PodInfo): Status;
}

export interface FilterPlugin extends Plugin {
  /** Whether `pod` may run on `node`. Called for many nodes per cycle: keep it cheap. */
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
}

export interface PreScorePlugin extends Plugin {
  /** Once per cycle with the feasible nodes (the first `count` entries). Skip disables this plugin's Score. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], count: number): Status;
}

export interface ScorePlugin extends Plugin {
  /** A score for one feasible node; after `normalizeScore` it must lie in 0..MAX_NODE_SCORE. */
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rescales the raw scores of the first `count` nodes in place (NormalizeScore extension point). */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: Float64Array, count: number): void;
}

export type AnyPlugin = Plugin & Partial<PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin>;

/** A rejection with the plugin that made it. */
export interface FilterFailure {
  status: Status;
  plugin: string;
}

/**
 * The enabled plugins of one profile, split by extension point, and the calls of one cycle. A cycle
 * runs PreFilter once, Filter per candidate node, then PreScore and Score over the feasible nodes.
 */
export class Framework {
  readonly preFilters: PreFilterPlugin[] = [];
  readonly filters: FilterPlugin[] = [];
  readonly preScores: PreScorePlugin[] = [];
  readonly scores: Array<{ plugin: ScorePlugin; weight: number }> = [];
  readonly plugins: AnyPlugin[];
  /** Per-cycle skip flags, indexed like `filters` and `scores`. */
  private readonly skipFilter: Uint8Array;
  private readonly skipScore: Uint8Array;
  /** For each PreFilter/PreScore plugin, the index of its own Filter/Score (-1: none). */
  private readonly filterOfPreFilter: number[];
  private readonly scoreOfPreScore: number[];
  private scratch: Float64Array[] = [];
  private totals = new Float64Array(0);

  constructor(plugins: Array<{ plugin: AnyPlugin; weight?: number }>) {
    this.plugins = plugins.map((p) => p.plugin);
    for (const { plugin, weight } of plugins) {
      if (plugin.preFilter) this.preFilters.push(plugin as PreFilterPlugin);
      if (plugin.filter) this.filters.push(plugin as FilterPlugin);
      if (plugin.preScore) this.preScores.push(plugin as PreScorePlugin);
      if (plugin.score) this.scores.push({ plugin: plugin as ScorePlugin, weight: weight ?? 1 });
    }
    this.filterOfPreFilter = this.preFilters.map((p) => this.filters.indexOf(p as AnyPlugin as FilterPlugin));
    this.scoreOfPreScore = this.preScores.map((p) => this.scores.findIndex((x) => x.plugin === (p as AnyPlugin)));
    this.skipFilter = new Uint8Array(this.filters.length);
    this.skipScore = new Uint8Array(this.scores.length);
  }

  /** Runs every PreFilter; returns a rejection with its plugin, or null when the cycle goes on. */
  runPreFilter(state: CycleState, pod: PodInfo): FilterFailure | null {
    this.skipFilter.fill(0);
    for (let k = 0; k < this.preFilters.length; k++) {
      const p = this.preFilters[k]!;
      const s = p.preFilter(state, pod);
      if (s === SUCCESS || s.code === 'Success') continue;
      if (s.code === 'Skip') {
        const i = this.filterOfPreFilter[k]!;
        if (i >= 0) this.skipFilter[i] = 1;
        continue;
      }
      return { status: s, plugin: p.name };
    }
    return null;
  }

  /** Name of the plugin whose Filter rejected the node in the last `runFilter` call. */
  failedPlugin = '';

  /** Runs the Filters for one node; null when the node is feasible, else the rejection (see `failedPlugin`). */
  runFilter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | null {
    const filters = this.filters;
    const skip = this.skipFilter;
    for (let i = 0; i < filters.length; i++) {
      if (skip[i]) continue;
      const p = filters[i]!;
      const s = p.filter(state, pod, node);
      if (s !== SUCCESS && s.code !== 'Success') {
        this.failedPlugin = p.name;
        return s;
      }
    }
    return null;
  }

  /**
   * PreScore, Score, NormalizeScore and weights over the first `count` feasible nodes; returns the
   * weighted totals (valid until the next call).
   */
  runScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], count: number): Float64Array {
    if (this.totals.length < count) {
      this.totals = new Float64Array(Math.max(count, this.totals.length * 2));
      this.scratch = this.scores.map(() => new Float64Array(this.totals.length));
    }
    const totals = this.totals;
    totals.fill(0, 0, count);
    this.skipScore.fill(0);
    for (let k = 0; k < this.preScores.length; k++) {
      const s = this.preScores[k]!.preScore(state, pod, nodes, count);
      if (s.code === 'Skip') {
        const i = this.scoreOfPreScore[k]!;
        if (i >= 0) this.skipScore[i] = 1;
      }
    }
    for (let k = 0; k < this.scores.length; k++) {
      if (this.skipScore[k]) continue;
      const { plugin, weight } = this.scores[k]!;
      const scores = this.scratch[k]!;
      for (let i = 0; i < count; i++) scores[i] = plugin.score(state, pod, nodes[i]!);
      plugin.normalizeScore?.(state, pod, scores, count);
      for (let i = 0; i < count; i++) totals[i]! += scores[i]! * weight;
    }
    return totals;
  }
}

/**
 * Kubernetes' DefaultNormalizeScore: scales scores so the highest becomes MAX_NODE_SCORE (or, with
 * `reverse`, so the highest becomes 0 and zeros become MAX_NODE_SCORE).
 */
export function normalizeToMax(scores: Float64Array, count: number, reverse: boolean): void {
  let max = 0;
  for (let i = 0; i < count; i++) if (scores[i]! > max) max = scores[i]!;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE, 0, count);
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = (scores[i]! * MAX_NODE_SCORE) / max;
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}
