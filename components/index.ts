/**
 * The public face: the components and their Args, for this program's index.ts and for any other Pulumi
 * program that wants IPv6-only Hetzner hosts with containers delivered over SSH.
 */
export { AppImage } from "./appImage";
export type { AppImageArgs, ImageSource, Registry } from "./appImage";
export { AppJob, JOB_DEFAULTS } from "./appJob";
export type { AppJobArgs } from "./appJob";
export { CiSetup } from "./ciSetup";
export type { CiReviewers, CiSetupArgs } from "./ciSetup";
export { Delivery, DELIVERY_MODES } from "./delivery";
export type { DeliveryArgs, DeliveryMode } from "./delivery";
export { DeliveryFanOut } from "./deliveryFanOut";
export type { DeliveryFanOutArgs } from "./deliveryFanOut";
export { HetznerHost, HOST_DEFAULTS, HOST_REPLACEMENT_POLICIES } from "./hetznerHost";
export type { HetznerHostArgs, HostReplacementPolicy } from "./hetznerHost";
export type { HostConnection, HostTarget } from "./hostTarget";
export { HostVolume, VOLUME_SIZE_LIMITS } from "./hostVolume";
export type { HostVolumeArgs } from "./hostVolume";
export { LOAD_BALANCER_DEFAULTS, LoadBalancer, NETWORK_ZONES } from "./loadBalancer";
export type { LoadBalancerArgs, LoadBalancerHealthCheck } from "./loadBalancer";
export { PRIVATE_NETWORK_DEFAULTS, PrivateNetwork } from "./privateNetwork";
export type { PrivateNetworkArgs } from "./privateNetwork";
export { TLS_ISSUERS } from "./shell/caddy";
export type { ProxyTls, TlsIssuer } from "./shell/caddy";
export { ReleaseCommand, RELEASE_DEFAULTS } from "./releaseCommand";
export type { ReleaseCommandArgs } from "./releaseCommand";
export { RESTART_POLICIES, ROLLOUT_STRATEGIES, Service, SERVICE_DEFAULTS } from "./service";
export type { HealthCheck, RestartPolicy, RolloutStrategy, ServiceArgs, ServiceSettings } from "./service";
export type { VolumeMount } from "./shell/volumes";
