// Bridge mode (seeds 001, 002, 004): two containers on a bridge with masquerade and a port
// forward, and an "outside" namespace beyond the host's uplink to reach and be reached from.
import * as hostnet from "pulumi-hostnet";

const outside = new hostnet.Namespace("outside", { name: "outside" });
const uplink = new hostnet.VethPair("uplink", {
  name: "uplink",
  addresses: ["10.200.0.1/30"],
  peer: { name: "eth0", namespace: outside.name, addresses: ["10.200.0.2/30"] },
});

const net = new hostnet.BridgeNetwork("app", { bridgeName: "br-app", subnet: "10.0.3.0/24", masquerade: true, outInterface: uplink.name });
const c1 = new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net, address: "10.0.3.2", ports: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] });
const c2 = new hostnet.ContainerNetwork("c2", { mode: "bridge", network: net, address: "10.0.3.3" });

// The flows this example promises, proven with real packets on every `pulumi up` (and shown as
// drift by `pulumi refresh` when one stops behaving). Port 8080 needs no listener in c1: the
// reset c1's stack sends back proves the forward reached it.
const after = { dependsOn: [net, c1, c2] };
new hostnet.Probe("c1-to-c2", { namespace: c1.namespace, protocol: "icmp", address: "10.0.3.3", expect: "reachable" }, after);
new hostnet.Probe("c2-to-gateway", { namespace: c2.namespace, protocol: "icmp", address: net.gateway, expect: "reachable" }, after);
new hostnet.Probe("c2-to-outside", { namespace: c2.namespace, protocol: "icmp", address: "10.200.0.2", expect: "reachable" }, after);
new hostnet.Probe("outside-to-forward", { namespace: outside.name, protocol: "tcp", address: "10.200.0.1", port: 8080, expect: "reachable" }, after);
// Containers sit behind NAT: the outside has no route to them.
new hostnet.Probe("outside-to-c1", { namespace: outside.name, protocol: "icmp", address: "10.0.3.2", expect: "blocked", timeout: 1 }, after);

export const gateway = net.gateway;
export const c1Namespace = c1.namespace;
export const c2Address = c2.address;
