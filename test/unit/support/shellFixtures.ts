import { hostTagOf } from "../../../components/shell/prelude";
import type { ServiceSpec } from "../../../components/shell/service";

/** The image and service the shell builders' tests build scripts for. */
export const ref = `ghcr.io/example-org/web@sha256:${"c".repeat(64)}`;
export const hostTag = hostTagOf("web", ref);
export const image = { app: "web", hostName: "web-1", hostTag };

export const spec: ServiceSpec = {
  app: "web",
  hostName: "web-1",
  image: hostTag,
  port: 8080,
  hostPort: 80,
  domains: [],
  drainSeconds: 30,
  memory: "256m",
  cpus: 1,
  restart: "unless-stopped",
  health: { path: "/healthz", timeoutSeconds: 60, intervalSeconds: 2 },
  env: { MODE: "dev" },
  instance: "instance-a",
  keepImages: 3,
};
