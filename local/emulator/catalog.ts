/**
 * The fixed part of the cloud: locations, server types and images. IDs and figures resemble the real
 * ones; only what the provider reads has to be right (names, architecture, deprecation: null).
 */

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
  // Another network zone, so what may not cross zones (private networks, load balancers) can be tried.
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
];

export type Architecture = "x86" | "arm";

export interface ServerType {
  id: number;
  name: string;
  cores: number;
  memory: number;
  disk: number;
  cpuType: "shared" | "dedicated";
  architecture: Architecture;
  locationNames: string[];
}

const ALL_LOCATIONS = LOCATIONS.map((location) => location.name);

export const SERVER_TYPES: ServerType[] = [
  {
    id: 22,
    name: "cpx11",
    cores: 2,
    memory: 2,
    disk: 40,
    cpuType: "shared",
    architecture: "x86",
    locationNames: ALL_LOCATIONS,
  },
  {
    id: 104,
    name: "cx22",
    cores: 2,
    memory: 4,
    disk: 40,
    cpuType: "shared",
    architecture: "x86",
    locationNames: ALL_LOCATIONS,
  },
  {
    id: 105,
    name: "cx32",
    cores: 4,
    memory: 8,
    disk: 80,
    cpuType: "shared",
    architecture: "x86",
    locationNames: ALL_LOCATIONS,
  },
  {
    id: 45,
    name: "cax11",
    cores: 2,
    memory: 4,
    disk: 40,
    cpuType: "shared",
    architecture: "arm",
    locationNames: ALL_LOCATIONS,
  },
];

export interface Image {
  id: number;
  name: string;
  description: string;
  osFlavor: string;
  osVersion: string;
  architecture: Architecture;
  created: string;
}

/** One image per name and architecture, as on the real API, so lookups must filter by architecture. */
export const IMAGES: Image[] = [
  {
    id: 5012,
    name: "debian-12",
    description: "Debian 12",
    osFlavor: "debian",
    osVersion: "12",
    architecture: "x86",
    created: "2023-06-13T06:00:00Z",
  },
  {
    id: 5013,
    name: "debian-12",
    description: "Debian 12",
    osFlavor: "debian",
    osVersion: "12",
    architecture: "arm",
    created: "2023-06-13T06:00:00Z",
  },
  {
    id: 6024,
    name: "ubuntu-24.04",
    description: "Ubuntu 24.04",
    osFlavor: "ubuntu",
    osVersion: "24.04",
    architecture: "x86",
    created: "2024-04-25T06:00:00Z",
  },
  {
    id: 6025,
    name: "ubuntu-24.04",
    description: "Ubuntu 24.04",
    osFlavor: "ubuntu",
    osVersion: "24.04",
    architecture: "arm",
    created: "2024-04-25T06:00:00Z",
  },
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

export function findServerType(ref: unknown): ServerType | undefined {
  return byIdOrName(SERVER_TYPES, ref);
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

export function renderLocation(location: Location): Record<string, unknown> {
  return { ...location };
}

export function renderServerType(type: ServerType): Record<string, unknown> {
  return {
    id: type.id,
    name: type.name,
    description: type.name.toUpperCase(),
    category: "shared_vcpu",
    cores: type.cores,
    memory: type.memory,
    disk: type.disk,
    storage_type: "local",
    cpu_type: type.cpuType,
    architecture: type.architecture,
    included_traffic: 21990232555520,
    prices: [],
    deprecated: false,
    deprecation: null,
    locations: type.locationNames.map((name) => {
      const location = findLocation(name) as Location;
      return { id: location.id, name, deprecation: null, available: true, recommended: true };
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
    deprecated: null,
    deleted: null,
    labels: {},
  };
}
