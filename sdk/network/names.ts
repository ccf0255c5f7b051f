import { createHash } from "node:crypto";

const IFNAMSIZ = 15;

/**
 * A Linux interface name made from a prefix and a resource name: "vh-web" when it fits in
 * 15 characters, else a cut name plus a short hash of the whole, so long names stay distinct.
 */
export function interfaceNameFor(prefix: string, name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_.-]/g, "-");
  const whole = `${prefix}${clean}`;
  if (whole.length <= IFNAMSIZ && clean === name) return whole;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 5);
  const room = IFNAMSIZ - prefix.length - hash.length - 1;
  if (room < 0) throw new Error(`interface name prefix "${prefix}" is too long for "${name}": with a hash to keep names distinct, a prefix may have at most ${IFNAMSIZ - hash.length - 1} characters`);
  return `${prefix}${clean.slice(0, room)}-${hash}`;
}

/** A netns name from a resource name: the name itself when it is a valid one. */
export function namespaceNameFor(name: string): string {
  if (/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const kept = name.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[-.]+/, "").slice(0, 50);
  return kept ? `${kept}-${hash}` : `ns-${hash}`;
}
