// A "lived-in" host for e2e tests (issue 20): the sandbox's host netns made to look like a
// machine that runs Docker 28 and a service, with a LAN peer that routes to it.
//
// - Docker 28's iptables ruleset for the default bridge (docker0, 172.17.0.0/16) with one
//   container publishing 8080->80 (so the DOCKER chain has its ACCEPT, and raw PREROUTING its
//   direct-access DROP): filter FORWARD policy DROP, DOCKER-USER, DOCKER-FORWARD, DOCKER-CT,
//   DOCKER-ISOLATION-STAGE-1/2, DOCKER-BRIDGE, DOCKER; nat DOCKER and the docker0
//   MASQUERADE; and its ip6tables chains (FORWARD DROP too); loaded with `iptables-restore` (this machine's `iptables` is iptables-nft
//   1.8.9, so the tables are nft tables `ip filter`/`ip nat`/`ip raw` and their FORWARD DROP is
//   an nft base chain our nftables backend meets too; with iptables-legacy the same rules
//   would sit in x_tables instead, and our iptables backend follows whichever `iptables` is).
// - docker0 (a bridge, 172.17.0.1/16, up: no port, so its route is linkdown, as on a host
//   whose containers are all stopped) and net.ipv4.ip_forward=1, as dockerd leaves them.
// - A LAN peer: netns `lan` behind the veth `uplink` (host 10.77.0.1/24 and fd00:77::1/64,
//   peer 10.77.0.2/24 and fd00:77::2/64), whose default routes (both families) are the host:
//   it can route to any subnet the host carries.
// - A host service: a tcp listener on the host's own 5432 (the peer.js echo of who asks).
//
// `remove()` takes it all away again so the sandbox ends as it began (the leak guard).
import type { SandboxContext } from "./guard";
import type { Sandbox } from "./sandbox";

/** Docker 28.x's ruleset (iptables-save, counters zeroed), as dockerd writes it for docker0 and one published container. */
export const DOCKER_28_IPTABLES = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
COMMIT
`;

/**
 * Docker 28's ip6tables ruleset (ip6tables is on by default since 27): its chains, no IPv6
 * network of its own, and FORWARD DROP as dockerd sets it when it enabled IPv6 forwarding.
 */
export const DOCKER_28_IP6TABLES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
COMMIT
`;

export interface LivedInHost {
  /** The host's address on the LAN (the uplink), and the LAN peer's. */
  readonly hostAddress: string;
  readonly peerAddress: string;
  /** The same in IPv6. */
  readonly hostAddress6: string;
  readonly peerAddress6: string;
  /** The LAN peer's netns. */
  readonly lan: string;
  /** The host service's tcp port (something listens there on every address of the host). */
  readonly servicePort: number;
  /** Docker's rules as iptables-save and ip6tables-save print them now, without comments and counters: compare before and after. */
  dockerRules(): Promise<string>;
  /** Takes the fixture away (also registered as the sandbox's teardown). */
  remove(): Promise<void>;
}

/** iptables-save (one family) without its timestamp comments and counters. */
export async function savedRules(sandbox: Sandbox, tool: "iptables-save" | "ip6tables-save" = "iptables-save"): Promise<string> {
  const saved = await sandbox.run([tool]);
  return saved
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"))
    .join("\n");
}

/** Makes the sandbox's host lived in (see above); undone by the sandbox's teardown. */
export async function makeLivedInHost(ctx: SandboxContext, options: { servicePort?: number } = {}): Promise<LivedInHost> {
  const sandbox = ctx.sandbox;
  const run = (argv: string[], opts?: { netns?: string; stdin?: string }) => sandbox.run(argv, opts);
  const forwardBefore = (await run(["sysctl", "-n", "net.ipv4.ip_forward"])).trim();
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    // iptables-nft's tables are nft tables: one flush takes Docker's rules and built-in chains.
    await run(["nft", "flush", "ruleset"]);
    for (const argv of [["ip", "link", "del", "docker0"], ["ip", "link", "del", "uplink"], ["ip", "netns", "del", "lan"]]) await sandbox.succeeds(argv);
    await run(["sysctl", "-q", "-w", `net.ipv4.ip_forward=${forwardBefore}`]);
  };
  ctx.addTeardown(remove);

  await run(["iptables-restore"], { stdin: DOCKER_28_IPTABLES });
  await run(["ip6tables-restore"], { stdin: DOCKER_28_IP6TABLES });
  await run(["ip", "link", "add", "docker0", "type", "bridge"]);
  await run(["ip", "addr", "add", "172.17.0.1/16", "dev", "docker0"]);
  await run(["ip", "link", "set", "docker0", "up"]);
  await run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);

  await run(["ip", "netns", "add", "lan"]);
  await run(["ip", "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", "lan"]);
  await run(["ip", "addr", "add", "10.77.0.1/24", "dev", "uplink"]);
  await run(["ip", "link", "set", "uplink", "up"]);
  await run(["ip", "-n", "lan", "addr", "add", "10.77.0.2/24", "dev", "eth0"]);
  await run(["ip", "-n", "lan", "link", "set", "eth0", "up"]);
  await run(["ip", "-n", "lan", "link", "set", "lo", "up"]);
  // The LAN peer routes everything through the host: a route to any container subnet.
  await run(["ip", "-n", "lan", "route", "add", "default", "via", "10.77.0.1"]);
  // nodad: usable at once, no duplicate detection to wait for on a two-ended veth.
  await run(["ip", "addr", "add", "fd00:77::1/64", "dev", "uplink", "nodad"]);
  await run(["ip", "-n", "lan", "addr", "add", "fd00:77::2/64", "dev", "eth0", "nodad"]);
  await run(["ip", "-n", "lan", "-6", "route", "add", "default", "via", "fd00:77::1"]);

  const servicePort = options.servicePort ?? 5432;
  await sandbox.serve(undefined, "tcp", servicePort);
  return {
    hostAddress: "10.77.0.1",
    peerAddress: "10.77.0.2",
    hostAddress6: "fd00:77::1",
    peerAddress6: "fd00:77::2",
    lan: "lan",
    servicePort,
    dockerRules: async () => `${await savedRules(sandbox)}\n${await savedRules(sandbox, "ip6tables-save")}`,
    remove,
  };
}
