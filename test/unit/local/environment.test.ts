import { describeEnv } from "../../../local/environment";

test("the environment's log line leaves out the registry password (the stack's pull token)", () => {
  const info = {
    pid: 1,
    hcloudEndpoint: "http://127.0.0.1:25487/v1",
    dockerHost: "unix:///x/docker.sock",
    registry: { host: "registry.hcd.test:5000", user: "local", password: "local-registry-password" },
  };
  const line = describeEnv(info);
  expect(line).not.toContain("local-registry-password");
  expect(JSON.parse(line)).toEqual({ ...info, registry: { ...info.registry, password: "(in env.json)" } });
});
