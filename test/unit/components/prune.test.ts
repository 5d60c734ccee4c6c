import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pruneScript } from "../../../components/shell/prune";
import { fakeHost, FakeHost, FakeImage } from "../support/fakeHost";

const hex = (c: string) => c.repeat(64);
/** Releases r1 (oldest) … r6 (newest) of web, one image each, and one of api. */
const releases: FakeImage[] = ["1", "2", "3", "4", "5", "6"].map((n) => ({
  tag: `hcloud-deploy/web:${hex(n)}`,
  id: `sha256:${hex(String.fromCharCode(96 + Number(n)))}`,
  lastTagTime: `2026-11-2${n}T10:00:00.${n}Z`,
}));
const api: FakeImage = {
  tag: `hcloud-deploy/api:${hex("9")}`,
  id: `sha256:${hex("f")}`,
  lastTagTime: "2026-11-01T00:00:00Z",
};
const web = (n: number) => releases[n - 1];

let host: FakeHost;
afterEach(() => host?.cleanup());

function prune(keep: number, pinned: string[], containers: { id: string; imageId: string }[] = []) {
  host = fakeHost({ containers, images: [...releases, api] });
  const lockFile = path.join(host.dir, "images.lock");
  const result = host.run(pruneScript({ app: "web", hostName: "web-1", keep, pinned, lockFile }));
  const removed = host
    .calls()
    .filter((c) => c.startsWith("docker rmi "))
    .map((c) => c.slice("docker rmi ".length));
  return { ...result, removed };
}

describe("pruneScript keeps the newest releases, what containers use and what the stack pins", () => {
  test.each<[string, number, string[], { id: string; imageId: string }[], number[]]>([
    ["newest three by arrival on the host", 3, [], [], [1, 2, 3]],
    ["keep one", 1, [], [], [1, 2, 3, 4, 5]],
    ["a pinned old release stays", 3, [web(1).tag], [], [2, 3]],
    ["an image a (stopped) container uses stays", 3, [], [{ id: "c1", imageId: web(2).id }], [1, 3]],
    ["keep more than there are: nothing goes", 10, [], [], []],
  ])("%s", (_name, keep, pinned, containers, gone) => {
    const result = prune(keep, pinned, containers);
    expect(result.code).toBe(0);
    expect(result.removed.sort()).toEqual(gone.map((n) => web(n).tag).sort());
  });

  test("touches only the app's own tags and says what it did in one line", () => {
    const result = prune(3, [web(6).tag]);
    expect(result.removed).not.toContain(api.tag);
    expect(result.stdout).toBe(
      "hcloud-deploy: web on web-1: pruned 3 old image(s), kept 3; dangling images: 12MB\n",
    );
    expect(host.calls()).toContain("docker image ls --format {{.Repository}}:{{.Tag}} hcloud-deploy/web");
  });

  test("dangling images wait while a delivery holds the image lock", () => {
    host = fakeHost({ containers: [], images: releases });
    const lockFile = path.join(host.dir, "images.lock");
    fs.writeFileSync(lockFile, "");
    // flock(1) holding the shared side, as a loading delivery does, while the prune runs.
    const script = pruneScript({ app: "web", hostName: "web-1", keep: 3, pinned: [], lockFile });
    const held = host.run(`flock -s ${lockFile} sh -c '${script.replace(/'/g, `'\\''`)}'`);
    expect(held.stdout).toContain("dangling images: skipped (a delivery is loading)");
    expect(host.calls().some((c) => c.startsWith("docker image prune"))).toBe(false);
  });

  test("never fails the rollout that calls it", () => {
    host = fakeHost({ containers: [], images: [] });
    const result = host.run(
      `${pruneScript({ app: "web", hostName: "web-1", keep: 3, pinned: [], lockFile: "/nonexistent/dir/lock" })}; echo after`,
    );
    expect([result.code, result.stdout.trim().split("\n").pop()]).toEqual([0, "after"]);
  });

  test.each([0, -1, 1.5])("keep %p is refused", (keep) => {
    expect(() => pruneScript({ app: "web", hostName: "web-1", keep, pinned: [] })).toThrow(
      `keep must be at least 1, not ${keep}`,
    );
  });

  test("parses under sh", () => {
    const script = pruneScript({ app: "web", hostName: "web-1", keep: 3, pinned: [web(1).tag] });
    expect(() => execFileSync("sh", ["-n"], { input: script })).not.toThrow();
  });
});
