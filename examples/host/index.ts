// Host mode (seed 002): no namespace of its own; the container sees the host's links.
import * as hostnet from "pulumi-hostnet";

const onHost = new hostnet.ContainerNetwork("on-host", { mode: "host" });

export const namespace = onHost.namespace; // undefined: the host's own namespace
export const command = onHost.commandFor(["ip", "-br", "link"]);
