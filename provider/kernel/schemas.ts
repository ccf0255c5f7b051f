import { z } from "zod";

// zod schemas of the `ip -json` output we rely on. Only the fields we read are declared;
// unknown fields pass through, and a changed field type fails loudly here, in one place.

export const ipLinkSchema = z.object({
  ifindex: z.number(),
  ifname: z.string(),
  flags: z.array(z.string()).default([]),
  mtu: z.number(),
  operstate: z.string().optional(),
  master: z.string().optional(),
  link_type: z.string().optional(),
  address: z.string().optional(),
  ifalias: z.string().optional(),
  link: z.string().nullable().optional(),
  link_netnsid: z.number().optional(),
  linkinfo: z
    .object({
      info_kind: z.string().optional(),
      info_slave_kind: z.string().optional(),
      /** Kind-specific settings (a macvlan's mode, a tap's owner); each kind parses its own. */
      info_data: z.record(z.string(), z.unknown()).optional(),
    })
    .passthrough()
    .optional(),
});
export type IpLink = z.infer<typeof ipLinkSchema>;

export const ipAddrInfoSchema = z.object({
  family: z.string(),
  local: z.string(),
  prefixlen: z.number(),
  scope: z.string().optional(),
  label: z.string().optional(),
});

export const ipAddrLinkSchema = ipLinkSchema.extend({
  addr_info: z.array(ipAddrInfoSchema.passthrough()).default([]),
});
export type IpAddrLink = z.infer<typeof ipAddrLinkSchema>;

export const ipRouteSchema = z.object({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  protocol: z.union([z.string(), z.number()]).optional(),
  metric: z.number().optional(),
  prefsrc: z.string().optional(),
  table: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  flags: z.array(z.string()).default([]),
});
export type IpRoute = z.infer<typeof ipRouteSchema>;

export const netnsListSchema = z.object({ name: z.string(), id: z.number().optional() });

/** Parses `ip -json` output (an array, or empty output for "nothing") with a schema. */
export function parseIpJson<T extends z.ZodTypeAny>(schema: T, stdout: string, what: string): z.infer<T>[] {
  const text = stdout.trim();
  if (text === "") return [];
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`parse ${what}: not JSON: ${(err as Error).message}`);
  }
  const parsed = z.array(schema).safeParse(data);
  if (!parsed.success) {
    throw new Error(`parse ${what}: unexpected shape: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}
