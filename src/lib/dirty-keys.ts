/**
 * Work on keys that changed, one at a time: `mark` a key and `work` runs for it soon; a key marked again
 * while the run is on gets another run, never two at once. Failures are the work function's to report.
 */
export class DirtyKeys {
  private readonly dirty = new Set<string>();
  private running: Promise<void> | undefined;

  constructor(private readonly work: (key: string) => Promise<void>) {}

  mark(key: string): void {
    this.dirty.add(key);
    this.kick();
  }

  /** Resolves once every key marked so far has had its run. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.dirty.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty.size > 0) {
      for (const key of [...this.dirty]) {
        this.dirty.delete(key);
        await this.work(key);
      }
    }
  }
}
