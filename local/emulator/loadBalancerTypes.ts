/**
 * The load balancer types of the catalog; figures as the real API lists them. Since 2026-06-05 each
 * carries a `deprecation` object (`announced`, `unavailable_after`) and the old `deprecated`
 * timestamp is itself deprecated (hcloud-go v2.46.0, #896); none of lb11, lb21, lb31 is deprecated
 * (lb11 is still what Hetzner's own tests use), so both are null. Checked 2026-12-01.
 */

export interface LoadBalancerType {
  id: number;
  name: string;
  maxConnections: number;
  maxServices: number;
  maxTargets: number;
  maxAssignedCertificates: number;
}

export const LOAD_BALANCER_TYPES: LoadBalancerType[] = [
  { id: 1, name: "lb11", maxConnections: 10000, maxServices: 5, maxTargets: 25, maxAssignedCertificates: 10 },
  {
    id: 2,
    name: "lb21",
    maxConnections: 20000,
    maxServices: 15,
    maxTargets: 75,
    maxAssignedCertificates: 25,
  },
  {
    id: 3,
    name: "lb31",
    maxConnections: 40000,
    maxServices: 30,
    maxTargets: 150,
    maxAssignedCertificates: 50,
  },
];

/** An ID (number or numeric string) or a name, like every reference the API accepts. */
export function findLoadBalancerType(ref: unknown): LoadBalancerType | undefined {
  return LOAD_BALANCER_TYPES.find((type) =>
    typeof ref === "number" ? type.id === ref : type.name === ref || String(type.id) === ref,
  );
}

export function renderLoadBalancerType(type: LoadBalancerType): Record<string, unknown> {
  return {
    id: type.id,
    name: type.name,
    description: type.name.toUpperCase(),
    max_connections: type.maxConnections,
    max_services: type.maxServices,
    max_targets: type.maxTargets,
    max_assigned_certificates: type.maxAssignedCertificates,
    deprecated: null,
    deprecation: null,
    prices: [],
  };
}
