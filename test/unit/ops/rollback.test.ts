import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "../../../ops/rollback";
import {
  appImagesFromExport,
  appsInStackFile,
  formatHistory,
  imagesFromConfig,
  missingFromConfig,
  parseHistory,
  pickVersion,
  planRollback,
  resolveImages,
} from "../../../ops/rollbackPlan";

// Recorded from pulumi v3.259.0 on a file backend, one stack per history file.
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures/rollback", name), "utf8");
const sha = (hex: string) => `sha256:${hex}`;
const WEB1 = `ghcr.io/acme/web@${sha("659a7fb2af476fae688d711213d91dc1550a37f0395a00a6f7bacb78ece3666b")}`;
const API1 = `ghcr.io/acme/api@${sha("5dd80892943653db3a5bb990e3365ac94bea8494c2f247dd11cfc2f762c268af")}`;
const WEB2 = `ghcr.io/acme/web@${sha("146d3146edc9c8f1640fdac0e4919b013daf8f409d1900ecc89f65d51b45a9f3")}`;
const WEB3 = `ghcr.io/acme/web@${sha("a0636392b8ed214f998edf82fad6aaed3b373dc8d691e8702f0775baed55b48a")}`;
const API3 = `ghcr.io/acme/api@${sha("ce0634e012752fb4e52d9703b86c8c41e5bf4124ff572d6c9fa99bc28131c043")}`;
const WORKER3 = `ghcr.io/acme/worker@${sha("6700bc13b8697ec7ec6d031fbf4181e2751feef716fb72a13197b662151e3ab9")}`;
const WEB_A1 = `ghcr.io/acme/web@${sha("fb032d4b2a06978922c064ead3fbe8c076817cc79c23ab688c0ee9a266a791b5")}`;
const WEB_A2 = `ghcr.io/acme/web@${sha("6a728cbe272193fb5a95f17870b78fdeeac16cf42f2f42fa8e6d1a4e2842ce1f")}`;
const API_PREBUILT = `ghcr.io/acme/api@${sha("c96d88d4a3df3d8147012b5c96cabbbd76ab9a25cec8ef0e9f39f9d7507ba6a3")}`;
const WORKER_A2 = `ghcr.io/acme/worker@${sha("cc8dfaa5745a15bb12c2fe2f741679caef921dfd27a2814d39af394cfe0fa9d7")}`;

// dev: first, second, an update whose program threw, a refresh, third.
const dev = parseHistory(fixture("history-file-backend.json"));
// apps: web built + api prebuilt, then worker added; `hcloud-deploy:apps` readable in history.
const apps = parseHistory(fixture("history-apps.json"));

describe("parseHistory", () => {
  test("numbers file-backend entries (all version 0) oldest 1, keeping newest first", () => {
    expect(dev.map((v) => [v.number, v.kind, v.result, v.message])).toEqual([
      [5, "update", "succeeded", "third"],
      [4, "refresh", "succeeded", ""],
      [3, "update", "failed", "broken"],
      [2, "update", "succeeded", "second"],
      [1, "update", "succeeded", "first"],
    ]);
  });

  test("keeps the number Pulumi Cloud reports", () => {
    const cloud = JSON.stringify([
      { version: 12, kind: "update", result: "succeeded" },
      { version: 11, kind: "update", result: "failed" },
    ]);
    expect(parseHistory(cloud).map((v) => v.number)).toEqual([12, 11]);
  });

  test("a stack with no deployments prints []", () => {
    expect(parseHistory(fixture("history-empty.json"))).toEqual([]);
  });

  test.each([
    ["not JSON", "error: no stack named 'x' found", "pulumi stack history did not print JSON"],
    ["not an array", "{}", "pulumi stack history did not print a JSON array"],
  ])("rejects output that is %s", (_, text, message) => {
    expect(() => parseHistory(text)).toThrow(message);
  });
});

describe("pickVersion", () => {
  test.each([
    [[], 1, "stack dev has no deployments yet"],
    [dev, 6, "stack dev has no version 6 (versions 1-5 exist)"],
    [dev, 4, "version 4 of stack dev is a refresh, not an update: it deployed no images"],
    [dev, 3, "version 3 of stack dev did not succeed (result: failed)"],
  ])("rejects %#", (versions, n, message) => {
    expect(() => pickVersion("dev", versions, n)).toThrow(message);
  });

  test("returns the entry with that number", () => {
    expect(pickVersion("dev", dev, 2).message).toBe("second");
  });
});

describe("imagesFromConfig", () => {
  test.each([
    ["pins only, app list absent", dev, 1, undefined, { api: API1, web: WEB1 }],
    ["pins only, three apps", dev, 5, undefined, { api: API3, web: WEB3, worker: WORKER3 }],
    ["pin plus prebuilt image", apps, 1, ["web", "api"], { api: API_PREBUILT, web: WEB_A1 }],
    [
      "later version",
      apps,
      2,
      ["web", "api", "worker"],
      { api: API_PREBUILT, web: WEB_A2, worker: WORKER_A2 },
    ],
  ])("%s", (_, versions, n, appList, refs) => {
    const images = imagesFromConfig(pickVersion("s", versions, n));
    expect(images).toEqual({ apps: appList, refs });
  });

  test("a secret app list is unknown (history shows only {secret: true})", () => {
    const [v] = parseHistory(fixture("history-secret-apps.json"));
    expect(imagesFromConfig(v)).toEqual({ apps: undefined, refs: {} });
    expect(missingFromConfig(imagesFromConfig(v))).toBeUndefined();
  });

  test("a pin that is not a digest reference is rejected, naming the app", () => {
    const [v] = parseHistory(
      JSON.stringify([
        {
          kind: "update",
          result: "succeeded",
          config: { "hcloud-deploy:imagePins": { value: '{"web":"web:latest"}', secret: false } },
        },
      ]),
    );
    expect(() => imagesFromConfig(v)).toThrow(
      'version 1 hcloud-deploy:imagePins: "web:latest" for app web is not registry/name@sha256:<64 hex>',
    );
  });
});

