import { recordAction, renderAction } from "../actions";
import { optionalBoolean, optionalId } from "../body";
import { invalidInput, sizeDowngrade, sizeTooSmall, volumeAlreadyAttached } from "../errors";
import { requireVolume } from "../lookups";
import { RequestContext, Reply, Route, idParam } from "../router";
import { ActionRecord, VolumeRecord } from "../state";
import { assertSameLocation, attachableServer, readVolumeSize } from "../volumeChecks";
import { attachVolume, detachVolume, resizeVolume } from "../volumeLifecycle";

type Effect = (volume: VolumeRecord, context: RequestContext) => Promise<ActionRecord> | ActionRecord;

/** `POST /volumes/{id}/actions/<name>` → 201 `{"action": …}`, finished like every action here. */
function volumeAction(name: string, effect: Effect): Route {
  return {
    method: "POST",
    pattern: `/volumes/:id/actions/${name}`,
    handler: async (context): Promise<Reply> => {
      const volume = requireVolume(context.store.state, idParam(context));
      const action = await effect(volume, context);
      return { status: 201, body: { action: renderAction(action) } };
    },
  };
}

/** `automount` is accepted and not acted on: the simulated host does not mount the volume by itself. */
const attach: Effect = (volume, { body, store, hosts }) => {
  const serverId = optionalId(body, "server");
  if (serverId === undefined) throw invalidInput("server", "is required");
  optionalBoolean(body, "automount");
  const server = attachableServer(store.state, serverId, "server");
  // Also when it is attached to that same server already: the provider reads before it attaches.
  if (volume.serverId !== null) throw volumeAlreadyAttached(volume.id, volume.serverId);
  assertSameLocation(volume, server);
  return attachVolume(store, hosts, volume, server);
};

const detach: Effect = (volume, { store, hosts }) => detachVolume(store, hosts, volume);

/** Smaller and equal sizes are refused first, with the API's own words; then the upper bound. */
const resize: Effect = (volume, { body, store, hosts }) => {
  const size = body.size;
  if (typeof size === "number" && size < volume.size) throw sizeDowngrade();
  if (size === volume.size) throw sizeTooSmall();
  return resizeVolume(store, hosts, volume, readVolumeSize(body));
};

const changeProtection: Effect = (volume, { body, store }) => {
  const protect = optionalBoolean(body, "delete");
  if (protect === undefined) throw invalidInput("delete", "is required");
  volume.deleteProtection = protect;
  return recordAction(store, "change_protection", [{ id: volume.id, type: "volume" }]);
};

export const volumeActionRoutes: Route[] = [
  volumeAction("attach", attach),
  volumeAction("detach", detach),
  volumeAction("resize", resize),
  volumeAction("change_protection", changeProtection),
];
