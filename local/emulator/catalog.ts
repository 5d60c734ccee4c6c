/**
 * The fixed part of the cloud: locations, server types and images, as GET /v1/locations,
 * /v1/server_types and /v1/images answer them today. Names, families, architectures, per-location
 * availability and deprecations follow the real API; IDs and figures resemble the real ones.
 *
 * Checked 2026-12-01 against:
 * - the Hetzner Cloud OpenAPI document (docs.hetzner.cloud, copied by api-evangelist/hetzner
 *   `openapi/_original/hetzner-openapi.yml`, snapshot 2026-08-22): ServerType and its `locations[]`
 *   (`id`, `name`, `deprecation`, `available`, `recommended`), the top-level `deprecation` itself
 *   deprecated, no `included_traffic` on the type any more; the error table (`invalid_input` 422,
 *   `resource_unavailable` 412, `deprecated_api_endpoint` 410);
 * - hcloud-go v2.44.0 `hcloud/schema/server_type.go`, `location.go`, `image.go`, `error.go`,
 *   `hcloud/exp/deprecationutil/server_type.go` (what the provider checks before a create), and
 *   v2.46.0 (#896, deprecation on load balancer types) and the v2.44.0/v2.45.0 changelog (datacenters);
 * - terraform-provider-hcloud v1.66.1 `internal/server/resource.go` (lookups before POST /servers);
 * - Hetzner changelog "2025-10-16 server types deprecated" (cx22–cx52, cpx11–cpx51, as cited by
 *   pulumi/pulumi-hcloud #939, apricote/hcloud-upload-image #129) and a GET /v1/server_types answer of
 *   2026-08-22 quoted in elsbrock/hetzner-radar #291 (shared/hcloud-api-notes.md section 11);
 * - figures: cx23–cx53 from the notes (section 11); cpx12–cpx62 vCPU/RAM from the Hetzner price list
 *   quoted in robhunter/agentdeals #1286 (2026-09-03) and rejourney's node table (CPX52 12 vCPU /
 *   24 GB); the cpx22 disk (80 GB) from the OpenAPI example, the other cpx12–cpx62 disks are
 *   *unconfirmed*; cpx11–cpx51, ccx13–ccx63, cax11–cax41 from a live listing quoted in
 *   OpenRouterLabs/spawn #786 (2026-02-13);
 * - `category`: `cost_optimized` (cx, cax) and `regular_purpose` (cpx) from several API clients'
 *   fixtures; `general_purpose` for ccx from one client's list of the panel's categories (*unconfirmed*).
 * IDs of the 2025 families (cx23–cx53, cpx12–cpx62) are *unconfirmed*; the older ones are the real ones.
 */

import { DeprecationMark, SoldOutMark } from "./state";

export interface Location {
  id: number;
  name: string;
  description: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  network_zone: string;
}

/** All six locations; three network zones besides eu-central, so zone rules can be tried. */
export const LOCATIONS: Location[] = [
  {
    id: 1,
    name: "fsn1",
    description: "Falkenstein DC Park 1",
    country: "DE",
    city: "Falkenstein",
    latitude: 50.47612,
    longitude: 12.370071,
    network_zone: "eu-central",
  },
  {
    id: 2,
    name: "nbg1",
    description: "Nuremberg DC Park 1",
    country: "DE",
    city: "Nuremberg",
    latitude: 49.452102,
    longitude: 11.076665,
    network_zone: "eu-central",
  },
  {
    id: 3,
    name: "hel1",
    description: "Helsinki DC Park 1",
    country: "FI",
    city: "Helsinki",
    latitude: 60.169855,
    longitude: 24.938379,
    network_zone: "eu-central",
  },
  {
    id: 4,
    name: "ash",
    description: "Ashburn, VA",
    country: "US",
    city: "Ashburn, VA",
    latitude: 39.045821,
    longitude: -77.487073,
    network_zone: "us-east",
  },
  {
    id: 5,
    name: "hil",
    description: "Hillsboro, OR",
    country: "US",
    city: "Hillsboro, OR",
    latitude: 45.54222,
    longitude: -122.951924,
    network_zone: "us-west",
  },
  {
    id: 6,
    name: "sin",
    description: "Singapore",
    country: "SG",
    city: "Singapore",
    latitude: 1.283333,
    longitude: 103.833333,
    network_zone: "ap-southeast",
  },
];

