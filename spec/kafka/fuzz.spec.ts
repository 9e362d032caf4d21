/** The short form of the Kafka fuzzers (the long form: runKafkaFuzz in fuzz.ts, for the stress script). */
import { expect } from 'chai';
import { emptyFigures, fuzzDecoder, fuzzLive } from './fuzz.js';

const empty = emptyFigures;

describe('Kafka fuzzing (short form)', function () {
  this.timeout(120_000);

  it('the request decoder: random, truncated and mutated frames of every API and version give only typed errors, bounded output', () => {
    const figures = empty();
    fuzzDecoder(5000, 7, figures);
    expect(figures.problems).to.deep.equal([]);
    expect(figures).to.deep.include({
      decoderFrames: 5000,
      decoderUntypedErrors: 0,
      decoderOverAllocations: 0,
    });
  });

  it('a live listener: random and mutated frames over many connections, no crash, other connections still served', async () => {
    const figures = empty();
    await fuzzLive(1500, 11, figures);
    expect(figures.problems).to.deep.equal([]);
    expect(figures.liveFrames).to.be.at.least(1500);
    expect(figures).to.deep.include({ crashes: 0, connectionsThatBrokeTheServer: 0 });
  });
});
