/**
 * Collects what arrives in one turn of the event loop and hands it over as one batch at the end
 * of the turn (`setImmediate`), at most `max` items per batch. A RedisStore sends each batch as
 * one script call: fewer round trips, and each key read and written once.
 */
export class TurnBatcher<T> {
  private current: T[] | undefined;
  /** Batches collected and not handed over yet (the current one, and any sealed since). */
  private waiting = 0;

  constructor(
    private readonly flush: (batch: T[]) => void,
    private readonly max: number,
  ) {}

  add(item: T): void {
    if (this.current === undefined || this.current.length >= this.max) {
      const batch: T[] = [];
      this.current = batch;
      this.waiting++;
      setImmediate(() => {
        this.waiting--;
        if (this.current === batch) this.current = undefined;
        this.flush(batch);
      });
    }
    this.current.push(item);
  }

  /**
   * Closes the batch being collected: what arrives next goes to a new batch, handed over after
   * this one. Another batcher's item arriving in between is handed over between the two.
   */
  seal(): void {
    this.current = undefined;
  }

  /** True when no batch is waiting to be handed over. */
  get idle(): boolean {
    return this.waiting === 0;
  }
}
