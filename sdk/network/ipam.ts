import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";

/** An IPv4 subnet with what the components need to hand out addresses in it. */
export interface Subnet {
  readonly cidr: string;
  readonly prefixLength: number;
  readonly network: number;
  readonly broadcast: number;
}

function toNumber(address: ipaddr.IPv4): number {
  return address.toByteArray().reduce((n, byte) => n * 256 + byte, 0);
}

export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Parses "10.0.3.0/24"; throws a message fit for a user when it is not an IPv4 network of /30 or larger. */
export function parseSubnet(cidr: string): Subnet {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`subnet "${cidr}" is not a CIDR such as 10.0.3.0/24`);
  }
  const [address, prefixLength] = parsed;
  if (address.kind() !== "ipv4") throw new Error(`subnet ${cidr}: only IPv4 bridge networks are supported`);
  if (prefixLength > 30) throw new Error(`subnet ${cidr} is too small: a bridge network needs at least a /30`);
  const network = toNumber(ipaddr.IPv4.networkAddressFromCIDR(cidr));
  if (network !== toNumber(address as ipaddr.IPv4)) throw new Error(`subnet ${cidr} has host bits set; the network is ${toAddress(network)}/${prefixLength}`);
  return { cidr, prefixLength, network, broadcast: network + 2 ** (32 - prefixLength) - 1 };
}

/** Whether `address` is a usable host address of the subnet (not its network or broadcast address). */
export function isHostAddress(subnet: Subnet, address: string): boolean {
  if (!ipaddr.IPv4.isValidFourPartDecimal(address)) return false;
  const n = toNumber(ipaddr.IPv4.parse(address));
  return n > subnet.network && n < subnet.broadcast;
}

/** The gateway a network gets unless one is given: its first host address. */
export function firstHost(subnet: Subnet): string {
  return toAddress(subnet.network + 1);
}

/**
 * Hands out addresses of one subnet to named members. An automatic address depends only on
 * the member's name and on the addresses already taken: it starts at a position hashed from
 * the name and takes the next free host address, so adding or removing other members rarely
 * moves it. Explicit addresses must be free and inside the subnet.
 */
export class AddressPool {
  private readonly taken = new Map<string, string>(); // address -> member

  constructor(
    readonly subnet: Subnet,
    reserved: Record<string, string>,
  ) {
    for (const [address, who] of Object.entries(reserved)) this.taken.set(address, who);
  }

  /** Takes `address` for `member`; throws naming the member that has it already. */
  claim(member: string, address: string): string {
    if (!isHostAddress(this.subnet, address)) {
      throw new Error(`address ${address} of ${member} is not a host address of ${this.subnet.cidr} (outside it, or its network or broadcast address)`);
    }
    const owner = this.taken.get(address);
    if (owner !== undefined) throw new Error(`address ${address} of ${member} is already taken by ${owner} on ${this.subnet.cidr}`);
    this.taken.set(address, member);
    return address;
  }

  /** A free address for `member`, the same one every run for the same set of members. */
  allocate(member: string): string {
    const size = this.subnet.broadcast - this.subnet.network - 1;
    const start = createHash("sha256").update(member).digest().readUInt32BE(0) % size;
    for (let i = 0; i < size; i++) {
      const candidate = toAddress(this.subnet.network + 1 + ((start + i) % size));
      if (!this.taken.has(candidate)) return this.claim(member, candidate);
    }
    throw new Error(`no free address left on ${this.subnet.cidr} for ${member}`);
  }
}
