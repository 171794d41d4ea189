import {
  readEnum,
  readInteger,
  readIsoDate,
  readScalarMap,
  readString,
  strictObject,
  type ScalarValue,
} from '../validate';

export const NODE_ROLES = ['executor', 'validator'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** A registered execution or validator node; its counts are kept by the ledger from trial outcomes. */
export interface Node {
  nodeId: string;
  mspId: string;
  role: NodeRole;
  capabilities: Record<string, ScalarValue>;
  registeredAt: string;
  updatedAt: string;
  /** Executors: candidates committed. Validators: score submissions. */
  completed: number;
  /** Executors: trials reported failed, or whose lease expired and were claimed by another node. */
  failed: number;
  /** Executors: candidates a quorum of validator orgs rejected. */
  rejected: number;
}

export function parseNode(value: unknown): Node {
  const record = strictObject(value, 'node', [
    'nodeId',
    'mspId',
    'role',
    'capabilities',
    'registeredAt',
    'updatedAt',
    'completed',
    'failed',
    'rejected',
  ]);
  const count = (v: unknown, path: string): number => readInteger(v, path, 0, Number.MAX_SAFE_INTEGER);
  return {
    nodeId: readString(record.nodeId, 'node.nodeId', { max: 1024 }),
    mspId: readString(record.mspId, 'node.mspId', { max: 128 }),
    role: readEnum(record.role, 'node.role', NODE_ROLES),
    capabilities: readScalarMap(record.capabilities, 'node.capabilities'),
    registeredAt: readIsoDate(record.registeredAt, 'node.registeredAt'),
    updatedAt: readIsoDate(record.updatedAt, 'node.updatedAt'),
    completed: count(record.completed, 'node.completed'),
    failed: count(record.failed, 'node.failed'),
    rejected: count(record.rejected, 'node.rejected'),
  };
}
