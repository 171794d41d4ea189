import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';

import { EVENT, emit } from './events';
import { NotFoundError } from './errors';
import { getCaller, requireRole } from './identity';
import { parseJsonArgument, toJson } from './json';
import { NODE_ROLES, type Node, type NodeRole } from './models/node.model';
import { findNode, listNodes, saveNode } from './node.store';
import { txTimeIso } from './tx-time';
import { readEnum, readScalarMap, readString, strictObject } from './validate';

/** The registry of execution and validator nodes; their outcome counts are kept by JobContract. */
@Info({ title: 'NodeContract', description: 'DeCenter node registry' })
export class NodeContract extends Contract {
  constructor() {
    super('NodeContract');
  }

  /**
   * Registers the calling identity as a node with the role of its certificate (executor or
   * validator). Registering again updates the capabilities and keeps the counts.
   */
  @Transaction()
  @Returns('string')
  async RegisterNode(ctx: Context, registrationJson: string): Promise<string> {
    const caller = getCaller(ctx);
    requireRole(caller, ['executor', 'validator'], 'registering a node');
    const record = strictObject(parseJsonArgument(registrationJson, 'registrationJson'), 'registration', [
      'capabilities',
    ]);
    const capabilities = readScalarMap(record.capabilities ?? {}, 'registration.capabilities');
    const role = caller.role as NodeRole;
    const now = txTimeIso(ctx);
    const existing = await findNode(ctx, caller.id);
    const node: Node =
      existing === undefined
        ? {
            nodeId: caller.id,
            mspId: caller.mspId,
            role,
            capabilities,
            registeredAt: now,
            updatedAt: now,
            completed: 0,
            failed: 0,
            rejected: 0,
          }
        : { ...existing, mspId: caller.mspId, role, capabilities, updatedAt: now };
    await saveNode(ctx, node);
    await emit(ctx, caller, EVENT.nodeRegistered, {
      nodeId: node.nodeId,
      mspId: node.mspId,
      role,
      capabilities,
      updated: existing !== undefined,
    });
    return toJson(node);
  }

  /** nodeId '' reads the caller's own node. */
  @Transaction(false)
  @Returns('string')
  async GetNode(ctx: Context, nodeId: string): Promise<string> {
    const caller = getCaller(ctx);
    const id = nodeId === '' ? caller.id : readString(nodeId, 'nodeId', { max: 1024 });
    const node = await findNode(ctx, id);
    if (node === undefined) {
      throw new NotFoundError(`node "${id}" is not registered; nodes register themselves with RegisterNode`);
    }
    return toJson(node);
  }

  /** role and mspId ('' for any) filter the list. */
  @Transaction(false)
  @Returns('string')
  async ListNodes(ctx: Context, role: string, mspId: string): Promise<string> {
    getCaller(ctx);
    const roleFilter = role === '' ? undefined : readEnum(role, 'role', NODE_ROLES);
    const mspFilter = mspId === '' ? undefined : readString(mspId, 'mspId', { max: 128 });
    const nodes = (await listNodes(ctx)).filter(
      (node) =>
        (roleFilter === undefined || node.role === roleFilter) &&
        (mspFilter === undefined || node.mspId === mspFilter),
    );
    return toJson(nodes);
  }
}
