/** What the emulator knows about a server when the host behind it has to come up. */
export interface HostSpec {
  id: number;
  name: string;
  /** `<network>::1` of the server's IPv6 primary IP. */
  address: string;
  prefixLength: 64;
  /** The cloud-init document exactly as the program sent it. */
  userData: string;
  /** Public keys of the server's ssh_keys; cloud-init may add more. */
  authorizedKeys: string[];
}

/**
 * Materialises the machine behind a server. create() rejecting with an Error fails the server's
 * create_server action with that message, the way a broken image or cloud-init would surface.
 */
export interface HostBackend {
  create(server: HostSpec): Promise<void>;
  delete(serverId: number): Promise<void>;
  /** Stops every host this backend started (emulator shutdown). */
  close(): Promise<void>;
}

/** For API-level tests and `--hosts none`: remembers what would have been started, starts nothing. */
export class InMemoryHostBackend implements HostBackend {
  readonly hosts = new Map<number, HostSpec>();

  async create(server: HostSpec): Promise<void> {
    this.hosts.set(server.id, server);
  }

  async delete(serverId: number): Promise<void> {
    this.hosts.delete(serverId);
  }

  async close(): Promise<void> {
    this.hosts.clear();
  }
}
