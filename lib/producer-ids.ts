/**
 * The producer ids this store hands out to idempotent producers (Kafka's InitProducerId): a new
 * id with epoch 0, or for a producer that lost track of its sequences (KIP-360) the same id with
 * the next epoch, which fences its older instances on every partition. Kept in the catalog.
 */
import type { ProducerCatalog } from './catalog/producers.js';
import { LogStoreError } from './errors.js';

export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

const MAX_EPOCH = 0x7fff;

export class ProducerIds {
  /** Epochs read from the catalog: an append checks one per batch. */
  private readonly epochs = new Map<number, number | undefined>();

  /** @internal */
  constructor(private readonly catalog: ProducerCatalog) {}

  /** The latest epoch handed out for `producerId`; undefined for an id this store did not issue. */
  epochOf(producerId: number): number | undefined {
    if (!this.epochs.has(producerId)) this.epochs.set(producerId, this.catalog.epoch(producerId));
    return this.epochs.get(producerId);
  }

  /** A new producer id, or with `current`, that producer's next epoch (a new id past the last epoch). */
  init(current?: ProducerIdentity): ProducerIdentity {
    if (current === undefined || current.producerId < 0) {
      const fresh = this.catalog.newProducer();
      this.epochs.set(fresh.producerId, fresh.producerEpoch);
      return fresh;
    }
    const epoch = this.epochOf(current.producerId);
    if (epoch === undefined || epoch !== current.producerEpoch) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_PRODUCER_EPOCH',
        `Producer ${current.producerId} epoch ${current.producerEpoch} is not this store's latest (${epoch ?? 'unknown id'}).`,
      );
    }
    if (epoch >= MAX_EPOCH) return this.init();
    this.catalog.setEpoch(current.producerId, epoch + 1);
    this.epochs.set(current.producerId, epoch + 1);
    return { producerId: current.producerId, producerEpoch: epoch + 1 };
  }
}
