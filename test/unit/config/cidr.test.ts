import { parseCidr } from "../../../config/cidr";

describe("parseCidr", () => {
  test.each([
    ["::/0", 6, 0],
    ["2001:db8::/32", 6, 32],
    ["2001:db8:0:1::/64", 6, 64],
    ["2001:db8::1/128", 6, 128],
    ["::ffff:192.0.2.0/120", 6, 120],
    ["0.0.0.0/0", 4, 0],
    ["203.0.113.0/24", 4, 24],
  ])("accepts %s", (text, family, prefixLength) => {
    expect(parseCidr(text)).toEqual({ family, address: text.split("/")[0], prefixLength });
  });

  test.each([
    ["2001:db8::", "is not a CIDR"],
    ["2001:db8::/", "is not a CIDR"],
    ["2001:db8::/129", "prefix /129"],
    ["10.0.0.0/33", "prefix /33"],
    ["2001:db8::1/64", "has host bits set"],
    ["10.0.0.1/8", "has host bits set"],
    ["2001:db8:::/64", "is not an IP address"],
    ["example.com/24", "is not an IP address"],
  ])("rejects %s", (text, message) => {
    expect(() => parseCidr(text)).toThrow(message);
  });
});
