/**
 * The assignors the serving process's own group members run when they lead a group, and the
 * consumer protocol bytes they read and write, checked against kafkajs's own encoder and decoder.
 */
import { expect } from 'chai';
import { assign } from '../../lib/kafka/assignors.js';
import {
  decodeAssignment,
  encodeAssignment,
  encodeSubscription,
  subscribedTopics,
} from '../../lib/kafka/consumer-protocol.js';
import { kafkajs } from './clients.js';

const { MemberMetadata, MemberAssignment } = kafkajs.AssignerProtocol;

/** member -> "topic:partitions" strings, for compact expectations. */
function plan(a: Map<string, Map<string, number[]>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [member, topics] of a) out[member] = [...topics].map(([t, ps]) => `${t}:${ps.join(',')}`);
  return out;
}

const counts: Record<string, number> = { a: 5, b: 2, c: 0 };
const partitionsOf = (t: string) => counts[t] ?? 0;

describe('Group assignors of library members', () => {
  it('range: per topic, contiguous ranges to its subscribers in member id order, the first ones get the remainder', () => {
    const members = [
      { memberId: 'm3', topics: ['a'] },
      { memberId: 'm1', topics: ['a', 'b'] },
      { memberId: 'm2', topics: ['a', 'b', 'missing'] },
    ];
    expect(plan(assign('range', members, partitionsOf))).to.deep.equal({
      m1: ['a:0,1', 'b:0'],
      m2: ['a:2,3', 'b:1'],
      m3: ['a:4'],
    });
  });

  it('round robin (roundrobin and RoundRobinAssigner): partitions in topic order dealt in member id order, skipping non-subscribers', () => {
    const members = [
      { memberId: 'y', topics: ['a', 'b'] },
      { memberId: 'x', topics: ['a'] },
    ];
    const expected = { x: ['a:0,2,4'], y: ['a:1,3', 'b:0,1'] };
    expect(plan(assign('roundrobin', members, partitionsOf))).to.deep.equal(expected);
    expect(plan(assign('RoundRobinAssigner', members, partitionsOf))).to.deep.equal(expected);
  });

  it('gives every member an entry, also with nothing to read', () => {
    const members = [
      { memberId: 'p', topics: ['b'] },
      { memberId: 'q', topics: ['b'] },
      { memberId: 'r', topics: ['b'] },
    ];
    expect(plan(assign('range', members, partitionsOf))).to.deep.equal({ p: ['b:0'], q: ['b:1'], r: [] });
  });

  it('subscriptions and assignments are the bytes kafkajs writes and reads', () => {
    const ours = encodeSubscription(['orders', 'émoji-topic']);
    expect(ours).to.deep.equal(
      MemberMetadata.encode({ version: 0, topics: ['orders', 'émoji-topic'], userData: Buffer.alloc(0) }),
    );
    expect(
      subscribedTopics(MemberMetadata.encode({ version: 1, topics: ['x', 'y'], userData: Buffer.from('u') })),
    ).to.deep.equal(['x', 'y']);
    expect(subscribedTopics(Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff]))).to.deep.equal([]);
    const assignment = new Map([
      ['orders', [0, 3]],
      ['other', [1]],
    ]);
    expect(MemberAssignment.decode(encodeAssignment(assignment))).to.deep.equal({
      version: 0,
      assignment: { orders: [0, 3], other: [1] },
      userData: Buffer.alloc(0),
    });
    const theirs = MemberAssignment.encode({
      version: 0,
      assignment: { orders: [2], other: [0, 1] },
      userData: Buffer.alloc(0),
    });
    expect([...decodeAssignment(theirs)]).to.deep.equal([
      ['orders', [2]],
      ['other', [0, 1]],
    ]);
    expect([...decodeAssignment(Buffer.alloc(0))]).to.deep.equal([]);
    expect([...decodeAssignment(theirs.subarray(0, theirs.length - 9))]).to.deep.equal([]);
  });
});
