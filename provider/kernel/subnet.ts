import ipaddr from "ipaddr.js";

/** Whether `address` lies inside network `cidr` (e.g. 10.0.3.2 in 10.0.3.0/24). */
export function inSubnetOf(address: string, cidr: string): boolean {
  const [net, len] = ipaddr.parseCIDR(cidr);
  const addr = ipaddr.parse(address);
  return addr.kind() === net.kind() && addr.match(net, len);
}
