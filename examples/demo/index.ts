// The demo: everything is built inside the netns "hostnet-demo", which plays the host
// (stack config `hostnet:host`), so the machine's own interfaces and routes are never touched.
//
//   hostnet-demo (host)             demo-web              demo-db
//   br0 10.0.3.1/24 ── vh-web ═════ eth0 10.0.3.2/24
//                   └─ vh-db  ═════════════════════════── eth0 10.0.3.3/24
//   demo-none: its own namespace with only lo (Docker's "none" mode)
import * as hostnet from "pulumi-hostnet";

const bridge = new hostnet.Bridge("br0", { name: "br0", addresses: ["10.0.3.1/24"], mtu: 1500 });

function container(name: string, address: string) {
  const ns = new hostnet.Namespace(name, { name: `demo-${name}`, loopbackUp: true });
  const veth = new hostnet.VethPair(`${name}-veth`, {
    name: `vh-${name}`,
    master: bridge.name,
    peer: { name: "eth0", namespace: ns.name, addresses: [`${address}/24`] },
  });
  new hostnet.Route(`${name}-default`, { namespace: ns.name, destination: "default", via: "10.0.3.1" }, { dependsOn: [veth] });
  return { namespace: ns.name, address, hostSide: veth.name, mac: veth.peer.mac };
}

const none = new hostnet.Namespace("none", { name: "demo-none" });

export const web = container("web", "10.0.3.2");
export const db = container("db", "10.0.3.3");
export const noneNamespace = none.name;
export const gateway = "10.0.3.1";