export type Architecture = "x86" | "arm";

/** A `deprecation` object as the API renders it. */
export interface Deprecation {
  announced: string;
  unavailable_after: string;
}

/** One entry of a server type's `locations[]`: where it is offered, and whether deprecated there. */
export interface ServerTypeOffer {
  location: string;
  deprecation: Deprecation | null;
}

export interface ServerType {
  id: number;
  name: string;
  category: "cost_optimized" | "regular_purpose" | "general_purpose";
  cores: number;
  memory: number;
  disk: number;
  cpuType: "shared" | "dedicated";
  architecture: Architecture;
  /** Listed locations only: a type is not orderable anywhere else ("unsupported location"). */
  offers: ServerTypeOffer[];
}

const EU = ["fsn1", "nbg1", "hel1"];
const US = ["ash", "hil"];

/** cpx11–cpx51: deprecated 2025-10-16 in the EU locations and sin; still sold in ash and hil. */
export const CPX_GEN1_DEPRECATION: Deprecation = {
  announced: "2025-10-16T06:00:00Z",
  unavailable_after: "2025-12-31T23:59:59Z",
};

function offers(locations: string[], deprecatedIn: string[] = []): ServerTypeOffer[] {
  return locations.map((location) => ({
    location,
    deprecation: deprecatedIn.includes(location) ? CPX_GEN1_DEPRECATION : null,
  }));
}

type Figures = Pick<ServerType, "id" | "name" | "cores" | "memory" | "disk">;

function family(
  common: Omit<ServerType, keyof Figures>,
  members: [number, string, number, number, number][],
): ServerType[] {
  return members.map(([id, name, cores, memory, disk]) => ({ id, name, cores, memory, disk, ...common }));
}

/**
 * The 25 types GET /v1/server_types lists. cx22, cx32, cx42 and cx52 are gone from the API
 * (unavailable_after 2025-12-31 in every location), so they are not here at all.
 */
export const SERVER_TYPES: ServerType[] = [
  ...family({ category: "cost_optimized", cpuType: "shared", architecture: "x86", offers: offers(EU) }, [
    [108, "cx23", 2, 4, 40],
    [109, "cx33", 4, 8, 80],
    [110, "cx43", 8, 16, 160],
    [111, "cx53", 16, 32, 320],
  ]),
  ...family({ category: "cost_optimized", cpuType: "shared", architecture: "arm", offers: offers(EU) }, [
    [45, "cax11", 2, 4, 40],
    [93, "cax21", 4, 8, 80],
    [94, "cax31", 8, 16, 160],
    [95, "cax41", 16, 32, 320],
  ]),
  ...family(
    {
      category: "regular_purpose",
      cpuType: "shared",
      architecture: "x86",
      offers: offers([...EU, ...US, "sin"], [...EU, "sin"]),
    },
    [
      [22, "cpx11", 2, 2, 40],
      [23, "cpx21", 3, 4, 80],
      [24, "cpx31", 4, 8, 160],
      [25, "cpx41", 8, 16, 240],
      [26, "cpx51", 16, 32, 360],
    ],
  ),
  ...family(
    { category: "regular_purpose", cpuType: "shared", architecture: "x86", offers: offers([...EU, "sin"]) },
    [
      [112, "cpx12", 1, 2, 40],
      [113, "cpx22", 2, 4, 80],
      [114, "cpx32", 4, 8, 160],
      [115, "cpx42", 8, 16, 320],
      [116, "cpx52", 12, 24, 480],
      [117, "cpx62", 16, 32, 640],
    ],
  ),
  ...family(
    {
      category: "general_purpose",
      cpuType: "dedicated",
      architecture: "x86",
      offers: offers([...EU, ...US, "sin"]),
    },
    [
      [96, "ccx13", 2, 8, 80],
      [97, "ccx23", 4, 16, 160],
      [98, "ccx33", 8, 32, 240],
      [99, "ccx43", 16, 64, 360],
      [100, "ccx53", 32, 128, 600],
      [101, "ccx63", 48, 192, 960],
    ],
  ),
];

