import ipaddr from "ipaddr.js";
import { z } from "zod";

/** The string Pulumi puts in place of values not known until apply (preview of new resources). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/**
 * Linux interface names (dev_valid_name): 1-15 bytes, not "." or "..", no "/", ":" or
 * whitespace. We also refuse a leading "-" (it could read as an option) and non-ASCII.
 */
export const interfaceName = z
  .string()
  .min(1, "interface name must not be empty")
  .max(15, "interface name must be at most 15 characters (Linux IFNAMSIZ)")
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/, "interface name may use only letters, digits, '_', '.', '@' and '-', and must not start with '-'")
  .refine((n) => n !== "." && n !== "..", "interface name must not be '.' or '..'");

/** Named netns: a file under /run/netns, so the same rules as a safe file name. */
export const netnsName = z
  .string()
  .min(1, "namespace name must not be empty")
  .max(64, "namespace name must be at most 64 characters")
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "namespace name may use only letters, digits, '_', '.' and '-', and must not start with '-' or '.'");

/**
 * A netns someone else made (a container runtime's, a process's): by its name under /run/netns,
 * by a path to a namespace file (/proc/PID/ns/net, /var/run/docker/netns/X), or by a process's
 * PID. Exactly one. Whether the path is a namespace and the process exists is the kernel's
 * to say (checked through the runner, see endpoint.ts): here only the shape.
 */
export const existingNamespace = z
  .object({
    name: netnsName.optional(),
    path: z
      .string()
      .max(4096, "path must be at most 4096 characters")
      .regex(/^\/[^\0\n]*$/, "path must be an absolute path to a namespace file, e.g. /proc/1234/ns/net or /var/run/docker/netns/abc")
      .refine((p) => !p.split("/").includes(".."), "path must not contain '..'")
      .optional(),
    pid: z.number({ error: "pid must be a number (a process id)" }).int("pid must be a whole number").min(1, "pid must be at least 1").max(4194304, "pid must be at most 4194304 (the kernel's pid_max limit)").optional(),
  })
  .strict()
  .refine((e) => [e.name, e.path, e.pid].filter((v) => v !== undefined).length === 1, "existingNamespace takes exactly one of name, path or pid");
export type ExistingNamespace = z.infer<typeof existingNamespace>;

/**
 * Dotted-quad IPv4 or IPv6 text. ipaddr.js alone also takes legacy forms ("10.0.3" is
 * 10.0.0.3, "010.0.0.1" octal) that a user almost never means.
 */
function isStrictAddress(s: string): boolean {
  if (s.includes(":")) return ipaddr.IPv6.isValid(s) && !s.includes("%");
  return ipaddr.IPv4.isValidFourPartDecimal(s) && !/(^|\.)0\d/.test(s);
}

export const ipAddress = z.string().refine(isStrictAddress, "must be an IPv4 address (four decimal parts) or an IPv6 address");

function parseCidr(s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const [address, length, extra] = s.split("/");
  if (address === undefined || length === undefined || extra !== undefined || !isStrictAddress(address) || !/^\d{1,3}$/.test(length)) return undefined;
  try {
    return ipaddr.parseCIDR(s);
  } catch {
    return undefined;
  }
}

/**
 * An interface address with its prefix, e.g. 10.0.3.1/24. Refuses the network and broadcast
 * addresses of IPv4 subnets larger than /31, which cannot be a host's address.
 */
export const interfaceAddress = z.string().superRefine((s, ctx) => {
  const parsed = parseCidr(s);
  if (!parsed) {
    ctx.addIssue({ code: "custom", message: `"${s}" is not an address with prefix length (e.g. 10.0.3.1/24)` });
    return;
  }
  const [addr, len] = parsed;
  if (addr.kind() === "ipv4" && len < 31) {
    const cidr = `${addr.toString()}/${len}`;
    if (ipaddr.IPv4.networkAddressFromCIDR(cidr).toString() === addr.toString()) {
      ctx.addIssue({ code: "custom", message: `${s} is the network address of its subnet, not a host address` });
    } else if (ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString() === addr.toString()) {
      ctx.addIssue({ code: "custom", message: `${s} is the broadcast address of its subnet, not a host address` });
    }
  }
});

