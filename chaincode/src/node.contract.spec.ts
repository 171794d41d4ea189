import { consortium, TestNetwork } from './testing/test-network';
import { contracts, expectRejected, register } from './testing/fixtures';

const { nodes } = contracts;

describe('NodeContract', () => {
  let net: TestNetwork;
  const ids = consortium();

  beforeEach(() => {
    net = new TestNetwork();
  });

  it('RegisterNode registers the caller with the role of its certificate and emits NodeRegistered', async () => {
    const json = await net.submit(ids.exec1, (ctx) =>
      nodes.RegisterNode(ctx, '{"capabilities":{"gpus":1,"backend":"wasm"}}'),
    );
    expect(JSON.parse(json)).toEqual({
      nodeId: ids.exec1.id,
      mspId: 'Org1MSP',
      role: 'executor',
      capabilities: { backend: 'wasm', gpus: 1 },
      registeredAt: net.now,
      updatedAt: net.now,
      completed: 0,
      failed: 0,
      rejected: 0,
    });
    expect(net.lastEvent()).toEqual({
      name: 'NodeRegistered',
      payload: expect.objectContaining({ nodeId: ids.exec1.id, role: 'executor', updated: false }),
    });
  });

  it('RegisterNode again updates capabilities and keeps registration time and counts', async () => {
    await register(net, ids.val2);
    const registeredAt = net.now;
    net.advance(60);
    const json = await net.submit(ids.val2, (ctx) =>
      nodes.RegisterNode(ctx, '{"capabilities":{"replay":true}}'),
    );
    const node = JSON.parse(json);
    expect(node.registeredAt).toBe(registeredAt);
    expect(node.updatedAt).toBe(net.now);
    expect(node.capabilities).toEqual({ replay: true });
    expect(net.lastEvent().payload.updated).toBe(true);
  });

  it('RegisterNode accepts an empty registration object', async () => {
    const node = JSON.parse(await net.submit(ids.exec2, (ctx) => nodes.RegisterNode(ctx, '{}')));
    expect(node.capabilities).toEqual({});
  });

  it('RegisterNode refuses members, admins and unknown roles', async () => {
    await expectRejected(
      net,
      () => net.submit(ids.alice, (ctx) => nodes.RegisterNode(ctx, '{}')),
      /^ACCESS_DENIED: registering a node needs role executor or validator/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.plain, (ctx) => nodes.RegisterNode(ctx, '{}')),
      /has role member/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.stranger, (ctx) => nodes.RegisterNode(ctx, '{}')),
      /^ACCESS_DENIED: your identity carries role "auditor"/,
    );
  });

  it('RegisterNode refuses malformed registrations', async () => {
    await expectRejected(
      net,
      () => net.submit(ids.exec1, (ctx) => nodes.RegisterNode(ctx, 'not json')),
      /^INVALID_ARGUMENT: registrationJson is not valid JSON/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.exec1, (ctx) => nodes.RegisterNode(ctx, '{"gpu":1}')),
      /registration.gpu is not a known field/,
    );
    await expectRejected(
      net,
      () => net.submit(ids.exec1, (ctx) => nodes.RegisterNode(ctx, '{"capabilities":{"gpus":[1]}}')),
      /registration.capabilities.gpus must be a number/,
    );
  });

  it('GetNode reads a node by id, or the caller with an empty id', async () => {
    await register(net, ids.exec1);
    const byId = JSON.parse(await net.evaluate(ids.alice, (ctx) => nodes.GetNode(ctx, ids.exec1.id)));
    const own = JSON.parse(await net.evaluate(ids.exec1, (ctx) => nodes.GetNode(ctx, '')));
    expect(byId.nodeId).toBe(ids.exec1.id);
    expect(own).toEqual(byId);
    await expect(net.evaluate(ids.alice, (ctx) => nodes.GetNode(ctx, ''))).rejects.toThrow(
      /^NOT_FOUND: node "x509::.*alice.*" is not registered/,
    );
  });

  it('ListNodes filters by role and organization', async () => {
    await register(net, ids.exec1, ids.exec2, ids.val1, ids.val2);
    const list = async (role: string, msp: string): Promise<string[]> =>
      (
        JSON.parse(await net.evaluate(ids.alice, (ctx) => nodes.ListNodes(ctx, role, msp))) as {
          nodeId: string;
        }[]
      )
        .map((n) => n.nodeId)
        .sort();
    expect(await list('', '')).toEqual([ids.exec1.id, ids.exec2.id, ids.val1.id, ids.val2.id].sort());
    expect(await list('validator', '')).toEqual([ids.val1.id, ids.val2.id].sort());
    expect(await list('', 'Org2MSP')).toEqual([ids.exec2.id, ids.val2.id].sort());
    expect(await list('executor', 'Org1MSP')).toEqual([ids.exec1.id]);
    await expect(net.evaluate(ids.alice, (ctx) => nodes.ListNodes(ctx, 'miner', ''))).rejects.toThrow(
      /^INVALID_ARGUMENT: role must be one of executor, validator/,
    );
  });
});
