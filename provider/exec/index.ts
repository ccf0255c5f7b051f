export * from "./errors";
export * from "./runner";
export { FakeRunner } from "./fake";