describe("appImagesFromExport", () => {
  test("reads the stack resource's appImages output", () => {
    expect(appImagesFromExport(fixture("export.json"), 5)).toEqual({ api: API3, web: WEB3, worker: WORKER3 });
  });

  test("names the version when there is no appImages output", () => {
    expect(() => appImagesFromExport('{"version":3,"deployment":{"resources":[]}}', 2)).toThrow(
      "export of version 2: the stack has no appImages output",
    );
  });
});

describe("resolveImages", () => {
  const secretApps = parseHistory(fixture("history-secret-apps.json"))[0];
  const noExport = "pulumi stack export --version 1 failed (the backend refuses)";

  test("the export fills in what the config leaves open; config wins", () => {
    const images = { apps: ["web", "api"], refs: { web: WEB1 } };
    expect(resolveImages(secretApps, images, { web: WEB3, api: API3, worker: WORKER3 }, "")).toEqual({
      web: WEB1,
      api: API3,
    });
  });

  test("without an app list the pins and the export name the apps", () => {
    const images = { apps: undefined, refs: { web: WEB1 } };
    expect(resolveImages(secretApps, images, { api: API3 }, "")).toEqual({ api: API3, web: WEB1 });
  });

  test.each([
    [
      { apps: ["web", "api"], refs: { web: WEB1 } },
      "cannot determine the image version 1 deployed for api: not in its hcloud-deploy:imagePins and " +
        noExport,
    ],
    [{ apps: undefined, refs: {} }, "cannot determine any image version 1 deployed"],
  ])("fails naming what is missing %#", (images, message) => {
    expect(() => resolveImages(secretApps, images, undefined, noExport)).toThrow(message);
  });
});

test("appsInStackFile reads names, whatever is secure inside an app", () => {
  const text = [
    "config:",
    "  hcloud-deploy:apps:",
    "    - name: web",
    "      env:",
    "        TOKEN:",
    "          secure: v1:abc",
    "    - name: api",
  ].join("\n");
  expect(appsInStackFile(text)).toEqual(["web", "api"]);
  expect(appsInStackFile("config: {}\n")).toEqual([]);
});

describe("planRollback", () => {
  test("pins each app of the version defined now, then deploys with an audit message", () => {
    const plan = planRollback("dev", 1, { web: WEB1, api: API1 }, ["web", "api", "worker"]);
    expect(plan).toEqual({
      pins: [
        ["web", WEB1],
        ["api", API1],
      ],
      untouched: ["worker"],
      undefinedNow: [],
      commands: [
        ["config", "set", "--stack", "dev", "--path", "hcloud-deploy:imagePins.web", WEB1],
        ["config", "set", "--stack", "dev", "--path", "hcloud-deploy:imagePins.api", API1],
        ["up", "--stack", "dev", "--yes", "--skip-preview", "--message", "rollback to version 1"],
      ],
    });
  });

  test("skips apps no longer defined, since the program rejects their pins", () => {
    const plan = planRollback("prod", 2, { web: WEB2, old: API1 }, ["web"]);
    expect([plan.pins, plan.undefinedNow, plan.commands.length]).toEqual([[["web", WEB2]], ["old"], 2]);
  });

  test("fails when no app of the version is defined now", () => {
    expect(() => planRollback("dev", 1, { old: API1 }, ["web"])).toThrow(
      "none of the apps of version 1 (old) is defined now",
    );
  });
});

test("formatHistory lists numbers and the digests each update pinned", () => {
  expect(formatHistory(apps)).toBe(
    [
      "   2  2026-11-22T02:46:49.000Z  update succeeded  add worker",
      `        api  ${API_PREBUILT}`,
      `        web  ${WEB_A2}`,
      `        worker  ${WORKER_A2}`,
      "   1  2026-11-22T02:46:46.000Z  update succeeded  web and api",
      `        api  ${API_PREBUILT}`,
      `        web  ${WEB_A1}`,
    ].join("\n"),
  );
  expect(formatHistory([])).toBe("no deployments yet");
});

describe("parseArgs", () => {
  test.each([
    [["--stack", "dev", "--to", "3"], { stack: "dev", to: 3 }],
    [["--stack", "dev", "--to", "3", "--yes"], { stack: "dev", to: 3 }],
    [["--list", "--stack", "prod"], { stack: "prod", to: undefined }],
  ])("accepts %j", (argv, args) => {
    expect(parseArgs(argv)).toEqual(args);
  });

  const usage = "usage: rollback.ts --stack <stack> (--to <version> | --list) [--yes]";
  test.each([
    [["--stack", "dev", "--to", "0"], "--to must be a positive integer, not 0"],
    [["--stack", "dev", "--to", "1.5"], "--to must be a positive integer, not 1.5"],
    [["--stack", "dev", "--to"], "--to must be a positive integer, not nothing"],
    [["--to", "3"], usage],
    [["--stack", "dev"], usage],
    [["--stack", "dev", "--to", "3", "--list"], usage],
    [["--stack", "a b", "--to", "3"], usage],
    [["--stack", "dev", "--force"], usage],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
