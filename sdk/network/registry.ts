/**
 * What one Pulumi program has declared so far, per host: shared sysctls (one resource per
 * key, however many networks need it) and host ports (two forwards on one port is an error
 * at preview, naming both).
 */
interface PortClaim {
  readonly owner: string;
  readonly protocol: string;
  readonly address: string;
  readonly from: number;
  readonly to: number;
}

const portClaims = new Map<string, PortClaim[]>();
const shared = new Map<string, unknown>();

const ANY = ["", "0.0.0.0", "::"];

/** `where` names the host netns on its machine ("machine/netns"). */
export function claimHostPort(where: string, claim: PortClaim): void {
  const claims = portClaims.get(where) ?? [];
  for (const other of claims) {
    const sameAddress = other.address === claim.address || ANY.includes(other.address) || ANY.includes(claim.address);
    const overlap = other.from <= claim.to && claim.from <= other.to;
    if (other.protocol === claim.protocol && sameAddress && overlap) {
      const ports = claim.from === claim.to ? `${claim.from}` : `${claim.from}-${claim.to}`;
      throw new Error(`host port ${claim.protocol}/${ports} of ${claim.owner} is already forwarded by ${other.owner}`);
    }
  }
  claims.push(claim);
  portClaims.set(where, claims);
}

/** The one value made for `key` in this program (e.g. the ip_forward Sysctl of a host). */
export function sharedOnce<T>(key: string, make: () => T): T {
  if (!shared.has(key)) shared.set(key, make());
  return shared.get(key) as T;
}
