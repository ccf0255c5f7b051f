// Two isolated bridge networks on one host: containers reach their own gateway and neighbours,
// and nothing routes between the two subnets (no masquerade, no forwarding between bridges).
import * as hostnet from "pulumi-hostnet";

const red = new hostnet.BridgeNetwork("red", { bridgeName: "br-red", subnet: "10.1.0.0/24", masquerade: false, ipForward: false });
const blue = new hostnet.BridgeNetwork("blue", { bridgeName: "br-blue", subnet: "10.2.0.0/24", masquerade: false, ipForward: false });
const red1 = new hostnet.ContainerNetwork("red1", { mode: "bridge", network: red });
const red2 = new hostnet.ContainerNetwork("red2", { mode: "bridge", network: red });
const blue1 = new hostnet.ContainerNetwork("blue1", { mode: "bridge", network: blue });

export const addresses = { red1: red1.address, red2: red2.address, blue1: blue1.address };