/** A network in canonical form (no host bits), e.g. 10.0.3.0/24. */
export const networkCidr = z.string().superRefine((s, ctx) => {
  const parsed = parseCidr(s);
  if (!parsed) {
    ctx.addIssue({ code: "custom", message: `"${s}" is not a CIDR (e.g. 10.0.3.0/24)` });
    return;
  }
  const canonical = canonicalNetwork(s);
  if (canonical === s) return;
  // The same network spelled otherwise (fd00:61:0::/64) has no host bits: only its form differs.
  const sameNetwork = ipaddr.parse(s.split("/")[0] ?? "").toString() === canonical.split("/")[0];
  ctx.addIssue({ code: "custom", message: sameNetwork ? `${s} is written ${canonical} (the form the kernel prints, which refresh compares with)` : `${s} has host bits set; the network is ${canonical}` });
});

/** 10.0.3.7/24 -> 10.0.3.0/24; the form the kernel prints. */
export function canonicalNetwork(cidr: string): string {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr);
  return `${network.toString()}/${len}`;
}

/** Canonical text of an address with prefix (IPv6 compressed as the kernel prints it). */
export function canonicalInterfaceAddress(cidr: string): string {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  return `${addr.toString()}/${len}`;
}

/**
 * The family of an address or CIDR, or undefined when it is not one. Object-level checks use
 * this: zod runs them even when a field failed its own check (or is still unknown at preview).
 */
export function maybeFamilyOf(addressOrCidr: string): "ipv4" | "ipv6" | undefined {
  const address = addressOrCidr.split("/")[0] ?? "";
  return isStrictAddress(address) ? familyOf(address) : undefined;
}

export function familyOf(addressOrCidr: string): "ipv4" | "ipv6" {
  return ipaddr.parse(addressOrCidr.split("/")[0] ?? "").kind();
}


/** A unicast Ethernet address, e.g. 02:42:ac:11:00:01, in the lower case the kernel prints. */
export const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, "MAC address must be six hex bytes separated by ':', e.g. 02:42:ac:11:00:01")
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, "MAC address must be unicast (the first byte even)")
  .refine((m) => !/^(00:){5}00$/.test(m), "MAC address must not be all zeros")
  .transform((m) => m.toLowerCase());

export const mtu = z.number().int("mtu must be an integer").min(68, "mtu must be at least 68").max(65535, "mtu must be at most 65535");

/** Stack-unique ownership tag written into link aliases: "hostnet:<project>/<stack>/<name>". */
export const ownershipTag = z
  .string()
  .max(255)
  .regex(/^hostnet:[A-Za-z0-9_.:/@~-]+$/, "tag must look like hostnet:<project>/<stack>/<name>");

export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

/** A zod path in Pulumi's property-path form: peer.addresses[0]. */
export function propertyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), "");
}

