import { planLocalPins } from "../../../local/stack";

type Pins = Record<string, string>;
const built = { web: "r/web@sha256:1", api: "r/api@sha256:1" };
test.each<[string, Pins, Pins | undefined, boolean, string[], [string, string][]]>([
  ["first run: nothing pinned, nothing recorded", {}, {}, false, ["web", "api"], []],
  ["pins are the ones local:up wrote: rebuild both", built, built, false, ["web", "api"], []],
  [
    "a rollback pinned web: web stays",
    { ...built, web: "r/web@sha256:0" },
    built,
    false,
    ["api"],
    [["web", "r/web@sha256:0"]],
  ],
  [
    "rolling forward rebuilds a rolled-back app",
    { ...built, web: "r/web@sha256:0" },
    built,
    true,
    ["web", "api"],
    [],
  ],
  [
    "no record yet (a checkout from before it): build all",
    { ...built, web: "r/web@sha256:0" },
    undefined,
    false,
    ["web", "api"],
    [],
  ],
  [
    "an app local:up never built keeps a pin it finds",
    { web: "r/web@sha256:0" },
    {},
    false,
    ["api"],
    [["web", "r/web@sha256:0"]],
  ],
])("%s", (_name, current, lastBuilt, rollForward, build, kept) => {
  expect(planLocalPins(["web", "api"], current, lastBuilt, rollForward)).toEqual({ build, kept });
});
