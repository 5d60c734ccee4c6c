import * as fs from "fs";
import * as path from "path";
import { findAnyServerType, findServerType, ServerType } from "./catalog";
import { ApiError, invalidInput } from "./errors";
import { Ipv6Pool } from "./ipv6";
import { DeprecationMark, EmulatorState, IdKind, emptyState } from "./state";

/** A test's mark names a type by its exact name, in a location the type is offered in. */
function requireOffer(type: ServerType | undefined, serverType: string, location: string): void {
  if (!type || type.name !== serverType) {
    throw invalidInput("server_type", `server type ${JSON.stringify(serverType)} does not exist`);
  }
  if (!type.offers.some((offer) => offer.location === location)) {
    throw invalidInput("location", `server type ${serverType} is not offered in ${JSON.stringify(location)}`);
  }
}

/** Holds the state, hands out IDs and IPv6 networks, and writes the state file after each change. */
export class StateStore {
  private constructor(
    readonly state: EmulatorState,
    private readonly pool: Ipv6Pool,
    private readonly file: string | undefined,
  ) {}

  /** Loads `file` when it exists, so a restarted emulator still knows its resources. */
  static open(pool: Ipv6Pool, file?: string): StateStore {
    if (!file || !fs.existsSync(file)) return new StateStore(emptyState(), pool, file);
    const loaded = JSON.parse(fs.readFileSync(file, "utf8")) as EmulatorState;
    if (loaded.version !== 1) throw new Error(`state file ${file} has version ${loaded.version}, expected 1`);
    // Files written before networks and load balancers existed lack their lists and ID counters.
    const empty = emptyState();
    const state = { ...empty, ...loaded, nextId: { ...empty.nextId, ...loaded.nextId } };
    return new StateStore(state, pool, file);
  }

  nextId(kind: IdKind): number {
    return this.state.nextId[kind]++;
  }

  /**
   * Marks a server type sold out in a location (or, with `soldOut` false, orderable again), for tests:
   * GET /server_types shows `available: false` there and POST /servers answers 412
   * resource_unavailable. Kept in the state file, so a restarted emulator still has it. Unknown names,
   * or a location the type is not offered in, are invalid_input.
   */
  markSoldOut(serverType: string, location: string, soldOut = true): void {
    requireOffer(findServerType(serverType, this.state.deprecationMarks), serverType, location);
    const others = this.state.soldOut.filter(
      (mark) => mark.serverType !== serverType || mark.location !== location,
    );
    this.state.soldOut = soldOut ? [...others, { serverType, location }] : others;
  }

  /**
   * Sets a server type's deprecation in a location (null: not deprecated), or with `reset` gives it back
   * the catalog's, for tests: a deprecation still ahead makes a listed type warn; on a withdrawn type
   * (cx22–cx52) it lists the type again, as the API did before 2025-12-31.
   */
  markDeprecation(
    serverType: string,
    location: string,
    deprecation: DeprecationMark["deprecation"],
    reset = false,
  ): void {
    requireOffer(findAnyServerType(serverType), serverType, location);
    for (const date of deprecation ? [deprecation.announced, deprecation.unavailable_after] : []) {
      if (Number.isNaN(Date.parse(date)))
        throw invalidInput("deprecation", `${JSON.stringify(date)} is not a date`);
    }
    const others = this.state.deprecationMarks.filter(
      (mark) => mark.serverType !== serverType || mark.location !== location,
    );
    this.state.deprecationMarks = reset ? others : [...others, { serverType, location, deprecation }];
  }

  allocateIpv6Network(): string {
    if (BigInt(this.state.nextIpv6Network) >= this.pool.size) {
      throw new ApiError(403, "resource_limit_exceeded", `IPv6 pool ${this.pool.cidr} is exhausted`);
    }
    return this.pool.network(this.state.nextIpv6Network++);
  }

  /** Write-then-rename, so a crash mid-write never leaves a truncated state file behind. */
  save(): void {
    if (!this.file) return;
    const temporary = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    fs.writeFileSync(temporary, JSON.stringify(this.state, null, 2));
    fs.renameSync(temporary, this.file);
  }
}
