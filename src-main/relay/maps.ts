/**
 * The value under `key`, made and stored by `make` the first time it is asked for. Called per
 * frame: pass a function made once (not a closure made per call).
 */
export function getOrAdd<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}
