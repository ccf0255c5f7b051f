export * from "./errors";
export * from "./runner";
export { FakeRunner } from "./fake";
export * from "./quote";
export { admit, refuseWhenStopped, stopNewCommands } from "./shutdown";
export { SshRunner, hostKeyFingerprint, machineLabel, removeStaleSshDirs, type SshArrival, type SshConnection } from "./ssh";
