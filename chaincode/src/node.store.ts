import type { Context } from 'fabric-contract-api';

import { AccessDeniedError, NotFoundError } from './errors';
import type { Caller } from './identity';
import { KEY } from './keys';
import { parseNode, type Node, type NodeRole } from './models/node.model';
import type { Party } from './models/party.model';
import { key, readAll, readValue, writeValue } from './state';

export function nodeKey(ctx: Context, nodeId: string): string {
  return key(ctx, KEY.node, [nodeId]);
}

export async function findNode(ctx: Context, nodeId: string): Promise<Node | undefined> {
  return readValue(ctx, nodeKey(ctx, nodeId), parseNode);
}

export async function saveNode(ctx: Context, node: Node): Promise<void> {
  await writeValue(ctx, nodeKey(ctx, node.nodeId), node);
}

export async function listNodes(ctx: Context): Promise<Node[]> {
  return (await readAll(ctx, KEY.node, [], parseNode)).map((entry) => entry.value);
}

/** The caller's own node record, which must exist with the given role before it can take part in jobs. */
export async function requireRegisteredNode(
  ctx: Context,
  caller: Caller,
  role: NodeRole,
  right: string,
): Promise<Node> {
  const node = await findNode(ctx, caller.id);
  if (node?.mspId !== caller.mspId || node.role !== role) {
    throw new AccessDeniedError(
      `${right} needs a node registered with role ${role}; register this identity first with RegisterNode`,
    );
  }
  return node;
}

export type NodeCounter = 'completed' | 'failed' | 'rejected';

/** Adds to a node's outcome counts; a node that was never registered is reported, not silently skipped. */
export async function countOutcome(
  ctx: Context,
  party: Party,
  counter: NodeCounter,
  at: string,
  by = 1,
): Promise<void> {
  const node = await findNode(ctx, party.id);
  if (node === undefined) {
    throw new NotFoundError(
      `node ${party.id} of ${party.mspId} is not registered; it must register with RegisterNode`,
    );
  }
  await saveNode(ctx, { ...node, [counter]: node[counter] + by, updatedAt: at });
}