function collectUnknownPaths(value: unknown, path: (string | number)[], out: string[]): void {
  if (isUnknown(value)) {
    out.push(propertyPath(path));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collectUnknownPaths(v, [...path, i], out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) collectUnknownPaths(v, [...path, k], out);
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/** What a message shows in place of a secret input's value. */
export const SECRET_SHOWN = "[secret]";

/** Inputs that hold credentials: never shown in a message, whether or not they were marked secret. */
const CREDENTIAL_KEYS = new Set(["privateKey", "privateKeyPassword", "password"]);

/** Whether a property path ("connection.privateKey", "flows[0].address") is, or is under, a secret one. */
export function isSecretPath(property: string, secretPaths: readonly string[]): boolean {
  const keys = property.split(/[.[\]]/);
  if (keys.some((k) => CREDENTIAL_KEYS.has(k))) return true;
  return secretPaths.some((p) => property === p || property.startsWith(`${p}.`) || property.startsWith(`${p}[`));
}

/**
 * The reason with the rejected value in it: Pulumi prints nested or unset values as
 * `{<nil>}`, so the message itself must say what was refused. A secret's value is never
 * shown, not even a part of it: `(got [secret])`.
 */
function withValue(message: string, path: readonly PropertyKey[], value: unknown, secret: boolean): string {
  // A check of the whole object (no path) names the fields it compares itself.
  if (path.length === 0) return message;
  if (secret) return `${redact(message, [value])} (got ${SECRET_SHOWN})`;
  const json = value === undefined ? "no value" : JSON.stringify(value);
  const shown = json.length > 200 ? `${json.slice(0, 200)}…` : json;
  const bare = typeof value === "string" ? value : json;
  return message.includes(bare) ? message : `${message} (got ${shown})`;
}

/** Every string (and number) inside a value: what a message must not contain when it is secret. */
function secretWords(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string" && value !== "" && !isUnknown(value)) out.push(value, JSON.stringify(value).slice(1, -1));
  else if (typeof value === "number") out.push(String(value));
  else if (Array.isArray(value)) value.forEach((v) => secretWords(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => secretWords(v, out));
  return out;
}

/** `text` with every occurrence of the secret values' words replaced by [secret]. */
export function redact(text: string, secrets: readonly unknown[]): string {
  // Longest first, so a word that contains another is replaced whole.
  const words = [...new Set(secrets.flatMap((s) => secretWords(s)))].filter((w) => w.length >= 3).sort((a, b) => b.length - a.length);
  return words.reduce((t, w) => t.replaceAll(w, SECRET_SHOWN), text);
}

/**
 * Failures of a check with nothing secret in them: a failure of a secret property says
 * `(got [secret])`, and any secret value quoted in any reason becomes [secret].
 */
export function redactFailures(failures: readonly CheckFailure[], inputs: Record<string, unknown>, secretPaths: readonly string[]): CheckFailure[] {
  const secrets = secretPaths.map((p) => valueAt(inputs, p.split(/[.[\]]/).filter(Boolean).map((k) => (/^\d+$/.test(k) ? Number(k) : k))));
  return failures.map((f) => {
    const reason = isSecretPath(f.property, secretPaths) ? f.reason.replace(/ \(got [\s\S]*\)$/, ` (got ${SECRET_SHOWN})`) : f.reason;
    return { property: f.property, reason: redact(reason, secrets) };
  });
}

/**
 * Validates inputs with a zod schema. Values still unknown at preview are not judged: the
 * check runs again with real values before anything is created. `secretPaths`: the inputs
 * the program marked secret (credentials always are).
 */
export function validate<T extends z.ZodTypeAny>(schema: T, news: unknown, secretPaths: readonly string[] = []): { value?: z.infer<T>; failures: CheckFailure[] } {
  const unknownPaths: string[] = [];
  collectUnknownPaths(news, [], unknownPaths);
  const parsed = schema.safeParse(news);
  if (parsed.success) return { value: parsed.data, failures: [] };
  const failures = parsed.error.issues
    .map((issue) => {
      const property = propertyPath(issue.path) || "(inputs)";
      return { property, reason: withValue(issue.message, issue.path, valueAt(news, issue.path), isSecretPath(property, secretPaths)) };
    })
    .filter((f) => !unknownPaths.some((p) => f.property === p || f.property.startsWith(`${p}.`) || f.property.startsWith(`${p}[`)));
  return { failures };
}

/** A name for a machine in messages, tags and ids. */
export const machineName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/, "machine name may use only letters, digits, '_', '.' and '-' (at most 63), and must not start with '-' or '.'");

/**
 * How to reach a remote machine over SSH (the shape of @pulumi/command's connection). Words
 * that reach ssh's command line are held to what they can be: a host or user starting with
 * "-" would read as an option.
 */
export const connectionInput = z.object({
  host: z.string().regex(/^[A-Za-z0-9_:.[\]%-]+$/, "host must be a host name or an IP address").refine((h) => !h.startsWith("-"), "host must not start with '-'"),
  port: z.number().int("port must be an integer").min(1, "port must be 1-65535").max(65535, "port must be 1-65535").default(22),
  user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, "user must be a login name (letters, digits, '_', '.', '-'; at most 32)").default("root"),
  privateKey: z
    .string()
    .refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k) && /-----END [A-Z ]*PRIVATE KEY-----/.test(k), "privateKey must be the text of a private key (-----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----), not a path")
    .optional(),
  privateKeyPassword: z.string().optional(),
  password: z.string().optional(),
  agentSocketPath: z.string().startsWith("/", "agentSocketPath must be an absolute path").optional(),
  hostKey: z
    .string()
    .regex(/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/, 'hostKey must be a public key line, e.g. "ssh-ed25519 AAAAC3Nz..." (the machine\'s /etc/ssh/ssh_host_ed25519_key.pub)')
    .optional(),
  hostKeyPolicy: z.enum(["known-hosts", "accept-new", "ignore"]).default("known-hosts"),
  perDialTimeout: z.number().int("perDialTimeout must be whole seconds").min(1).max(600).default(15),
  /** The machine is gone for good (Machine's `gone: true`): its resources leave the state without reaching it. */
  gone: z.boolean().optional(),
});
export type ConnectionInput = z.infer<typeof connectionInput>;
