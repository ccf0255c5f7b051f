// Seed 003: server, router and client namespaces; the router forwards between them. With
// config `routing: static` (the default) the router has routes to both loopback networks;
// with `routing: snat` it has a default route and SNATs the server's side instead.
import * as pulumi from "@pulumi/pulumi";
import * as hostnet from "pulumi-hostnet";

const routing = new pulumi.Config().get("routing") ?? "static";

const server = new hostnet.Namespace("server", { name: "server" });
const router = new hostnet.Namespace("router", { name: "router" });
const client = new hostnet.Namespace("client", { name: "client" });
const toServer = new hostnet.VethPair("server-link", {
  name: "vethS", namespace: server.name, addresses: ["10.0.1.2/24"],
  peer: { name: "veth-srv", namespace: router.name, addresses: ["10.0.1.1/24"] },
});
const toClient = new hostnet.VethPair("client-link", {
  name: "vethC", namespace: client.name, addresses: ["10.0.2.2/24"],
  peer: { name: "veth-cli", namespace: router.name, addresses: ["10.0.2.1/24"] },
});
new hostnet.Sysctl("router-forwarding", { namespace: router.name, key: "net.ipv4.ip_forward", value: "1" });
new hostnet.Address("server-lo", { namespace: server.name, device: "lo", address: "10.11.1.1/24" });
new hostnet.Address("client-lo", { namespace: client.name, device: "lo", address: "10.22.2.2/24" });
new hostnet.Route("server-default", { namespace: server.name, destination: "default", via: "10.0.1.1" }, { dependsOn: [toServer] });
new hostnet.Route("client-default", { namespace: client.name, destination: "default", via: "10.0.2.1" }, { dependsOn: [toClient] });

if (routing === "static") {
  new hostnet.Route("to-server-lo", { namespace: router.name, destination: "10.11.1.0/24", via: "10.0.1.2" }, { dependsOn: [toServer] });
  new hostnet.Route("to-client-lo", { namespace: router.name, destination: "10.22.2.0/24", via: "10.0.2.2" }, { dependsOn: [toClient] });
} else {
  new hostnet.Route("router-default", { namespace: router.name, destination: "default", via: "10.0.2.2" }, { dependsOn: [toClient] });
  new hostnet.NatRule("snat", { namespace: router.name, type: "snat", source: "10.0.1.0/24", outInterface: "veth-cli", toSource: "10.0.2.1" }, { dependsOn: [toClient] });
}

export const mode = routing;
