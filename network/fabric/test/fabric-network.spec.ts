import { StatusCode } from '@hyperledger/fabric-gateway';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseJobSpec, planTrials } from '@decenter/core';
import { createConsortium } from '@decenter/devnet';
import {
  AccessDeniedError,
  FailedPreconditionError,
  JobsClient,
  LedgerConnection,
  NodesClient,
  NotFoundError,
  loadNetworkConfig,
  openLedger,
  subscribeEvents,
  type CreateJobRequest,
  type LedgerEvent,
  type NetworkConfig,
} from '@decenter/ledger';

import { freePortBase, missingBinaries, runScript } from './support/fabric-support';

// The same scenarios as packages/ledger/test/devnet.spec.ts, against a real Fabric 2.5 network that up.sh
// starts from the binaries on the PATH, then a crash and restart, and add-org.sh admitting a fourth org.
// Executor and validator scenarios need role attributes: Fabric CA.
const REQUIRED = [
  'peer',
  'orderer',
  'configtxgen',
  'configtxlator',
  'osnadmin',
  'fabric-ca-server',
  'fabric-ca-client',
];
const missing = missingBinaries(REQUIRED);
const describeWithFabric = missing.length === 0 ? describe : describe.skip;
if (missing.length > 0) {
  console.warn(
    `Skipping the real Fabric network tests: ${missing.join(', ')} not on the PATH. Put the Hyperledger ` +
      'Fabric 2.5 release binaries (bin/, with FABRIC_CFG_PATH at its config/) on the PATH to run them.',
  );
}

jest.setTimeout(180_000);

const capabilities = { cores: 2, memoryMiB: 4096, backends: ['wasm' as const, 'cpu' as const] };

function jobRequest(jobId: string): CreateJobRequest {
  const spec = parseJobSpec({
    name: 'iris-mlp',
    task: 'classification',
    model: { kind: 'template', template: 'mlp', options: { hiddenUnits: [16] } },
    data: { format: 'csv', label: 'species' },
    search: { learningRate: [0.01, 0.05], batchSize: [16], epochs: [2], optimizer: ['adam'], seeds: [1] },
    objective: { metric: 'accuracy' },
    schedule: { trainingDeadline: '2030-12-01T00:00:00Z', validationDeadline: '2030-12-02T00:00:00Z' },
  });
  const now = Date.now();
  return {
    jobId,
    name: 'iris',
    specHash: 'a'.repeat(64),
    objective: { metric: 'accuracy', direction: 'maximize' },
    trials: planTrials(spec),
    validation: { validatorOrgs: ['Org2MSP', 'Org3MSP'], quorum: 2 },
    schedule: {
      trainingDeadline: new Date(now + 3_600_000).toISOString(),
      validationDeadline: new Date(now + 7_200_000).toISOString(),
    },
    data: { manifestHash: 'b'.repeat(64), merkleRoot: 'c'.repeat(64), holdoutHash: 'd'.repeat(64) },
    storageUri: `local://jobs/${jobId}`,
  };
}

/**
 * The gateway plans endorsements from service discovery, which knows the other orgs' peers only once gossip
 * has reached them through the anchor peers, a few seconds after the channel is joined. Until then a submit
 * is refused before anything is ordered, so trying again cannot write twice.
 */
