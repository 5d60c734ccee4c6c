// What the data tests share: rows counted around an event, printed as `data: <case>: rows before N, after N`.

/** How a test reads and writes its app's rows. */
export interface RowStore {
  count(): Promise<number>;
  add(n: number): Promise<void>;
}

/** Writes three more rows, then counts them before and after `event`; prints the data line. */
export async function rowsAcross(
  store: RowStore,
  name: string,
  event: () => Promise<unknown>,
): Promise<[before: number, after: number]> {
  await store.add(3);
  const before = await store.count();
  await event();
  const after = await store.count();
  process.stdout.write(`data: ${name}: rows before ${before}, after ${after}\n`);
  return [before, after];
}