/** cx22–cx52: deprecated on 2025-10-16 in every location they were sold in, gone from the API since. */
export const CX_GEN2_DEPRECATION: Deprecation = {
  announced: "2025-10-16T06:00:00Z",
  unavailable_after: "2025-12-31T23:59:59Z",
};

/**
 * Types Hetzner no longer lists: a server created with one keeps rendering it, and a deprecation mark with
 * a date ahead lists it again (what the API answered before 2025-12-31), so an upgrade can be tried from a
 * stack created with them.
 */
export const WITHDRAWN_SERVER_TYPES: ServerType[] = family(
  {
    category: "cost_optimized",
    cpuType: "shared",
    architecture: "x86",
    offers: EU.map((location) => ({ location, deprecation: CX_GEN2_DEPRECATION })),
  },
  [
    [104, "cx22", 2, 4, 40],
    [105, "cx32", 4, 8, 80],
    [106, "cx42", 8, 16, 160],
    [107, "cx52", 16, 32, 320],
  ],
);

function withMarks(type: ServerType, marks: readonly DeprecationMark[]): ServerType {
  const markFor = (location: string) =>
    marks.find((mark) => mark.serverType === type.name && mark.location === location);
  return {
    ...type,
    offers: type.offers.map((offer) => {
      const mark = markFor(offer.location);
      return mark ? { ...offer, deprecation: mark.deprecation } : offer;
    }),
  };
}

/** What GET /server_types lists now: the catalog with the marks applied. */
export function listedServerTypes(marks: readonly DeprecationMark[] = [], now = new Date()): ServerType[] {
  const orderableSomewhere = (type: ServerType) =>
    type.offers.some((offer) => !offer.deprecation || now <= new Date(offer.deprecation.unavailable_after));
  return [
    ...SERVER_TYPES.map((type) => withMarks(type, marks)),
    ...WITHDRAWN_SERVER_TYPES.map((type) => withMarks(type, marks)).filter(orderableSomewhere),
  ];
}

export interface Image {
  id: number;
  name: string;
  description: string;
  osFlavor: string;
  osVersion: string;
  architecture: Architecture;
  created: string;
}

function image(
  ids: [number, number],
  name: string,
  description: string,
  osFlavor: string,
  osVersion: string,
  created: string,
): Image[] {
  return (["x86", "arm"] as const).map((architecture, i) => ({
    id: ids[i],
    name,
    description,
    osFlavor,
    osVersion,
    architecture,
    created,
  }));
}

/** Each system image once per architecture, as on the real API, so lookups must filter by architecture. */
export const IMAGES: Image[] = [
  ...image([5012, 5013], "debian-12", "Debian 12", "debian", "12", "2023-06-13T06:00:00Z"),
  ...image([5014, 5015], "debian-13", "Debian 13", "debian", "13", "2025-08-12T06:00:00Z"),
  ...image([6024, 6025], "ubuntu-24.04", "Ubuntu 24.04", "ubuntu", "24.04", "2024-04-25T06:00:00Z"),
];

/** Accepts what the API accepts for a reference: an ID (number or numeric string) or a name. */
function byIdOrName<T extends { id: number; name: string }>(items: T[], ref: unknown): T | undefined {
  return items.find((item) =>
    typeof ref === "number" ? item.id === ref : item.name === ref || String(item.id) === ref,
  );
}

