import { ApiError } from "../../../../local/emulator/errors";
import { parseLabelSelector, readLabels } from "../../../../local/emulator/labels";

describe("labels", () => {
  test.each([[{ env: "prod", "example.com/my": "label", "just-a-key": "" }], [{ "a.b_c-d": "x.y_z-1" }]])(
    "accepts %j",
    (labels) => {
      expect(readLabels(labels)).toEqual(labels);
    },
  );

  test.each([
    [{ "-env": "x" }, "invalid name segment"],
    [{ env: "-x" }, "invalid value"],
    [{ env: "x".repeat(64) }, "invalid value"],
    [{ "hetzner.cloud/x": "y" }, "reserved hetzner.cloud/ prefix"],
    [{ "Bad_Prefix/x": "y" }, "not a DNS subdomain"],
    [{ env: 1 }, "must have a string value"],
    [["env"], "must be an object"],
  ])("refuses %j with invalid_input: %s", (labels, message) => {
    let error: unknown;
    try {
      readLabels(labels);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details?.fields).toEqual([
      { name: "labels", messages: [expect.stringContaining(message)] },
    ]);
  });

  const labels = { env: "prod", tier: "web" };
  test.each([
    ["env=prod", true],
    ["env==prod", true],
    ["env!=prod", false],
    ["env", true],
    ["!env", false],
    ["!constructor", true],
    ["env in (staging,prod)", true],
    ["env notin (staging,prod)", false],
    ["env=prod,tier=db", false],
    ["env=prod, tier in (web, api)", true],
  ])("selector %s matches %j: %s", (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });
});
