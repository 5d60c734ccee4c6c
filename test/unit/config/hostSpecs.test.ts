import {
  LEGACY_HOST_DEFAULTS,
  NO_PREVIOUS_DEPLOYMENT,
  planHost,
  PreviousDeployment,
} from "../../../config/hostSpecs";
import type { HostConfig } from "../../../config/types";

const host = (over: Partial<HostConfig> = {}): HostConfig => ({
  name: "web-1",
  location: "fsn1",
  generation: 1,
  dns64Servers: [],
  ...over,
});
const recorded = (serverType: string, image: string, generation: number): PreviousDeployment => ({
  hostSpecs: { "web-1": { serverType, image, generation } },
  serverIds: { "web-1": "42" },
  volumeSizes: {},
  servedPorts: {},
});
const legacy: PreviousDeployment = {
  hostSpecs: {},
  serverIds: { "web-1": "42" },
  volumeSizes: {},
  servedPorts: {},
};

describe("planHost: what server a host gets", () => {
  test.each<[string, Partial<HostConfig>, PreviousDeployment, object]>([
    [
      "a new EU host gets today's defaults",
      {},
      NO_PREVIOUS_DEPLOYMENT,
      {
        serverType: "cx23",
        image: "debian-13",
        serverTypeOrigin: "default",
        imageOrigin: "default",
        orders: true,
      },
    ],
    [
      "a new US host gets cpx11 (neither cx23 nor cpx12 is sold there)",
      { location: "ash" },
      NO_PREVIOUS_DEPLOYMENT,
      { serverType: "cpx11", serverTypeOrigin: "default", orders: true },
    ],
    [
      "a host deployed before specs were recorded keeps the old defaults",
      {},
      legacy,
      {
        serverType: "cx22",
        image: "debian-12",
        serverTypeOrigin: "kept",
        imageOrigin: "kept",
        orders: false,
      },
    ],
    [
      "a recorded host keeps what it was created with",
      {},
      recorded("cx33", "debian-13", 1),
      { serverType: "cx33", image: "debian-13", serverTypeOrigin: "kept", orders: false },
    ],
    [
      "a generation bump moves an unnamed host to today's defaults",
      { generation: 2 },
      recorded("cx22", "debian-12", 1),
      { serverType: "cx23", image: "debian-13", generation: 2, serverTypeOrigin: "default", orders: true },
    ],
    [
      "a type the stack names wins, and a change of it is a rescale that orders the type",
      { serverType: "cx43" },
      recorded("cx23", "debian-12", 1),
      {
        serverType: "cx43",
        image: "debian-12",
        serverTypeOrigin: "stack",
        imageOrigin: "kept",
        orders: true,
      },
    ],
    [
      "naming what the host already has orders nothing",
      { serverType: "cx22", image: "debian-12" },
      legacy,
      { serverType: "cx22", image: "debian-12", serverTypeOrigin: "stack", orders: false },
    ],
    [
      "a changed image rebuilds the server: it orders",
      { image: "debian-13" },
      recorded("cx23", "debian-12", 1),
      { serverType: "cx23", image: "debian-13", imageOrigin: "stack", orders: true },
    ],
  ])("%s", (_, over, previous, expected) => {
    expect(planHost(host(over), 0, previous)).toMatchObject(expected);
  });

  test("the legacy defaults are the ones every earlier release used", () => {
    expect(LEGACY_HOST_DEFAULTS).toEqual({ serverType: "cx22", image: "debian-12" });
  });
});
