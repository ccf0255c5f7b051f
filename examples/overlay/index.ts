// Several machines over SSH with one overlay network across them (issue 7's story): a bridge
// and a VXLAN port on each machine, one container on each, the first one's port 80 forwarded
// from its machine's port 8080. The machines come from stack config:
//
//   pulumi config set machines '[{"name":"m1","host":"192.168.77.1","hostKey":"ssh-ed25519 AAAA..."}, ...]'
//   pulumi config set privateKeyFile ~/.ssh/id_ed25519      (or: pulumi config set --secret privateKey "$(cat key)")
//
// Each machine's `host` is where ssh reaches it and, unless `underlay` says otherwise, the
// address the other machines send its VXLAN packets to.
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import * as hostnet from "pulumi-hostnet";

interface MachineConfig {
  name: string;
  host: string;
  port?: number;
  user?: string;
  /** The machine's public host key (its /etc/ssh/ssh_host_ed25519_key.pub). */
  hostKey?: string;
  /** Underlay address, when not `host`. */
  underlay?: string;
}

const config = new pulumi.Config();
const listed = config.requireObject<MachineConfig[]>("machines");
const keyFile = config.get("privateKeyFile");
const privateKey = keyFile ? pulumi.secret(readFileSync(keyFile, "utf8")) : config.getSecret("privateKey");

const members = listed.map((m) => ({
  machine: new hostnet.Machine(m.name, { host: m.host, port: m.port, user: m.user, privateKey, hostKey: m.hostKey }),
  address: m.underlay ?? m.host,
}));

const overlay = new hostnet.OverlayNetwork("overlay", { subnet: config.get("subnet") ?? "10.60.0.0/24", vni: 42, machines: members });

const containers = members.map(
  ({ machine }, i) =>
    new hostnet.ContainerNetwork(`web-${machine.name}`, {
      mode: "bridge",
      network: overlay,
      machine,
      ports: i === 0 ? [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] : [],
    }),
);

export const addresses = pulumi.all(containers.map((c) => c.address));
export const gateways = members.map(({ machine }) => overlay.gatewayOn(machine));
export const mtu = overlay.mtu;
