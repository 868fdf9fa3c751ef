import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32, obj, str, time } from '../../schema.js';
import { column, since, wide } from '../../table.js';
import { fieldErr } from '../../validation.js';
import { objectReferenceSchema, type ObjectReference } from './object-reference.js';

export interface Event extends KubeObject {
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  count?: number;
  type?: 'Normal' | 'Warning';
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  action?: string;
  related?: ObjectReference;
  reportingComponent?: string;
  reportingInstance?: string;
}

function validateEvent(o: KubeObject): FieldError[] {
  const e = o as Event;
  const errors: FieldError[] = [];
  if (!e.involvedObject) return [fieldErr.required('involvedObject')];
  const ns = e.involvedObject.namespace;
  if (ns && e.metadata.namespace && ns !== e.metadata.namespace) {
    errors.push(fieldErr.invalid('involvedObject.namespace', ns, 'does not match event.namespace'));
  }
  if (e.type !== undefined && e.type !== 'Normal' && e.type !== 'Warning') errors.push(fieldErr.notSupported('type', e.type, ['Normal', 'Warning']));
  if ((e.reason?.length ?? 0) > 128) errors.push(fieldErr.tooLong('reason', '', 128));
  if ((e.message?.length ?? 0) > 4096) errors.push(fieldErr.tooLong('message', '', 4096));
  return errors;
}

/** When the event was last seen: series, then lastTimestamp, then eventTime. */
function lastSeen(e: Event): string | undefined {
  return e.series?.lastObservedTime || e.lastTimestamp || e.eventTime || undefined;
}

function objectCell(ref: ObjectReference | undefined): string {
  return ref ? `${(ref.kind ?? '').toLowerCase()}/${ref.name ?? ''}` : '';
}

export function eventType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Event',
    resource: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    subresources: [],
    hasStatus: false,
    nameRule: 'path-segment',
    schema: kindSchema('Event is a report of an event somewhere in the cluster.', {
      involvedObject: objectReferenceSchema,
      reason: str(),
      message: str(),
      source: obj({ component: str(), host: str() }),
      firstTimestamp: time(),
      lastTimestamp: time(),
      count: int32(),
      type: str(),
      eventTime: time(),
      series: obj({ count: int32(), lastObservedTime: time() }),
      action: str(),
      related: objectReferenceSchema,
      reportingComponent: str(),
      reportingInstance: str(),
    }),
    validateSpec: validateEvent,
    table: {
      columns: [
        column('Last Seen', 'Time when last this event was seen.'),
        column('Type', 'Type of this event (Normal, Warning), new types could be added in the future.'),
        column('Reason', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
        column('Object', 'The object that this event is about.'),
        wide('Subobject', 'The subobject that this event is about.'),
        wide('Source', 'The component reporting this event.'),
        column('Message', 'A human-readable description of the status of this operation.'),
        wide('First Seen', 'The time at which the event was first recorded.'),
        wide('Count', 'The number of times this event has occurred.', { type: 'integer' }),
        wide('Name', 'The name of the event.', { format: 'name' }),
      ],
      cells(o, now) {
        const e = o as Event;
        const source = e.source?.component ? [e.source.component, e.source.host].filter(Boolean).join(', ') : e.reportingComponent ?? '';
        const count = e.series?.count ?? e.count ?? 1;
        const first = e.firstTimestamp || e.eventTime || undefined;
        return [
          since(lastSeen(e), now), e.type ?? '', e.reason ?? '', objectCell(e.involvedObject), e.involvedObject?.fieldPath ?? '',
          source, (e.message ?? '').trim(), since(first ?? undefined, now), count, e.metadata.name,
        ];
      },
    },
    fields: {
      'involvedObject.kind': field('involvedObject.kind'),
      'involvedObject.namespace': field('involvedObject.namespace'),
      'involvedObject.name': field('involvedObject.name'),
      'involvedObject.uid': field('involvedObject.uid'),
      'involvedObject.apiVersion': field('involvedObject.apiVersion'),
      'involvedObject.resourceVersion': field('involvedObject.resourceVersion'),
      'involvedObject.fieldPath': field('involvedObject.fieldPath'),
      reason: field('reason'),
      reportingComponent: field('reportingComponent'),
      source: field('source.component'),
      type: field('type'),
    },
  });
}
