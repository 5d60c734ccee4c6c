import { renderAction } from "../actions";
import { Body, optionalBoolean, optionalId, optionalReference, optionalString } from "../body";
import { findLocation } from "../catalog";
import { automountWithoutFormat, invalidInput, protectedResource, volumeStillAttached } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { requireVolume } from "../lookups";
import { renderVolume } from "../render";
import { RequestContext, Route, idParam } from "../router";
import { EmulatorState, VolumeFormat, VolumeRecord } from "../state";
import { attachableServer, readVolumeName, readVolumeSize } from "../volumeChecks";
import { VolumeCreateRequest, createVolume, deleteVolume } from "../volumeLifecycle";

/**
 * /volumes as hcloud-go v2.44.0 calls it (`hcloud/volume.go`, `hcloud/schema/volume.go`) for
 * terraform-provider-hcloud's hcloud_volume and hcloud_volume_attachment (`internal/volume/`).
 */

function findVolume(context: RequestContext): VolumeRecord {
  return requireVolume(context.store.state, idParam(context));
}

function readFormat(body: Body): VolumeFormat | null {
  const format = optionalString(body, "format");
  if (format === undefined) return null;
  if (format !== "ext4" && format !== "xfs") throw invalidInput("format", 'must be "ext4" or "xfs"');
  return format;
}

/** hcloud-go sends exactly one of `server` and `location` (VolumeCreateOpts.Validate). */
function readCreateRequest(state: EmulatorState, body: Body): VolumeCreateRequest {
  const name = readVolumeName(state, body);
  if (name === undefined) throw invalidInput("name", "is required");
  const size = readVolumeSize(body);
  const serverId = optionalId(body, "server");
  const locationRef = optionalReference(body, "location");
  if ((serverId === undefined) === (locationRef === undefined)) {
    throw invalidInput("location", "exactly one of server and location is required");
  }
  const format = readFormat(body);
  const automount = optionalBoolean(body, "automount") ?? false;
  if (automount && serverId === undefined) throw invalidInput("automount", "needs server");
  if (automount && format === null) throw automountWithoutFormat();
  const labels = readLabels(body.labels);
  const server = serverId === undefined ? undefined : attachableServer(state, serverId, "server");
  const location = server ? findLocation(server.locationName) : findLocation(locationRef);
  if (!location) throw invalidInput("location", "unknown location");
  return { name, size, locationName: location.name, format, labels, server };
}

export const volumeRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/volumes",
    handler: ({ store, query }) => {
      const statuses = query.getAll("status");
      const volumes = store.state.volumes.filter(
        (volume) => statuses.length === 0 || statuses.includes(volume.status),
      );
      return { status: 200, body: listBody("volumes", volumes.map(renderVolume), query) };
    },
  },
  {
    method: "POST",
    pattern: "/volumes",
    handler: async (context) => {
      const request = readCreateRequest(context.store.state, context.body);
      const { volume, action, nextActions } = await createVolume(context.store, context.hosts, request);
      return {
        status: 201,
        body: {
          volume: renderVolume(volume),
          action: renderAction(action),
          next_actions: nextActions.map(renderAction),
        },
      };
    },
  },
  {
    method: "GET",
    pattern: "/volumes/:id",
    handler: (context) => ({ status: 200, body: { volume: renderVolume(findVolume(context)) } }),
  },
  {
    method: "PUT",
    pattern: "/volumes/:id",
    handler: (context) => {
      const volume = findVolume(context);
      // hcloud-go omits an empty name (`json:"name,omitempty"`) and sends labels only when set.
      const name = readVolumeName(context.store.state, context.body, volume.id);
      const labels = context.body.labels === undefined ? undefined : readLabels(context.body.labels);
      if (name) volume.name = name;
      if (labels !== undefined) volume.labels = labels;
      return { status: 200, body: { volume: renderVolume(volume) } };
    },
  },
  {
    method: "DELETE",
    pattern: "/volumes/:id",
    handler: async (context) => {
      const volume = findVolume(context);
      if (volume.deleteProtection) throw protectedResource("volume", volume.id);
      if (volume.serverId !== null) throw volumeStillAttached(volume.id);
      await deleteVolume(context.store, context.hosts, volume);
      return { status: 204 };
    },
  },
];
