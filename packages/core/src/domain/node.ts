import type { Actor, Role } from './identity';
import type { TrainingBackend } from './job';

export interface NodeCapabilities {
  cores: number;
  memoryMiB: number;
  backends: TrainingBackend[];
  /** Jobs this node accepts. */
  accepts?: { orgs?: string[]; maxDataBytes?: number; maxModelParameters?: number };
}

export interface NodeRecord {
  node: Actor;
  role: Extract<Role, 'executor' | 'validator'>;
  capabilities: NodeCapabilities;
  registeredAt: string;
  completed: number;
  failed: number;
  rejected: number;
}