export function findLocation(ref: unknown): Location | undefined {
  return byIdOrName(LOCATIONS, ref);
}

/** A type the API lists now (`marks`: the state's deprecation marks). */
export function findServerType(ref: unknown, marks: readonly DeprecationMark[] = []): ServerType | undefined {
  return byIdOrName(listedServerTypes(marks), ref);
}

/** Any type a server may have, withdrawn ones too: a server keeps its type after Hetzner stops selling it. */
export function findAnyServerType(
  ref: unknown,
  marks: readonly DeprecationMark[] = [],
): ServerType | undefined {
  return findServerType(ref, marks) ?? byIdOrName(WITHDRAWN_SERVER_TYPES, ref);
}

export function findImage(ref: unknown, architecture: Architecture): Image | undefined {
  return byIdOrName(
    IMAGES.filter((image) => image.architecture === architecture),
    ref,
  );
}

export function findImageById(id: number): Image | undefined {
  return IMAGES.find((image) => image.id === id);
}

/**
 * Whether a type can be ordered in a location: `unsupported` when the location is not listed for it
 * or its deprecation there has passed `unavailable_after` (the API then answers invalid_input
 * "unsupported location for server type"); `sold_out` when it is listed but marked sold out
 * (StateStore.markSoldOut; the API answers 412 resource_unavailable).
 */
export type Orderability = "orderable" | "unsupported" | "sold_out";

export function orderability(
  type: ServerType,
  locationName: string,
  soldOut: readonly SoldOutMark[],
  now: Date = new Date(),
): Orderability {
  const offer = type.offers.find((candidate) => candidate.location === locationName);
  if (!offer) return "unsupported";
  if (offer.deprecation && now > new Date(offer.deprecation.unavailable_after)) return "unsupported";
  const marked = soldOut.some((mark) => mark.serverType === type.name && mark.location === locationName);
  return marked ? "sold_out" : "orderable";
}

export function renderLocation(location: Location): Record<string, unknown> {
  return { ...location };
}

/**
 * A ServerType as the API renders it. `available` is false where the type's deprecation has passed or
 * where it is sold out; `recommended` only where it is available and not deprecated. The top-level
 * `deprecation` is null (and `deprecated` false) for every listed type: each is still sold somewhere,
 * and the provider refuses a type whose top-level deprecation has passed in every location.
 */
export function renderServerType(type: ServerType, soldOut: readonly SoldOutMark[]): Record<string, unknown> {
  return {
    id: type.id,
    name: type.name,
    description: type.name.toUpperCase(),
    category: type.category,
    cores: type.cores,
    memory: type.memory,
    disk: type.disk,
    storage_type: "local",
    cpu_type: type.cpuType,
    architecture: type.architecture,
    prices: [],
    deprecated: false,
    deprecation: null,
    locations: type.offers.map((offer) => {
      const location = findLocation(offer.location) as Location;
      const available = orderability(type, offer.location, soldOut) === "orderable";
      return {
        id: location.id,
        name: location.name,
        deprecation: offer.deprecation,
        available,
        recommended: available && offer.deprecation === null,
      };
    }),
  };
}

export function renderImage(image: Image): Record<string, unknown> {
  return {
    id: image.id,
    type: "system",
    status: "available",
    name: image.name,
    description: image.description,
    image_size: null,
    disk_size: 5,
    created: image.created,
    created_from: null,
    bound_to: null,
    os_flavor: image.osFlavor,
    os_version: image.osVersion,
    architecture: image.architecture,
    rapid_deploy: true,
    protection: { delete: false },
    // Old timestamp field (the provider aborts a create when it is older than 3 months) and the
    // newer object (2026-09-08); neither of these images is deprecated.
    deprecated: null,
    deprecation: null,
    deleted: null,
    labels: {},
  };
}
