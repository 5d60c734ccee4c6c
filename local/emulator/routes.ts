import { actionRoutes } from "./handlers/actions";
import { catalogRoutes } from "./handlers/catalog";
import { firewallRoutes } from "./handlers/firewalls";
import { primaryIpRoutes } from "./handlers/primaryIps";
import { serverActionRoutes } from "./handlers/serverActions";
import { serverRoutes } from "./handlers/servers";
import { sshKeyRoutes } from "./handlers/sshKeys";
import { Route } from "./router";

/** Every Hetzner endpoint the emulator answers, below the `/v1` prefix. */
export const API_ROUTES: Route[] = [
  ...sshKeyRoutes,
  ...primaryIpRoutes,
  ...firewallRoutes,
  ...serverRoutes,
  ...serverActionRoutes,
  ...catalogRoutes,
  ...actionRoutes,
];
