/**
 * The classic group protocol, driven directly: member ids (KIP-394), generations, leader
 * election, protocol selection, assignments passed through, session timeouts, and the errors
 * clients react to. Real consumers in several processes are in groups.spec.ts.
 */
import { expect } from 'chai';
import { KafkaError } from '../../lib/kafka/errors.js';
import { GroupCoordinator } from '../../lib/kafka/group-coordinator.js';
import type { GenerationEvent, JoinRequest } from '../../lib/kafka/group.js';
import { testBackend, type TestBackend } from './test-store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function joinRequest(memberId: string, over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId,
    groupInstanceId: null,
    sessionTimeoutMs: 300,
    rebalanceTimeoutMs: 300,
    protocolType: 'consumer',
    protocols: [
      { name: 'range', metadata: Buffer.from(`range:${memberId}`) },
      { name: 'roundrobin', metadata: Buffer.from(`rr:${memberId}`) },
    ],
    clientId: 'c',
    clientHost: '127.0.0.1',
    requireKnownMemberId: false,
    ...over,
  };
}

describe('GroupCoordinator', () => {
  let backend: TestBackend;
  let coordinator: GroupCoordinator;
  let generations: GenerationEvent[];

  beforeEach(() => {
    backend = testBackend();
    backend.createTopic('t', 2, {});
    generations = [];
    coordinator = new GroupCoordinator(backend, {
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 100,
      maxSessionTimeoutMs: 60_000,
      log: () => undefined,
      onGeneration: (e) => generations.push(e),
    });
  });

  afterEach(() => coordinator.close());

  it('hands out a member id with MEMBER_ID_REQUIRED (v4+) and accepts the rejoin with it', async () => {
    const first = await coordinator.join(joinRequest('', { requireKnownMemberId: true }));
    expect(first.errorCode).to.equal(KafkaError.MEMBER_ID_REQUIRED);
    expect(first.memberId).to.match(/^c-/);
    const second = await coordinator.join(joinRequest(first.memberId, { requireKnownMemberId: true }));
    expect(second).to.deep.include({
      errorCode: 0,
      generationId: 1,
      leader: first.memberId,
      memberId: first.memberId,
      protocolName: 'range',
    });
    expect(second.members).to.deep.equal([
      { memberId: first.memberId, groupInstanceId: null, metadata: Buffer.from(`range:${first.memberId}`) },
    ]);
    expect((await coordinator.join(joinRequest('made-up'))).errorCode).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('runs a rebalance: all members rejoin, the leader gets everyone metadata, the leader assignment reaches each member untouched', async () => {
    const a = await coordinator.join(joinRequest(''));
    await coordinator.sync('g', a.generationId, a.memberId, [
      { memberId: a.memberId, assignment: Buffer.from('all') },
    ]);
    // A second member joins: the first learns of it through its heartbeat and rejoins.
    const bJoin = coordinator.join(joinRequest(''));
    expect(coordinator.heartbeat('g', a.generationId, a.memberId)).to.equal(KafkaError.REBALANCE_IN_PROGRESS);
    const aJoin = await coordinator.join(joinRequest(a.memberId));
    const bJoined = await bJoin;
    expect(aJoin.generationId).to.equal(2);
    expect(bJoined.generationId).to.equal(2);
    expect(aJoin.leader).to.equal(a.memberId);
    expect(aJoin.members.map((m) => m.memberId)).to.deep.equal([a.memberId, bJoined.memberId]);
    expect(bJoined.members).to.deep.equal([]);
    const bSync = coordinator.sync('g', 2, bJoined.memberId, []);
    const aSync = await coordinator.sync('g', 2, a.memberId, [
      { memberId: a.memberId, assignment: Buffer.from([1, 2, 3]) },
      { memberId: bJoined.memberId, assignment: Buffer.from([4, 5]) },
    ]);
    expect(aSync).to.deep.include({ errorCode: 0, assignment: Buffer.from([1, 2, 3]) });
    expect((await bSync).assignment).to.deep.equal(Buffer.from([4, 5]));
    expect(coordinator.heartbeat('g', 2, a.memberId)).to.equal(0);
    expect(coordinator.heartbeat('g', 1, a.memberId)).to.equal(KafkaError.ILLEGAL_GENERATION);
    expect(
      generations.map((g) => [g.generationId, [...g.assignments.values()].map((x) => [...x])]),
    ).to.deep.equal([
      [1, [[...Buffer.from('all')]]],
      [
        2,
        [
          [1, 2, 3],
          [4, 5],
        ],
      ],
    ]);
    expect(coordinator.describe('g')).to.deep.include({ state: 'Stable', protocolName: 'range' });
  });

  it('picks the protocol every member supports, by the members votes', async () => {
    const a = await coordinator.join(
      joinRequest('', {
        protocols: [
          { name: 'roundrobin', metadata: Buffer.from('x') },
          { name: 'range', metadata: Buffer.from('y') },
        ],
      }),
    );
    expect(a.protocolName).to.equal('roundrobin');
    const other = await coordinator.join({
      ...joinRequest(''),
      groupId: 'g2',
      protocols: [{ name: 'cooperative-sticky', metadata: Buffer.alloc(0) }],
    });
    expect(other.protocolName).to.equal('cooperative-sticky');
    const clash = await coordinator.join(
      joinRequest('', { protocols: [{ name: 'sticky', metadata: Buffer.alloc(0) }] }),
    );
    expect(clash.errorCode).to.equal(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('evicts a member that stops heartbeating after its session timeout, and the group rebalances without it', async () => {
    const a = await coordinator.join(joinRequest(''));
    const bJoin = coordinator.join(joinRequest(''));
    const aAgain = await coordinator.join(joinRequest(a.memberId));
    const b = await bJoin;
    await Promise.all([
      coordinator.sync('g', aAgain.generationId, a.memberId, []),
      coordinator.sync('g', b.generationId, b.memberId, []),
    ]);
    // Only b heartbeats from now on.
    const beat = setInterval(() => coordinator.heartbeat('g', b.generationId, b.memberId), 50);
    await sleep(450);
    const code = coordinator.heartbeat('g', b.generationId, b.memberId);
    clearInterval(beat);
    expect(code).to.equal(KafkaError.REBALANCE_IN_PROGRESS);
    expect(coordinator.heartbeat('g', aAgain.generationId, a.memberId)).to.equal(
      KafkaError.UNKNOWN_MEMBER_ID,
    );
    const rejoined = await coordinator.join(joinRequest(b.memberId));
    expect(rejoined).to.deep.include({ errorCode: 0, generationId: 3, leader: b.memberId });
    expect(rejoined.members.map((m) => m.memberId)).to.deep.equal([b.memberId]);
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const a = await coordinator.join(joinRequest(''));
    await coordinator.sync('g', 1, a.memberId, []);
    const started = Date.now();
    const b = await coordinator.join(joinRequest('', { rebalanceTimeoutMs: 200 }));
    expect(Date.now() - started).to.be.at.least(150);
    expect(b).to.deep.include({ errorCode: 0, generationId: 2 });
    expect(b.leader).to.equal(b.memberId);
    expect(coordinator.describe('g').members.map((m) => m.memberId)).to.deep.equal([b.memberId]);
  });

  it('commits offsets through the backend, checking member and generation', async () => {
    const a = await coordinator.join(joinRequest(''));
    expect(coordinator.checkCommit('g', a.generationId, a.memberId)).to.equal(KafkaError.NONE);
    expect(coordinator.checkCommit('g', a.generationId + 5, a.memberId)).to.equal(
      KafkaError.ILLEGAL_GENERATION,
    );
    expect(coordinator.checkCommit('g', a.generationId, 'nobody')).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
    expect(coordinator.checkCommit('g', -1, '')).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
    expect(coordinator.checkCommit('solo', -1, '')).to.equal(KafkaError.NONE);
    // A group not known here: a commit with a generation is from an older one (Kafka's answer).
    expect(coordinator.checkCommit('unknown', 4, 'm-1')).to.equal(KafkaError.ILLEGAL_GENERATION);
    expect(coordinator.checkCommit('unknown', -1, 'm-1')).to.equal(KafkaError.NONE);
    coordinator.commit('g', [{ topic: 't', partition: 1, offset: 7, metadata: 'm' }]);
    expect(backend.committedOffsets('g')).to.deep.equal([
      { topic: 't', partition: 1, offset: 7, metadata: 'm' },
    ]);
    expect(coordinator.delete('g')).to.equal(KafkaError.NON_EMPTY_GROUP);
    coordinator.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(coordinator.list()).to.deep.include({ groupId: 'g', protocolType: 'consumer', state: 'Empty' });
    expect(coordinator.delete('g')).to.equal(KafkaError.NONE);
    expect(backend.committedOffsets('g')).to.deep.equal([]);
    expect(coordinator.delete('g')).to.equal(KafkaError.GROUP_ID_NOT_FOUND);
  });

  it('forgets a group that empties with no committed offsets, and keeps one that has some', async () => {
    const a = await coordinator.join(joinRequest(''));
    await coordinator.sync('g', a.generationId, a.memberId, []);
    expect(coordinator.describe('g').state).to.equal('Stable');
    coordinator.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(coordinator.describe('g').state).to.equal('Dead');
    // Made again from nothing: its first generation is 1.
    const b = await coordinator.join(joinRequest(''));
    expect(b).to.deep.include({ errorCode: 0, generationId: 1 });
    coordinator.commit('g', [{ topic: 't', partition: 0, offset: 3, metadata: '' }]);
    coordinator.leave('g', [{ memberId: b.memberId, groupInstanceId: null }]);
    expect(coordinator.describe('g').state).to.equal('Empty');
    // Kept: its generations go on (2 when it emptied, 3 now).
    const c = await coordinator.join(joinRequest(''));
    expect(c).to.deep.include({ errorCode: 0, generationId: 3 });
    expect(coordinator.heartbeat('g', 1, b.memberId)).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('forgets an offsetless group whose last member timed out, whose new member never came back, or that a stale member id made', async () => {
    const a = await coordinator.join(joinRequest('', { groupId: 'timed-out' }));
    await coordinator.sync('timed-out', a.generationId, a.memberId, []);
    const required = await coordinator.join(
      joinRequest('', { groupId: 'never-back', requireKnownMemberId: true }),
    );
    expect(required.errorCode).to.equal(KafkaError.MEMBER_ID_REQUIRED);
    expect(coordinator.describe('timed-out').state).to.equal('Stable');
    expect(coordinator.describe('never-back').state).to.equal('Empty');
    const stale = await coordinator.join(joinRequest('from-before-a-restart', { groupId: 'stale' }));
    expect(stale.errorCode).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
    expect(coordinator.describe('stale').state).to.equal('Dead');
    await sleep(450); // past the 300 ms session timeout of both
    expect(coordinator.describe('timed-out').state).to.equal('Dead');
    expect(coordinator.describe('never-back').state).to.equal('Dead');
    // The evicted member's late commit: from a generation the coordinator no longer knows.
    expect(coordinator.checkCommit('timed-out', a.generationId, a.memberId)).to.equal(
      KafkaError.ILLEGAL_GENERATION,
    );
    const late = await coordinator.join(joinRequest(required.memberId, { groupId: 'never-back' }));
    expect(late.errorCode).to.equal(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('refuses session timeouts outside the allowed range and empty group ids', async () => {
    expect((await coordinator.join(joinRequest('', { sessionTimeoutMs: 10 }))).errorCode).to.equal(
      KafkaError.INVALID_SESSION_TIMEOUT,
    );
    expect((await coordinator.join({ ...joinRequest(''), groupId: '' })).errorCode).to.equal(
      KafkaError.INVALID_GROUP_ID,
    );
  });

  it('answers waiting members when it closes', async () => {
    const a = await coordinator.join(joinRequest(''));
    const b = coordinator.join(joinRequest(''));
    coordinator.close();
    expect((await b).errorCode).to.equal(KafkaError.COORDINATOR_NOT_AVAILABLE);
    expect(coordinator.heartbeat('g', a.generationId, a.memberId)).to.equal(
      KafkaError.COORDINATOR_NOT_AVAILABLE,
    );
  });
});
