// A Map that holds at most `max` entries: adding one more drops the oldest.
// The dispatcher's caches are these, so each is bounded the same way: a flood
// of distinct keys only costs computing again what was dropped.
export class CappedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