async function untilEndorsable<T>(submit: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await submit();
    } catch (err) {
      const text = err instanceof Error ? `${err.message} ${String(err.cause)}` : String(err);
      if (
        Date.now() > deadline ||
        !/endorsement policy|no combination of peers|no peers available/i.test(text)
      ) {
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithFabric(
  'the ledger clients against a real Fabric network from network/fabric/scripts/up.sh',
  () => {
    // Empty until beforeAll made it: afterAll then has nothing to stop.
    let home = '';
    let env: Record<string, string | undefined> = {};
    let config: NetworkConfig;
    const open: LedgerConnection[] = [];
    const connect = async (identity: string): Promise<LedgerConnection> => {
      const connection = await LedgerConnection.open({ config, identity });
      open.push(connection);
      return connection;
    };

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'fabric-it-'));
      env = { ...process.env, DECENTER_HOME: home, FABRIC_PORT_BASE: String(await freePortBase()) };
      const up = await runScript('up.sh', [], env, 600_000);
      if (up.code !== 0) throw new Error(`up.sh failed (exit ${String(up.code)}):\n${up.stderr}`);
      config = await loadNetworkConfig(join(home, 'fabric', 'network.json'));
    }, 660_000);

    afterAll(async () => {
      for (const connection of open) connection.close();
      if (home !== '') {
        await runScript('down.sh', [], env, 120_000);
        await rm(home, { recursive: true, force: true });
      }
    }, 180_000);

    it('submits and evaluates: a job created by its owner reads back for another org', async () => {
      const owner = new JobsClient(await connect('Org1/user1'));
      const created = await untilEndorsable(() => owner.createJob(jobRequest('job-a')));
      expect(created.transactionId).toMatch(/^[0-9a-f]{64}$/);
      expect(created.result).toMatchObject({ jobId: 'job-a', status: 'OPEN', trialCount: 2 });
      // Connected through the environment, as every component is with DECENTER_NETWORK=fabric.
      const fromEnv = await openLedger({
        env: { DECENTER_NETWORK: 'fabric', DECENTER_HOME: home },
        identity: 'Org2/user1',
      });
      open.push(fromEnv);
      expect(await new JobsClient(fromEnv).getJob('job-a')).toEqual(created.result);
    });

    it('maps chaincode refusals to domain errors, roles coming from the Fabric CA attributes', async () => {
      const stranger = new JobsClient(await connect('Org2/user1'));
      await expect(stranger.getJob('no-such-job')).rejects.toBeInstanceOf(NotFoundError);
      await expect(stranger.cancelJob('job-a', 'not mine')).rejects.toBeInstanceOf(AccessDeniedError);
      await expect(
        new NodesClient(await connect('Org1/user2')).registerNode(capabilities),
      ).rejects.toMatchObject({
        code: 'ACCESS_DENIED',
      });
      const registered = await new NodesClient(await connect('Org1/executor1')).registerNode(capabilities);
      expect(registered.result).toMatchObject({ role: 'executor', capabilities });
      await new NodesClient(await connect('Org2/executor1')).registerNode(capabilities);
    });

    it('refuses an identity from outside the consortium and a proposal signed with the wrong key', async () => {
      const outsiders = await mkdtemp(join(tmpdir(), 'fabric-outsiders-'));
      try {
        // Another CA issued this certificate: same org name and MSP ID, an issuer the channel does not know.
        const foreign = (await createConsortium({ home: outsiders })).identities.find(
          (identity) => identity.org === 'Org1' && identity.user === 'user1',
        )!;
        const insider = config.identities.find(
          (identity) => identity.org === 'Org1' && identity.user === 'user1',
        )!;
        const unknown = await LedgerConnection.open({ config, identity: foreign });
        open.push(unknown);
        await expect(new JobsClient(unknown).getJob('job-a')).rejects.toThrow(
          /access denied|creator|identity/i,
        );
        const forged = await LedgerConnection.open({ config, identity: { ...insider, key: foreign.key } });
        open.push(forged);
        await expect(new JobsClient(forged).createJob(jobRequest('job-forged'))).rejects.toThrow(
          /access denied|signature|creator/i,
        );
        await expect(new JobsClient(await connect('Org1/user1')).getJob('job-forged')).rejects.toBeInstanceOf(
          NotFoundError,
        );
      } finally {
        await rm(outsiders, { recursive: true, force: true });
      }
    });

    it('lets exactly one of two concurrent endorsed claims commit; the other is an MVCC_READ_CONFLICT', async () => {
      // Both proposals are endorsed (by 2 of the 3 orgs) against the same state before either is submitted.
      const one = (await connect('Org1/executor1')).contract(undefined, 'JobContract');
      const two = (await connect('Org2/executor1')).contract(undefined, 'JobContract');
      const endorsedOne = await one.newProposal('ClaimTrial', { arguments: ['job-a', 't000'] }).endorse();
      const endorsedTwo = await two.newProposal('ClaimTrial', { arguments: ['job-a', 't000'] }).endorse();
      const statuses = await Promise.all([
        (await endorsedOne.submit()).getStatus(),
        (await endorsedTwo.submit()).getStatus(),
      ]);
      expect(statuses.filter((status) => status.successful)).toHaveLength(1);
      expect(statuses.find((status) => !status.successful)?.code).toBe(StatusCode.MVCC_READ_CONFLICT);
    });

    it('retries a losing claim as a new transaction, which then sees the trial taken', async () => {
      const one = new JobsClient(await connect('Org1/executor1'));
      const two = new JobsClient(await connect('Org2/executor1'));
      const outcomes = await Promise.allSettled([
        one.claimTrial('job-a', 't001'),
        two.claimTrial('job-a', 't001'),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(FailedPreconditionError);
      const trial = (await one.listTrials('job-a')).find((item) => item.trialId === 't001');
      expect(trial).toMatchObject({ status: 'CLAIMED', attempts: 1 });
    });

    it('replays events from a checkpoint: only what was not handled comes again', async () => {
      const checkpointFile = join(home, 'checkpoints', 'events.json');
      const seen: LedgerEvent[] = [];
      const live = subscribeEvents(await connect('Org3/user1'), {
        checkpointFile,
        startBlock: 0n,
        onEvent: (event) => {
          seen.push(event);
        },
      });
      // JobCreated, two NodeRegistered and two TrialClaimed were committed above.
      await waitFor(() => seen.length >= 5);
      await live.close();
      expect(seen.map((event) => event.name)).toEqual([
        'JobCreated',
        'NodeRegistered',
        'NodeRegistered',
        'TrialClaimed',
        'TrialClaimed',
      ]);

      const jobB = await new JobsClient(await connect('Org1/user1')).createJob(jobRequest('job-b'));
      const replayed: LedgerEvent[] = [];
      const resumed = subscribeEvents(await connect('Org3/user1'), {
        checkpointFile,
        startBlock: 0n,
        onEvent: (event) => {
          replayed.push(event);
        },
      });
      await waitFor(() => replayed.length >= 1);
      await resumed.close();
      // startBlock is ignored once a checkpoint exists.
      expect(replayed).toHaveLength(1);
      expect(replayed[0]).toMatchObject({ name: 'JobCreated', transactionId: jobB.transactionId });
    });

    it('keeps the ledger across a crash and a restart: the restarted network serves and extends it', async () => {
      for (const connection of open.splice(0)) connection.close();
      // A crash first: SIGKILL to the gateway peer and the orderer (processes up.sh started for this test).
      for (const name of ['peer0-org1', 'orderer0']) {
        const pid = Number((await readFile(join(home, 'fabric', 'pids', `${name}.pid`), 'utf8')).trim());
        process.kill(pid, 'SIGKILL');
        await waitFor(() => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        }, 10_000);
      }
      const down = await runScript('down.sh', [], env, 120_000);
      expect(down.code).toBe(0);
      const up = await runScript('up.sh', [], env, 600_000);
      if (up.code !== 0) throw new Error(`up.sh (restart) failed (exit ${String(up.code)}):\n${up.stderr}`);
      // Nothing was generated or deployed again: the same genesis, channel and chaincode definition.
      expect(up.stderr).toMatch(/already committed on decenter \(sequence 1\)/);
      // The CAs came back too, for later enrollments: Org1's answers on its port.
      const base = Number(env['FABRIC_PORT_BASE']);
      const caInfo = (await (await fetch(`http://127.0.0.1:${String(base + 154)}/cainfo`)).json()) as {
        success: boolean;
        result: { CAName: string };
      };
      expect(caInfo).toMatchObject({ success: true, result: { CAName: 'ca-org1' } });
      const owner = new JobsClient(await connect('Org1/user1'));
      expect(await untilEndorsable(() => owner.getJob('job-b'))).toMatchObject({
        jobId: 'job-b',
        status: 'OPEN',
      });
      const created = await untilEndorsable(() => owner.createJob(jobRequest('job-c')));
      expect(created.result).toMatchObject({ jobId: 'job-c', status: 'OPEN' });

      // The checkpoint written before the crash resumes on the restarted peer: only job-c's event is new.
      const resumed: LedgerEvent[] = [];
      const subscription = subscribeEvents(await connect('Org3/user1'), {
        checkpointFile: join(home, 'checkpoints', 'events.json'),
        startBlock: 0n,
        onEvent: (event) => {
          resumed.push(event);
        },
      });
      await waitFor(() => resumed.length >= 1);
      await subscription.close();
      expect(resumed).toHaveLength(1);
      expect(resumed[0]).toMatchObject({ name: 'JobCreated', transactionId: created.transactionId });
    }, 660_000);

    it('admits a fourth org with add-org.sh: its users transact under the grown majority policy', async () => {
      const added = await runScript('add-org.sh', ['Org4'], env, 600_000);
      if (added.code !== 0)
        throw new Error(`add-org.sh failed (exit ${String(added.code)}):\n${added.stderr}`);
      expect(added.stderr).toContain('committed decenter sequence 2 on decenter');
      expect(added.stderr).toContain("OutOf(3,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer','Org4MSP.peer')");
      config = await loadNetworkConfig(join(home, 'fabric', 'network.json'));
      expect(
        config.identities
          .filter((identity) => identity.org === 'Org4')
          .map((identity) => `${identity.user}:${identity.role}`),
      ).toEqual([
        'admin:admin',
        'user1:member',
        'user2:member',
        'executor1:executor',
        'validator1:validator',
      ]);

      const newcomer = new JobsClient(await connect('Org4/user1'));
      const created = await untilEndorsable(() => newcomer.createJob(jobRequest('job-d')));
      expect(created.result).toMatchObject({ jobId: 'job-d', status: 'OPEN' });
      const executor = await new NodesClient(await connect('Org4/executor1')).registerNode(capabilities);
      expect(executor.result).toMatchObject({ role: 'executor' });

      // Org4's own peer caught up from the orderer: it serves a job committed before the org existed.
      const org4Peer: NetworkConfig = {
        ...config,
        peer: {
          endpoint: `127.0.0.1:${String(Number(env['FABRIC_PORT_BASE']) + 451)}`,
          tlsRootCert: join(home, 'fabric', 'organizations', 'org4', 'tlsca.pem'),
          hostAlias: 'peer0.org4.decenter.local',
        },
      };
      const viaOwnPeer = await LedgerConnection.open({ config: org4Peer, identity: 'Org4/user2' });
      open.push(viaOwnPeer);
      expect(await new JobsClient(viaOwnPeer).getJob('job-a')).toMatchObject({ jobId: 'job-a' });
    }, 660_000);
  },
);
