import { createHash } from "node:crypto";
import ipaddr from "ipaddr.js";

export type IpFamily = "ipv4" | "ipv6";

/** A subnet of either family with what the components need to hand out addresses in it. */
export interface Subnet {
  readonly cidr: string;
  readonly family: IpFamily;
  readonly prefixLength: number;
  /** The network address, as a number (BigInt: IPv6 needs 128 bits). */
  readonly network: bigint;
  /** The last address of the subnet (IPv4: its broadcast address). */
  readonly last: bigint;
}

/**
 * The longest IPv6 prefix a network takes: 256 addresses at least. Docker takes any, but a
 * pool hashed over a handful of addresses would collide at once; /64 is what SLAAC and most
 * users expect, and anything up to /120 works here.
 */
export const MAX_IPV6_PREFIX = 120;

const BITS: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 };

function toBig(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((n, byte) => n * 256n + BigInt(byte), 0n);
}

/** An IPv4 address from its 32-bit number. */
export function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

function bigToAddress(family: IpFamily, n: bigint): string {
  const bytes: number[] = [];
  for (let i = 0; i < BITS[family] / 8; i++) bytes.unshift(Number((n >> BigInt(8 * i)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** The address at `offset` from the subnet's network address (1: the first host). */
export function addressAt(subnet: Subnet, offset: number | bigint): string {
  return bigToAddress(subnet.family, subnet.network + BigInt(offset));
}

/**
 * Parses "10.0.3.0/24" or "fd00:1::/64"; throws a message fit for a user when it is not a
 * network of /30 or larger (IPv4), /MAX_IPV6_PREFIX or larger of unicast addresses (IPv6).
 */
export function parseSubnet(cidr: string): Subnet {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    if (!/^[0-9A-Fa-f:.]+\/\d{1,3}$/.test(cidr)) throw new Error("shape");
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`subnet "${cidr}" is not a CIDR such as 10.0.3.0/24 or fd00:3::/64`);
  }
  const [address, prefixLength] = parsed;
  const family = address.kind();
  if (family === "ipv4" && prefixLength > 30) throw new Error(`subnet ${cidr} is too small: a bridge network needs at least a /30`);
  if (family === "ipv6") {
    if (prefixLength > MAX_IPV6_PREFIX) throw new Error(`subnet ${cidr} is too small: an IPv6 network needs at least a /${MAX_IPV6_PREFIX} (256 addresses; /64 is usual)`);
    const range = (address as ipaddr.IPv6).range();
    if (["unspecified", "linkLocal", "multicast", "loopback", "ipv4Mapped"].includes(range)) {
      throw new Error(`subnet ${cidr} is ${range}, not a unicast network a bridge can route (e.g. fd00:3::/64, a unique local one)`);
    }
  }
  const networkAddress = family === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const network = toBig(networkAddress);
  if (network !== toBig(address)) throw new Error(`subnet ${cidr} has host bits set; the network is ${networkAddress.toString()}/${prefixLength}`);
  return { cidr, family, prefixLength, network, last: network + (1n << BigInt(BITS[family] - prefixLength)) - 1n };
}

/** The subnet as the kernel prints it (IPv6 compressed): "fd00:3::/64". */
export function canonicalCidr(subnet: Subnet): string {
  return `${addressAt(subnet, 0)}/${subnet.prefixLength}`;
}

/** The canonical text of a host address of the subnet's family, or undefined when it is none. */
function canonicalOf(subnet: Subnet, address: string): string | undefined {
  if (subnet.family === "ipv4") return ipaddr.IPv4.isValidFourPartDecimal(address) ? ipaddr.IPv4.parse(address).toString() : undefined;
  return ipaddr.IPv6.isValid(address) && !address.includes("%") && !address.includes(".") ? ipaddr.IPv6.parse(address).toString() : undefined;
}

/**
 * Whether `address` is a usable host address of the subnet: not its network address (IPv6:
 * the subnet-router anycast address) nor, in IPv4, its broadcast address.
 */
export function isHostAddress(subnet: Subnet, address: string): boolean {
  const canonical = canonicalOf(subnet, address);
  if (canonical === undefined) return false;
  const n = toBig(ipaddr.parse(canonical));
  return n > subnet.network && (subnet.family === "ipv6" ? n <= subnet.last : n < subnet.last);
}

/** The gateway a network gets unless one is given: its first host address. */
export function firstHost(subnet: Subnet): string {
  return addressAt(subnet, 1);
}

/**
 * Hands out addresses of one subnet to named members. An automatic address depends only on
 * the member's name and on the addresses already taken: it starts at a position hashed from
 * the name and takes the next free host address, so adding or removing other members rarely
 * moves it. Explicit addresses must be free and inside the subnet. Addresses are kept in
 * canonical text (IPv6 compressed, as the kernel prints it).
 */
export class AddressPool {
  private readonly taken = new Map<string, string>(); // address -> member

  constructor(
    readonly subnet: Subnet,
    reserved: Record<string, string>,
  ) {
    for (const [address, who] of Object.entries(reserved)) this.taken.set(canonicalOf(subnet, address) ?? address, who);
  }

  /** Takes `address` for `member`; throws naming the member that has it already. */
  claim(member: string, address: string): string {
    if (!isHostAddress(this.subnet, address)) {
      const what = this.subnet.family === "ipv4" ? "outside it, or its network or broadcast address" : "outside it, of the other family, or its network address";
      throw new Error(`address ${address} of ${member} is not a host address of ${this.subnet.cidr} (${what})`);
    }
    const canonical = canonicalOf(this.subnet, address) ?? address;
    const owner = this.taken.get(canonical);
    if (owner !== undefined) throw new Error(`address ${address} of ${member} is already taken by ${owner} on ${this.subnet.cidr}`);
    this.taken.set(canonical, member);
    return canonical;
  }

  /** A free address for `member`, the same one every run for the same set of members. */
  allocate(member: string): string {
    // IPv4: between the network and broadcast addresses; IPv6: everything after the network address.
    const size = this.subnet.last - this.subnet.network - (this.subnet.family === "ipv4" ? 1n : 0n);
    const digest = createHash("sha256").update(member).digest();
    // The IPv4 pool keeps its 32-bit hash (addresses of existing stacks must not move).
    const hashed = this.subnet.family === "ipv4" ? BigInt(digest.readUInt32BE(0)) : digest.readBigUInt64BE(0);
    const start = hashed % size;
    // Far fewer members than addresses: the walk ends long before `size` on any real network.
    const tries = size < 1_000_000n ? size : 1_000_000n;
    for (let i = 0n; i < tries; i++) {
      const candidate = addressAt(this.subnet, 1n + ((start + i) % size));
      if (!this.taken.has(candidate)) return this.claim(member, candidate);
    }
    throw new Error(`no free address left on ${this.subnet.cidr} for ${member}`);
  }
}
