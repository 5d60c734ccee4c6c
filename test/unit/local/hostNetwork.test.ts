import { linkAddressOf } from "../../../local/hostNetwork";

describe("linkAddressOf", () => {
  test("a locally administered unicast MAC, the same for the same namespace", () => {
    const mac = linkAddressOf("hcd-web-1");
    expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(linkAddressOf("hcd-web-1")).toBe(mac);
  });

  test("another namespace gets another one", () => {
    expect(linkAddressOf("hcd-web-2")).not.toBe(linkAddressOf("hcd-web-1"));
  });
});
