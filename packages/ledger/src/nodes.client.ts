import type { NodeCapabilities } from '@decenter/core';
import { z } from 'zod';

import { ChaincodeClient, type ChaincodeClientOptions, type Committed } from './chaincode.client';
import { encodeCapabilities, toNodeRecord, type NodeRecordWithTimes } from './domain.mapper';
import type { LedgerConnection } from './ledger.connection';
import { chaincodeNodeSchema } from './ledger-records.schema';

export const NODE_CONTRACT = 'NodeContract';

/** The registry of execution and validator nodes: the chaincode's NodeContract. */
export class NodesClient extends ChaincodeClient {
  constructor(connection: LedgerConnection, options: ChaincodeClientOptions = {}) {
    super(connection.contract(undefined, NODE_CONTRACT), options);
  }

  /** Registers the signing identity as a node (its role comes from its certificate); again updates it. */
  async registerNode(capabilities: NodeCapabilities): Promise<Committed<NodeRecordWithTimes>> {
    const argument = JSON.stringify({ capabilities: encodeCapabilities(capabilities) });
    const committed = await this.submit('RegisterNode', [argument], chaincodeNodeSchema);
    return { ...committed, result: toNodeRecord(committed.result) };
  }

  /** The node with this X.509 id, or the signing identity's own node when left out. */
  async getNode(nodeId?: string): Promise<NodeRecordWithTimes> {
    return toNodeRecord(await this.evaluate('GetNode', [nodeId ?? ''], chaincodeNodeSchema));
  }

  async listNodes(
    filter: { role?: 'executor' | 'validator'; mspId?: string } = {},
  ): Promise<NodeRecordWithTimes[]> {
    const nodes = await this.evaluate(
      'ListNodes',
      [filter.role ?? '', filter.mspId ?? ''],
      z.array(chaincodeNodeSchema),
    );
    return nodes.map(toNodeRecord);
  }
}
