import type { Runner } from "../exec";
import { firewall, type Netns } from "../kernel";
import type { BackendName } from "./firewall";
import { backendFor } from "./firewall";

/**
 * A network's rules in Docker's DOCKER-USER chain, for a host where Docker runs: Docker sets
 * iptables' `filter FORWARD` policy to DROP, which drops our networks' forwarded traffic
 * whatever our own table accepts (a packet must pass every base chain of the hook). As LXD
 * documents for its bridges, and as Docker documents for a host that routes: accept the
 * network's traffic in DOCKER-USER, which Docker jumps to first and never writes to.
 *
 * Part of the network's protection must hold before these accepts:
 * - nftables: our `isolation` chain is an nft base chain at priority filter - 10, so its drops
 *   (isolation, NAT gateway mode) come first and are final; the accepts only get the rest past
 *   iptables.
 * - iptables: Docker keeps its jumps at the top of FORWARD (it re-inserts them at restart),
 *   above our HOSTNET-ISOLATION; so the network's DOCKER-USER rules first jump to
 *   HOSTNET-ISOLATION (which only drops or returns), then accept.
 * Into the network only replies, published ports (DNAT) and, in routed mode, what our
 * isolation let through; out of it, everything (as Docker's `-i br -j ACCEPT`).
 */
export function dockerUserRules(bridge: string, nat: boolean, backend: BackendName): firewall.FirewallRule[] {
  const accept = { kind: "accept" } as const;
  const toIsolation = { kind: "jump", chain: "isolation" } as const;
  return [
    ...(backend === "iptables"
      ? [
          { chain: "docker_user", match: { outInterface: bridge }, action: toIsolation } as const,
          { chain: "docker_user", match: { inInterface: bridge }, action: toIsolation } as const,
        ]
      : []),
    { chain: "docker_user", match: { outInterface: bridge, established: true }, action: accept },
    { chain: "docker_user", match: nat ? { outInterface: bridge, dnatted: true } : { outInterface: bridge }, action: accept },
    { chain: "docker_user", match: { inInterface: bridge }, action: accept },
  ];
}

export interface DockerUserPlan {
  /** What goes into DOCKER-USER (undefined: no Docker here, nothing). */
  readonly dockerUser?: { readonly backend: BackendName; readonly rules: string[] };
  /** Why the network cannot work on this host as it stands. */
  readonly issue?: string;
}

interface PlanInputs {
  readonly bridge: string;
  readonly gatewayMode?: "nat" | "routed";
  readonly family?: firewall.IpFamily;
  readonly firewallBackend: firewall.BackendChoice;
  readonly tag: string;
}

/**
 * For check: Docker's chain there means rules in it (shown at preview as iptables argv); no
 * Docker, but a FORWARD policy of DROP (firewalld's iptables backend, an administrator) with
 * the nftables backend: refused, since our accepts cannot pass that policy and we add nothing
 * to a filter table that is not Docker's extension point. The iptables backend's own FORWARD
 * accepts pass it. A host that cannot be read yet (a namespace made by this program) is
 * judged at the next preview.
 */
export async function dockerHostIssue(runner: Runner, where: Netns, i: PlanInputs): Promise<DockerUserPlan> {
  const family = i.family ?? "ipv4";
  let lines: string[] | undefined;
  try {
    lines = await firewall.dockerUserLines(runner, where, family);
  } catch {
    return {};
  }
  const backend = (await backendFor(runner, i.firewallBackend)).name;
  if (lines !== undefined) {
    const rules = dockerUserRules(i.bridge, i.gatewayMode === "nat", backend).map((r) => ["-I", firewall.DOCKER_USER, ...firewall.iptablesRuleArgs(family, r, i.tag)].join(" "));
    return { dockerUser: { backend, rules } };
  }
  if (backend === "nftables" && (await firewall.forwardPolicy(runner, where, family)) === "DROP") {
    const tool = family === "ipv4" ? "iptables" : "ip6tables";
    return {
      issue: `the ${tool} filter FORWARD policy is DROP on this host and there is no DOCKER-USER chain (no Docker): the forwarded traffic of bridge ${i.bridge} would be dropped there whatever our nftables rules accept. Use firewallBackend: "iptables" (our accepts then go into FORWARD through our own chain), or accept the bridge's traffic in FORWARD yourself`,
    };
  }
  return {};
}
