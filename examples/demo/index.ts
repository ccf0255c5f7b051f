// The demo: everything is built inside the netns "hostnet-demo", which plays the host (stack
// config `hostnet:host`), so the machine's own interfaces, routes and firewall are never touched.
//
//   demo-outside 10.200.0.2 ══ uplink 10.200.0.1 ┐ hostnet-demo (the host)
//                                               br-demo 10.0.3.1/24, masquerade, :8080 → web:80
//                          demo-web 10.0.3.2 ══╡
//                          demo-db  10.0.3.3 ══╛
//   demo-none: only lo (none mode)     demo-web's sidecar: shares demo-web's namespace (container mode)
import * as hostnet from "pulumi-hostnet";

const outside = new hostnet.Namespace("outside", { name: "demo-outside" });
const uplink = new hostnet.VethPair("uplink", {
  name: "uplink",
  addresses: ["10.200.0.1/30"],
  peer: { name: "eth0", namespace: outside.name, addresses: ["10.200.0.2/30"] },
});

const net = new hostnet.BridgeNetwork("demo", { bridgeName: "br-demo", subnet: "10.0.3.0/24", masquerade: true, outInterface: uplink.name });
const web = new hostnet.ContainerNetwork("web", {
  mode: "bridge", network: net, address: "10.0.3.2", namespaceName: "demo-web",
  ports: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
});
const db = new hostnet.ContainerNetwork("db", { mode: "bridge", network: net, address: "10.0.3.3", namespaceName: "demo-db" });
const none = new hostnet.ContainerNetwork("none", { mode: "none", namespaceName: "demo-none" });
const sidecar = new hostnet.ContainerNetwork("sidecar", { mode: "container", container: web });

export const gateway = net.gateway;
export const containers = {
  web: { namespace: web.namespace, address: web.address },
  db: { namespace: db.namespace, address: db.address },
  none: { namespace: none.namespace },
  sidecar: { namespace: sidecar.namespace, address: sidecar.address },
};
export const portForward = "hostnet-demo:8080 -> web:80";
