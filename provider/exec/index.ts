export * from "./errors";
export * from "./runner";
export { FakeRunner } from "./fake";
export * from "./quote";
export { SshRunner, hostKeyFingerprint, machineLabel, removeStaleSshDirs, type SshConnection } from "./ssh";
export { admit, refuseWhenStopped, stopNewCommands } from "./shutdown";
