// The outputs the day-2 commands read (status, logs, repair): how to reach each host and what it
// should run, with the URNs whose children a repair replaces.
import { ProgramRun, runProgram, stackConfig } from "../support/program";

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram(stackConfig("dev"));
});

test("hostKeys: each host's generated key, the one its cloud-init installs", () => {
  const keys = run.outputs.hostKeys as Record<string, string>;
  expect(Object.keys(keys)).toEqual(["web-1", "web-2"]);
  for (const host of ["web-1", "web-2"]) {
    expect(run.named(`${host}-server`).inputs.userData).toContain(
      keys[host].split(" ").slice(0, 2).join(" "),
    );
  }
});

test("hostApps: per host the apps the stack puts there, with image, port, health path and URNs", () => {
  const hostApps = run.outputs.hostApps as Record<string, Record<string, Record<string, unknown>>>;
  const images = run.outputs.appImages as Record<string, string>;
  expect(Object.fromEntries(Object.entries(hostApps).map(([h, apps]) => [h, Object.keys(apps)]))).toEqual({
    "web-1": ["web"],
    "web-2": ["web", "api"],
  });
  // Under mocks the stack is the parent of top-level components; the real engine leaves it out.
  const urn = (type: string, name: string) =>
    `urn:pulumi:dev::hcloud-deploy::pulumi:pulumi:Stack$hcloud-deploy:${type}::${name}`;
  expect(hostApps["web-2"].api).toEqual({
    image: images.api,
    hostPort: 8080,
    domains: [],
    healthPath: "/healthz",
    service: urn("service:Service", "api-on-web-2-service"),
    delivery: urn("delivery:Delivery", "api-on-web-2-delivery"),
  });
  expect(hostApps["web-1"].web).toMatchObject({ image: images.web, hostPort: 80, healthPath: "/healthz" });
});
