import { firstHostAddress, formatIpv6, parseIpv6, parseIpv6Pool } from "../../../../local/emulator/ipv6";

describe("IPv6 text", () => {
  // Expected values are what Go's net.IP.String() prints, which the provider compares against.
  test.each([
    ["fd5e:0:0:1:0:0:0:0", "fd5e:0:0:1::"],
    ["fd5e:0000:0000:0000:0000:0000:0000:0000", "fd5e::"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["FD5E:ABCD::", "fd5e:abcd::"],
  ])("%s formats as %s", (input, expected) => {
    expect(formatIpv6(parseIpv6(input) as bigint)).toBe(expected);
  });

  test.each(["1.2.3.4", "::ffff:1.2.3.4", "fd5e::g", ""])("%s is not parsed as hex-group IPv6", (input) => {
    expect(parseIpv6(input)).toBeUndefined();
  });
});

describe("IPv6 pool", () => {
  test.each([
    ["fd5e::/32", 1, "fd5e:0:0:1::/64"],
    ["fd5e::/32", 65536, "fd5e:0:1::/64"],
    ["fd00:1234:5678::/48", 3, "fd00:1234:5678:3::/64"],
    ["fd00::/64", 0, "fd00::/64"],
  ])("%s network %d is %s", (pool, index, network) => {
    expect(parseIpv6Pool(pool).network(index)).toBe(network);
  });

  test("the host address is <network>::1, as the provider derives ipv6_address", () => {
    expect(firstHostAddress("fd5e:0:0:7::/64")).toBe("fd5e:0:0:7::1");
  });

  test.each([
    ["fd5e::", "is not an IPv6 CIDR"],
    ["10.0.0.0/8", "is not an IPv6 CIDR"],
    ["fd5e::/96", "must be /64 or larger"],
    ["fd5e::1/32", "has host bits set"],
  ])("pool %s is refused: %s", (pool, message) => {
    expect(() => parseIpv6Pool(pool)).toThrow(message);
  });

  test("a network past the pool's end is refused", () => {
    expect(() => parseIpv6Pool("fd00::/63").network(2)).toThrow("has no network number 2");
  });
});
