import type * as pulumi from "@pulumi/pulumi";

/**
 * The provider object Pulumi serializes into the state for one resource kind. It holds only
 * the kind's name and loads the implementation by package name when the engine calls it, so
 * the state stays small and upgrading pulumi-hostnet changes no stored code (no spurious
 * `__provider` diffs). Parameter names differ from method names on purpose: the closure
 * serializer would otherwise capture the wrong binding.
 */
function providerStub(resourceKind: string): pulumi.dynamic.ResourceProvider {
  return {
    async check(olds, news) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).check(olds, news);
    },
    async diff(id, olds, news) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).diff(id, olds, news);
    },
    async create(inputs) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).create(inputs);
    },
    async read(id, props) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).read(id, props);
    },
    async update(id, olds, news) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).update(id, olds, news);
    },
    async delete(id, props) {
      return require("pulumi-hostnet/provider").providerFor(resourceKind).delete(id, props);
    },
  };
}

// One stub per kind, made once: a fresh object per resource costs the serializer time on every resource.
export const stubs = {
  namespace: providerStub("namespace"),
  bridge: providerStub("bridge"),
  veth: providerStub("veth"),
  route: providerStub("route"),
  address: providerStub("address"),
  sysctl: providerStub("sysctl"),
  natrule: providerStub("natrule"),
  portforward: providerStub("portforward"),
} as const;
