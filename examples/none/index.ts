// None mode (seed 002): a container with its own namespace and only lo.
import * as hostnet from "pulumi-hostnet";

const isolated = new hostnet.ContainerNetwork("isolated", { mode: "none" });

export const namespace = isolated.namespace;
