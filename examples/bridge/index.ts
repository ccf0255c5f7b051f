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

export const gateway = net.gateway;
export const c1Namespace = c1.namespace;
export const c2Address = c2.address;
