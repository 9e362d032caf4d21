/** OnceSignal: fires its listeners once, and a removed listener is neither run nor kept. */
import { expect } from 'chai';
import { OnceSignal } from '../../lib/kafka/once-signal.js';

describe('OnceSignal', () => {
  it('runs each listener once, in the order they were added, and forgets them', () => {
    const signal = new OnceSignal();
    const ran: string[] = [];
    signal.listen(() => ran.push('a'));
    signal.listen(() => ran.push('b'));
    expect(signal.listenerCount).to.equal(2);
    signal.fire();
    signal.fire();
    expect(ran).to.deep.equal(['a', 'b']);
    expect(signal.fired).to.equal(true);
    expect(signal.listenerCount).to.equal(0);
  });

  it('does not run or keep a listener that was removed', () => {
    const signal = new OnceSignal();
    const ran: string[] = [];
    const remove = signal.listen(() => ran.push('removed'));
    signal.listen(() => ran.push('kept'));
    remove();
    expect(signal.listenerCount).to.equal(1);
    signal.fire();
    expect(ran).to.deep.equal(['kept']);
  });

  it('runs a listener added after it fired at once', () => {
    const signal = new OnceSignal();
    signal.fire();
    let ran = 0;
    const remove = signal.listen(() => ran++);
    remove();
    expect(ran).to.equal(1);
    expect(signal.listenerCount).to.equal(0);
  });
});
