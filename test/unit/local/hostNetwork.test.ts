import { linkAddressOf } from "../../../local/hostNetwork";
import { memberMacOf } from "../../../local/privateNetwork";

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

describe("a private network member's MAC follows its address", () => {
  test.each([
    ["10.100.0.3", "02:00:0a:64:00:03"],
    ["10.0.255.254", "02:00:0a:00:ff:fe"],
  ])("%s → %s: locally administered unicast, the same for whichever host takes the address", (ip, mac) => {
    expect(memberMacOf(ip)).toBe(mac);
  });
});
