import { isNotFound, type Runner } from "../exec";
import {
  deleteLink,
  deleteNetns,
  deleteOurRoute,
  deleteRule,
  describeSelector,
  firewall,
  listLinks,
  listNetns,
  listOurRoutes,
  listOurRules,
  listProxyOwners,
  readSysctl,
  reconcileProxies,
  RULE_ACTIONS,
  SysctlLedger,
  writeSysctl,
  type LinkState,
  type Netns,
} from "../kernel";
import type { HeldState } from "./stack";

/**
 * Removal order: [::1] proxies (processes) first, rules next, links after, namespaces last
 * (sysctl records go with the rules, before their netns).
 */
export const ORPHAN_KINDS = ["proxy", "firewall", "rule", "route", "sysctl", "link", "netns"] as const;
export type OrphanKind = (typeof ORPHAN_KINDS)[number];

export interface Orphan {
  readonly kind: OrphanKind;
  /** "netns c7", "link vh-c7 (host)": what a person would look for. */
  readonly what: string;
  readonly why: string;
  readonly remove: () => Promise<void>;
}

export interface Inventory {
  readonly orphans: Orphan[];
  /** Objects of ours (protocol 212) that no tag ties to a stack, or kept for a reason: reported, never touched. */
  readonly leftAlone: string[];
}

const where = (netns: Netns) => (netns ? `netns ${netns}` : "host");
const notInState = "not in the stack's state";

/**
 * Every kernel object of one stack (its tags start with `tagPrefix`) that its state does not
 * hold, in the namespace the tool runs in (or `host`, the netns that plays it) and in every
 * named netns. Routes and `ip rule`s carry no tag, only our protocol: they are attributed
 * through the link they use or the netns they are in, and left alone when neither is tagged.
 */
export async function findOrphans(runner: Runner, options: { tagPrefix: string; held: HeldState; host?: string }): Promise<Inventory> {
  const { tagPrefix, held } = options;
  const named = await listNetns(runner);
  if (options.host !== undefined && !named.includes(options.host)) throw new Error(`netns ${options.host} (--host) does not exist`);
  const places: Netns[] = options.host !== undefined ? named : [undefined, ...named];
  const backends = await firewall.installedBackends(runner);
  const results = await Promise.all(places.map((netns) => inventoryOf(runner, netns, tagPrefix, held, backends, netns === options.host)));
  const orphans = results.flatMap((r) => r.orphans);
  const leftAlone = results.flatMap((r) => r.leftAlone);
  const sysctls = await sysctlOrphans(runner, tagPrefix, held);
  orphans.push(...sysctls);
  const proxies = (await listProxyOwners(runner)).filter((o) => o.tag.startsWith(tagPrefix) && !held.tags.has(o.tag));
  orphans.push(...proxies.map((o) => ({ kind: "proxy" as const, what: `[::1] proxies of ${o.tag} (${where(o.netns)})`, why: `started by ${o.tag}, ${notInState}`, remove: () => reconcileProxies(runner, o.netns, o.tag, []) })));
  orphans.sort((a, b) => ORPHAN_KINDS.indexOf(a.kind) - ORPHAN_KINDS.indexOf(b.kind));
  return { orphans, leftAlone };
}

