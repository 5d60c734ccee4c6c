import { actionRoutes } from "./handlers/actions";
import { attachmentRoutes } from "./handlers/attachments";
import { catalogRoutes } from "./handlers/catalog";
import { certificateRoutes } from "./handlers/certificates";
import { firewallRoutes } from "./handlers/firewalls";
import { loadBalancerActionRoutes } from "./handlers/loadBalancerActions";
import { loadBalancerRoutes } from "./handlers/loadBalancers";
import { networkRoutes } from "./handlers/networks";
import { primaryIpRoutes } from "./handlers/primaryIps";
import { serverActionRoutes } from "./handlers/serverActions";
import { serverRoutes } from "./handlers/servers";
import { sshKeyRoutes } from "./handlers/sshKeys";
import { volumeActionRoutes } from "./handlers/volumeActions";
import { volumeRoutes } from "./handlers/volumes";
import { Route } from "./router";

/** Every Hetzner endpoint the emulator answers, below the `/v1` prefix. */
export const API_ROUTES: Route[] = [
  ...sshKeyRoutes,
  ...primaryIpRoutes,
  ...firewallRoutes,
  ...serverRoutes,
  ...serverActionRoutes,
  ...networkRoutes,
  ...attachmentRoutes,
  ...loadBalancerRoutes,
  ...loadBalancerActionRoutes,
  ...certificateRoutes,
  ...volumeRoutes,
  ...volumeActionRoutes,
  ...catalogRoutes,
  ...actionRoutes,
];
