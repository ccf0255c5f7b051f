export * from "./errors";
export * from "./runner";
export { FakeRunner } from "./fake";
export * from "./quote";
export { SshRunner, machineLabel, removeStaleSshDirs, type SshArrival, type SshConnection } from "./ssh";
