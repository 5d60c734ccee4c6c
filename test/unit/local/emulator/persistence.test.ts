import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmulatorState } from "../../../../local/emulator/state";
import { newPublicKey, serverCreateBody, startTestEmulator } from "./support";

describe("emulator: state file", () => {
  let dir: string;
  let stateFile: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "hcloud-emulator-"));
    stateFile = path.join(dir, "state.json");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const saved = (): EmulatorState => JSON.parse(fs.readFileSync(stateFile, "utf8"));

  test("every change is written at once, with no temporary file left behind", async () => {
    const t = await startTestEmulator({ stateFile });
    try {
      await t.api("POST", "/ssh_keys", { name: "k", public_key: newPublicKey() });
      expect(saved().sshKeys.map((key) => key.name)).toEqual(["k"]);
      await t.api("PUT", "/ssh_keys/1001", { labels: { team: "ops" } });
      expect(saved().sshKeys[0].labels).toEqual({ team: "ops" });
      expect(fs.readdirSync(dir)).toEqual(["state.json"]);
    } finally {
      await t.close();
    }
  });

  test("a restarted emulator knows its servers, brings their hosts back and continues IDs and addresses", async () => {
    const first = await startTestEmulator({ stateFile });
    const created = await first.api("POST", "/servers", serverCreateBody());
    await first.close();

    const second = await startTestEmulator({ stateFile });
    try {
      const server = await second.api("GET", `/servers/${created.body.server.id}`);
      expect(server.body.server).toEqual(created.body.server);
      expect(second.hosts.hosts.get(created.body.server.id)?.address).toBe("fd5e:0:0:1::1");
      const next = await second.api("POST", "/servers", serverCreateBody({ name: "web-2" }));
      expect(next.body.server.id).toBe(created.body.server.id + 1);
      expect(next.body.server.public_net.ipv6.ip).toBe("fd5e:0:0:2::/64");
    } finally {
      await second.close();
    }
  });

  test("a restarted emulator knows its volumes, attaches them to the servers' hosts again and continues their IDs", async () => {
    const first = await startTestEmulator({ stateFile });
    const server = (await first.api("POST", "/servers", serverCreateBody())).body.server.id;
    const attached = await first.api("POST", "/volumes", { name: "on", size: 10, server, format: "ext4" });
    const loose = await first.api("POST", "/volumes", { name: "off", size: 12, location: "nbg1" });
    await first.close();

    const second = await startTestEmulator({ stateFile });
    try {
      const volumes = (await second.api("GET", "/volumes")).body.volumes;
      expect(volumes).toEqual([attached.body.volume, loose.body.volume]);
      expect((await second.api("GET", `/servers/${server}`)).body.server.volumes).toEqual([8001]);
      expect([...second.hosts.attachments]).toEqual([[8001, server]]);
      const next = await second.api("POST", "/volumes", { name: "next", size: 10, location: "fsn1" });
      expect(next.body.volume.id).toBe(8003);
    } finally {
      await second.close();
    }
  });

  test("a state file from before networks and load balancers loads with none and continues its IDs", async () => {
    fs.writeFileSync(stateFile, JSON.stringify(emptyOldState()));
    const t = await startTestEmulator({ stateFile });
    try {
      expect((await t.api("GET", "/networks")).body.networks).toEqual([]);
      expect((await t.api("GET", "/volumes")).body.volumes).toEqual([]);
      const key = await t.api("POST", "/ssh_keys", { name: "k", public_key: newPublicKey() });
      expect(key.body.ssh_key.id).toBe(1005);
      const network = await t.api("POST", "/networks", { name: "n", ip_range: "10.0.0.0/16" });
      expect(network.body.network.id).toBe(5001);
    } finally {
      await t.close();
    }
  });

  test("a state file of another version is refused with a message naming the file", async () => {
    fs.writeFileSync(stateFile, JSON.stringify({ version: 2 }));
    await expect(startTestEmulator({ stateFile })).rejects.toThrow(
      `state file ${stateFile} has version 2, expected 1`,
    );
  });
});

/** The shape state files had before networks, load balancers and certificates were added. */
function emptyOldState(): Record<string, unknown> {
  return {
    version: 1,
    nextId: { sshKey: 1005, primaryIp: 2001, firewall: 3001, server: 4001, action: 9001 },
    nextIpv6Network: 1,
    sshKeys: [],
    primaryIps: [],
    firewalls: [],
    servers: [],
    actions: [],
  };
}
