import { desiredHosts, HostReport } from "../../../ops/desired";
import { customDescendants, planRepair } from "../../../ops/repair";
import { hostStatus } from "../../../ops/status";

const hex = (c: string) => c.repeat(64);
const P = "urn:pulumi:local::hcloud-deploy::";
const SERVICE = `${P}hcloud-deploy:service:Service::web-on-local-1-service`;
const DELIVERY = `${P}hcloud-deploy:delivery:Delivery::web-on-local-1-delivery`;
const RUN = `${P}hcloud-deploy:service:Service$command:local:Command::web-on-local-1-service-rollout`;
const LOAD = `${P}hcloud-deploy:delivery:Delivery$command:local:Command::web-on-local-1-delivery-load`;
// The shape of `pulumi stack export` (pulumi 3.259, local stack), trimmed to what the planner reads.
const exported = JSON.stringify({
  version: 3,
  deployment: {
    resources: [
      { urn: `${P}pulumi:pulumi:Stack::hcloud-deploy-local`, custom: false, type: "pulumi:pulumi:Stack" },
      {
        urn: SERVICE,
        custom: false,
        type: "hcloud-deploy:service:Service",
        parent: `${P}pulumi:pulumi:Stack::hcloud-deploy-local`,
      },
      {
        urn: DELIVERY,
        custom: false,
        type: "hcloud-deploy:delivery:Delivery",
        parent: `${P}pulumi:pulumi:Stack::hcloud-deploy-local`,
      },
      { urn: LOAD, custom: true, type: "command:local:Command", parent: DELIVERY },
      { urn: RUN, custom: true, type: "command:local:Command", parent: SERVICE },
      { urn: `${P}pulumi:providers:command::default_1_2_1`, custom: true, type: "pulumi:providers:command" },
    ],
  },
});

const [host] = desiredHosts("local", {
  hostAddresses: { "local-1": "fd5e:0:0:1::1" },
  hostKeys: { "local-1": "ssh-ed25519 AAAA local-1" },
  hostApps: {
    "local-1": {
      web: {
        image: `r.test/web@sha256:${hex("a")}`,
        hostPort: 80,
        healthPath: "/",
        service: SERVICE,
        delivery: DELIVERY,
      },
    },
  },
});
const report = (over: Partial<HostReport>): HostReport => ({
  containers: [],
  images: [{ tag: `hcloud-deploy/web:${hex("a")}`, id: "sha256:1" }],
  checks: [],
  disk: { path: "/", totalKiB: 1, usedKiB: 0, availableKiB: 1, images: "0B" },
  proxy: null,
  ...over,
});

test("customDescendants finds a component's commands whatever their type or name", () => {
  const resources = JSON.parse(exported).deployment.resources;
  expect(customDescendants(resources, SERVICE)).toEqual([RUN]);
  expect(customDescendants(resources, DELIVERY)).toEqual([LOAD]);
});

test("a missing container: replace the service's command, in one audited pulumi up", () => {
  const plan = planRepair("local", exported, [hostStatus(host, report({}))]);
  expect(plan.argv).toEqual([
    ...["up", "--stack", "local", "--yes", "--skip-preview", "--suppress-outputs"],
    ...["--message", "repair: web on local-1 (no container)", "--target", RUN, "--replace", RUN],
  ]);
  expect(plan.cannot).toEqual([]);
});

test("an image gone from the host: deliver it again before the service runs it", () => {
  const plan = planRepair("local", exported, [hostStatus(host, report({ images: [] }))]);
  expect(plan.targets).toEqual([LOAD, RUN]);
});

test("what no pulumi up can repair is said, not attempted", () => {
  const stranger = {
    name: "/worker",
    imageId: "sha256:9",
    image: "x",
    app: "worker",
    instance: "",
    revision: "",
    state: "running",
    exitCode: 0,
    startedAt: "",
    restartCount: 0,
    health: null,
    ports: null,
  };
  const web = {
    ...stranger,
    name: "/web",
    app: "web",
    imageId: "sha256:1",
    image: `hcloud-deploy/web:${hex("a")}`,
  };
  const plan = planRepair("local", exported, [
    hostStatus(host, report({ containers: [web, stranger] })),
    hostStatus(
      { ...host, name: "local-2" },
      "hcloud-deploy: status on local-2: unreachable at [fd5e:0:0:2::1]: …",
    ),
  ]);
  expect(plan.argv).toEqual([]);
  expect(plan.cannot).toEqual([
    "hcloud-deploy: status on local-2: unreachable at [fd5e:0:0:2::1]: …; nothing can be repaired there until it answers",
    "worker on local-1 is not in the stack: remove it on the host (docker rm -f worker)",
  ]);
});

test("a service the state does not hold fails with one line", () => {
  const empty = JSON.stringify({ deployment: { resources: [] } });
  expect(() => planRepair("local", empty, [hostStatus(host, report({}))])).toThrow(
    `stack local: no resources under ${SERVICE} in its state`,
  );
});
