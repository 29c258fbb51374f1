/**
 * An object whose properties are read from `get()` at each access, not when it is made. Lets the
 * router be built (the server needs it, and /openapi.json, at boot) before the NATS-backed
 * dependencies it closes over exist: procedures only run once they do (the server's gate refuses
 * calls until then), and a read before that throws whatever `get` throws (SERVICE_UNAVAILABLE).
 */
export function deferred<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get: (_, prop) => Reflect.get(get(), prop),
    has: (_, prop) => Reflect.has(get(), prop),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, prop) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), prop);
      // The (empty) proxy target has no such property: a proxy may only report it as configurable.
      return d ? { ...d, configurable: true } : undefined;
    },
  });
}
