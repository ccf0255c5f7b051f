// Container mode (seed 002): c3 joins c1's namespace, so it shares c1's links, addresses and lo.
import * as hostnet from "pulumi-hostnet";

const net = new hostnet.BridgeNetwork("shared", { bridgeName: "br-shared", subnet: "10.0.5.0/24" });
const c1 = new hostnet.ContainerNetwork("c1", { mode: "bridge", network: net });
const c3 = new hostnet.ContainerNetwork("c3", { mode: "container", container: c1 });

export const c1Namespace = c1.namespace;
export const c3Namespace = c3.namespace;
export const address = c3.address;
