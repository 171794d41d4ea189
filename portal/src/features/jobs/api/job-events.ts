import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { z } from 'zod';

import { apiUrl } from '../../../lib/api-client';
import { actorSchema } from './job-schemas';

/** Server-sent events of one job: training progress relayed from the nodes, and the job's ledger events. */
export const progressEventSchema = z.object({
  type: z.literal('progress'),
  trialId: z.string(),
  node: actorSchema.optional(),
  /** MSP of the node that trained the epoch: the owner's gateway relays the nodes of every org. */
  nodeMspId: z.string().optional(),
  epoch: z.number().int().min(0),
  metrics: z.record(z.string(), z.number()),
});
/** A chaincode event of the job (the gateway relays `{ name, transactionId, blockNumber, payload }`). */
export const ledgerEventSchema = z.looseObject({
  type: z.literal('ledger'),
  name: z.string().optional(),
  transactionId: z.string().optional(),
  blockNumber: z.union([z.number(), z.string()]).optional(),
});
/** The job as the ledger holds it, sent once when the stream opens. */
export const jobSnapshotEventSchema = z.looseObject({ type: z.literal('job') });
/** Ingest progress (stage, percent) before the job is on the ledger. */
export const ingestEventSchema = z.looseObject({ type: z.literal('ingest') });
export const jobEventSchema = z.discriminatedUnion('type', [
  progressEventSchema,
  ledgerEventSchema,
  jobSnapshotEventSchema,
  ingestEventSchema,
]);
export type ProgressEvent = z.infer<typeof progressEventSchema>;
export type JobEvent = z.infer<typeof jobEventSchema>;

export interface EpochPoint {
  epoch: number;
  metrics: Record<string, number>;
  /** The org (MSP ID) of the node that reported it, when the gateway says. */
  nodeMspId?: string;
}
/** Per trial, its epochs in order (a re-sent epoch replaces the earlier one). */
export type TrainingCurves = Readonly<Record<string, readonly EpochPoint[]>>;

export function addProgress(curves: TrainingCurves, event: ProgressEvent): TrainingCurves {
  const existing = curves[event.trialId] ?? [];
  const others = existing.filter((point) => point.epoch !== event.epoch);
  const nodeMspId = event.nodeMspId ?? event.node?.mspId;
  const point: EpochPoint = {
    epoch: event.epoch,
    metrics: event.metrics,
    ...(nodeMspId === undefined || nodeMspId === '' ? {} : { nodeMspId }),
  };
  const next = [...others, point].sort((a, b) => a.epoch - b.epoch);
  return { ...curves, [event.trialId]: next };
}

/** Parses one SSE data field; undefined for anything that is not a job event the portal knows. */
export function parseJobEvent(data: string, eventName: string): JobEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  // The gateway may name the SSE event instead of putting `type` in the payload; accept both.
  const candidate =
    typeof json === 'object' && json !== null && !('type' in json) && eventName !== 'message'
      ? { ...json, type: eventName }
      : json;
  const parsed = jobEventSchema.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export function useJobEvents(jobId: string, enabled: boolean) {
  const queryClient = useQueryClient();
  const [curves, setCurves] = useState<TrainingCurves>({});
  const [state, setState] = useState<StreamState>('connecting');

  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') {
      setState('closed');
      return undefined;
    }
    setState('connecting');
    const source = new EventSource(apiUrl(`/api/jobs/${encodeURIComponent(jobId)}/events`), {
      withCredentials: true,
    });
    const onData = (message: MessageEvent<string>) => {
      const event = parseJobEvent(message.data, message.type);
      if (event === undefined) return;
      if (event.type === 'progress') setCurves((current) => addProgress(current, event));
      // The snapshot is what was just fetched; any later ledger event changes the job.
      else if (event.type !== 'job')
        void queryClient.invalidateQueries({ queryKey: ['jobs', 'detail', jobId] });
    };
    source.onopen = () => {
      setState('open');
    };
    // EventSource reconnects by itself (with Last-Event-ID); only report the gap.
    source.onerror = () => {
      setState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    };
    source.addEventListener('message', onData);
    source.addEventListener('progress', onData);
    for (const name of ['ledger', 'job', 'ingest']) source.addEventListener(name, onData);
    return () => {
      source.close();
    };
  }, [jobId, enabled, queryClient]);

  return { curves, state };
}
