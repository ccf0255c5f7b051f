export * from "./ip";
export * from "./netns";
export * from "./link";
export * from "./addr";
export * from "./route";
export * from "./schemas";
export * from "./sysctl";
export * from "./subnet";
export * as firewall from "./firewall";
