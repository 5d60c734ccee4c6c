import { parseCli } from "../../../../local/emulator/cli";

describe("parseCli", () => {
  test("defaults", () => {
    expect(parseCli([])).toEqual({
      port: 4567,
      listen: "127.0.0.1",
      token: undefined,
      stateFile: undefined,
      hosts: "sim",
      ipv6Pool: "fd5e::/32",
      insecureRegistries: [],
    });
  });

  test("every flag", () => {
    const argv = [
      "--port",
      "0",
      "--listen",
      "::1",
      "--token",
      "t".repeat(64),
      "--state",
      "s.json",
      "--hosts",
      "none",
    ];
    argv.push(
      "--ipv6-pool",
      "fd00::/48",
      "--insecure-registry",
      "[fd00::1]:5000",
      "--insecure-registry",
      "r:5000",
    );
    expect(parseCli(argv)).toEqual({
      port: 0,
      listen: "::1",
      token: "t".repeat(64),
      stateFile: "s.json",
      hosts: "none",
      ipv6Pool: "fd00::/48",
      insecureRegistries: ["[fd00::1]:5000", "r:5000"],
    });
  });

  test.each([
    [["--port", "http"], '--port "http" is not a port number'],
    [["--port", "70000"], "is not a port number"],
    [["--token", "short"], "--token must be exactly 64 characters"],
    [["--hosts", "docker"], '--hosts must be "sim" or "none"'],
    [["--verbose"], "Unknown option '--verbose'"],
  ])("%j is refused: %s", (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
  });
});
