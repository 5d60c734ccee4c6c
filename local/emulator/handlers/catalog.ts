import {
  IMAGES,
  LOCATIONS,
  listedServerTypes,
  findImageById,
  findLocation,
  findServerType,
  renderImage,
  renderLocation,
  renderServerType,
} from "../catalog";
import { ApiError, notFound } from "../errors";
import { listBody } from "../listing";
import { LOAD_BALANCER_TYPES, findLoadBalancerType, renderLoadBalancerType } from "../loadBalancerTypes";
import { Route, idParam } from "../router";

/**
 * GET /datacenters and /datacenters/{id} answer 410 Gone since 2026-10-01 (hcloud-go v2.44.0
 * changelog). The code and the `details.announcement` shape are hcloud-go's
 * (ErrorDetailsDeprecatedAPIEndpoint); the message wording is this emulator's.
 */
function datacentersGone(): never {
  throw new ApiError(410, "deprecated_api_endpoint", "the datacenters endpoints were removed on 2026-10-01", {
    announcement: "https://docs.hetzner.cloud/changelog#2026-06-02-datacenters-deprecated",
  });
}

/** Read-only lookups: the provider resolves server type and image (by architecture) before a create. */
export const catalogRoutes: Route[] = [
  { method: "GET", pattern: "/datacenters", handler: datacentersGone },
  { method: "GET", pattern: "/datacenters/:id", handler: datacentersGone },
  {
    method: "GET",
    pattern: "/server_types",
    handler: ({ query, store }) => ({
      status: 200,
      body: listBody(
        "server_types",
        listedServerTypes(store.state.deprecationMarks).map((type) =>
          renderServerType(type, store.state.soldOut),
        ),
        query,
      ),
    }),
  },
  {
    method: "GET",
    pattern: "/server_types/:id",
    handler: (context) => {
      const type = findServerType(idParam(context), context.store.state.deprecationMarks);
      if (!type) throw notFound("server type", context.params.id);
      return { status: 200, body: { server_type: renderServerType(type, context.store.state.soldOut) } };
    },
  },
  {
    method: "GET",
    pattern: "/images",
    handler: ({ query }) => {
      // include_deprecated is accepted and has nothing to do: no image here is deprecated.
      const architecture = query.get("architecture");
      const type = query.get("type");
      const images = IMAGES.filter(
        (image) =>
          (architecture === null || image.architecture === architecture) &&
          (type === null || type === "system"),
      );
      return { status: 200, body: listBody("images", images.map(renderImage), query) };
    },
  },
  {
    method: "GET",
    pattern: "/images/:id",
    handler: (context) => {
      const image = findImageById(idParam(context));
      if (!image) throw notFound("image", context.params.id);
      return { status: 200, body: { image: renderImage(image) } };
    },
  },
  {
    method: "GET",
    pattern: "/locations",
    handler: ({ query }) => ({
      status: 200,
      body: listBody("locations", LOCATIONS.map(renderLocation), query),
    }),
  },
  {
    method: "GET",
    pattern: "/locations/:id",
    handler: (context) => {
      const location = findLocation(idParam(context));
      if (!location) throw notFound("location", context.params.id);
      return { status: 200, body: { location: renderLocation(location) } };
    },
  },
  {
    method: "GET",
    pattern: "/load_balancer_types",
    handler: ({ query }) => ({
      status: 200,
      body: listBody("load_balancer_types", LOAD_BALANCER_TYPES.map(renderLoadBalancerType), query),
    }),
  },
  {
    method: "GET",
    pattern: "/load_balancer_types/:id",
    handler: (context) => {
      const type = findLoadBalancerType(idParam(context));
      if (!type) throw notFound("load balancer type", context.params.id);
      return { status: 200, body: { load_balancer_type: renderLoadBalancerType(type) } };
    },
  },
];