async function inventoryOf(runner: Runner, netns: Netns, tagPrefix: string, held: HeldState, backends: firewall.FirewallBackend[], isHost: boolean): Promise<Inventory> {
  const orphans: Orphan[] = [];
  const leftAlone: string[] = [];
  const ours = (tag: string | undefined): tag is string => tag !== undefined && tag.startsWith(tagPrefix);
  const orphaned = (tag: string | undefined): tag is string => ours(tag) && !held.tags.has(tag);
  let links: LinkState[];
  try {
    links = await listLinks(runner, netns);
  } catch (err) {
    if (isNotFound(err)) return { orphans, leftAlone }; // the netns went away meanwhile
    throw err;
  }
  const place = where(netns);
  const lo = links.find((l) => l.name === "lo");
  // The netns that plays the host belongs to no resource of ours by its lo, even when tagged.
  const nsTag = netns !== undefined && !isHost ? lo?.alias : undefined;

  for (const link of links) {
    if (link.name === "lo" || !orphaned(link.alias)) continue;
    orphans.push({ kind: "link", what: `link ${link.name} (${place})`, why: `alias ${link.alias}, ${notInState}`, remove: () => deleteLink(runner, netns, link.name) });
  }
  if (netns !== undefined && orphaned(nsTag)) {
    const keeper = links.find((l) => l.alias !== undefined && held.tags.has(l.alias));
    if (keeper) leftAlone.push(`netns ${netns}: lo's alias ${nsTag} is ${notInState}, but it holds link ${keeper.name} of a resource that is (kept)`);
    else orphans.push({ kind: "netns", what: `netns ${netns}`, why: `lo's alias ${nsTag}, ${notInState}`, remove: () => deleteNetns(runner, netns) });
  }

  // Untagged objects of ours: the tag of the link they use, else of their netns.
  const aliasOf = (device: string | undefined) => links.find((l) => l.name === device)?.alias;
  const attribute = (devices: (string | undefined)[], id: string, what: string, remove: () => Promise<void>, kind: OrphanKind) => {
    if (held.ids.has(id)) return;
    const [tag, through] = [...devices.map((d) => [aliasOf(d), `link ${d}`] as const), [nsTag, `netns ${netns}`] as const].find(([t]) => t?.startsWith("hostnet:")) ?? [undefined, ""];
    if (tag === undefined) leftAlone.push(`${what}: protocol 212 but neither its link nor its netns carries a tag (left alone)`);
    else if (orphaned(tag)) orphans.push({ kind, what, why: `protocol 212, ${through} tagged ${tag}, ${notInState}`, remove });
  };
  for (const route of await listOurRoutes(runner, netns)) {
    const text = `${route.destination}${route.via ? ` via ${route.via}` : ""}${route.device ? ` dev ${route.device}` : ""} table ${route.table}`;
    const id = `route/${netns ?? "-"}/${route.table}/${route.destination}/${route.metric ?? "-"}`;
    attribute([route.device], id, `route ${text} (${place})`, () => deleteOurRoute(runner, netns, route), "route");
  }
  for (const rule of await listOurRules(runner, netns)) {
    const selector = describeSelector(rule);
    const id = `rule/${netns ?? "-"}/${rule.family}/${selector.replaceAll(" ", ",")}`;
    const action = RULE_ACTIONS.find((a) => a === rule.action);
    if (!action) continue; // not an action we ever set
    const spec = { ...rule, action, table: rule.tableId };
    attribute([rule.iif, rule.oif], id, `rule ${rule.family} ${selector} ${rule.action}${rule.tableId ? ` ${rule.tableId}` : ""} (${place})`, () => deleteRule(runner, netns, spec), "rule");
  }

  for (const backend of backends) {
    for (const family of ["ipv4", "ipv6"] as const) {
      for (const tag of await backend.tags(netns, family)) {
        if (!orphaned(tag)) continue;
        orphans.push({
          kind: "firewall",
          what: `${backend.name} ${family} rules ${tag} (${place})`,
          why: `comment ${tag}, ${notInState}`,
          // Through the provider's queue: removals in one table never interleave (the last one drops the table).
          remove: () => firewall.applyCoalesced(backend, netns, { tag, family, rules: [] }),
        });
      }
    }
  }
  return { orphans, leftAlone };
}

async function sysctlOrphans(runner: Runner, tagPrefix: string, held: HeldState): Promise<Orphan[]> {
  const ledger = new SysctlLedger(runner);
  return (await ledger.claims())
    .filter((c) => c.owner.startsWith(tagPrefix) && !held.tags.has(c.owner))
    .map((c) => ({
      kind: "sysctl" as const,
      what: `sysctl ${c.key} (${where(c.netns)})`,
      why: `claimed by ${c.owner}, ${notInState}`,
      remove: async () => {
        const released = await ledger.release(c.netns, c.key, c.owner);
        if (!released.last || released.original === undefined) return; // another resource still wants it set
        try {
          if ((await readSysctl(runner, c.netns, c.key)) !== released.original) await writeSysctl(runner, c.netns, c.key, released.original);
        } catch (err) {
          if (!isNotFound(err)) throw err; // its netns is gone: nothing to restore
        }
      },
    }));
}

/** Removes every orphan in order, keeping on after errors; returns one message per failure. */
export async function removeOrphans(orphans: readonly Orphan[], report: (line: string) => void): Promise<string[]> {
  const errors: string[] = [];
  for (const kind of ORPHAN_KINDS) {
    // One kind at a time (rules before links before namespaces); within a kind, side by side.
    await Promise.all(
      orphans
        .filter((o) => o.kind === kind)
        .map(async (o) => {
          try {
            await o.remove();
            report(`removed ${o.what}`);
          } catch (err) {
            const message = `remove ${o.what}: ${(err as Error).message}`;
            errors.push(message);
            report(`failed: ${message}`);
          }
        }),
    );
  }
  return errors;
}
