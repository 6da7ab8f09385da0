// The Kubernetes recipe (deploy/kubernetes/), checked without a cluster: every
// manifest against the Kubernetes API schemas (kubernetes-models, the
// OpenAPI schemas compiled to validators), the person template rendered for
// each person of the table; then what the program itself must accept: each
// pod's settings resolve as a fleet, the table parses against them, every
// table host is a headless Service on the fleet port, and the
// NetworkPolicies select the pods they are written for. Unknown fields are
// not caught by these schemas (the API server's strict field validation
// would): the README says so.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { settingsFromEnv } from "../../src/config/setting-schema";
import { resolveSettings, type Settings } from "../../src/config/settings";
import { parseTable } from "../../src/config/table";
import { Invalid } from "../../src/lib/errors";
import { runToEnd } from "../fixtures/child";
import { REPO } from "../fixtures/stack";

const DIR = join(REPO, "deploy/kubernetes");
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "networking.k8s.io/v1/Ingress": Ingress,
};

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, read by path below
type Doc = any;
const docsOf = (text: string): Doc[] => Bun.YAML.parse(text) as Doc[] | Doc as Doc[];
const asList = (parsed: Doc): Doc[] => (Array.isArray(parsed) ? parsed : [parsed]).filter((d) => d);
const read = (file: string) => readFileSync(join(DIR, file), "utf8");

const fleetConfig = asList(docsOf(read("fleet-config.yaml")))[0];
const people = Object.keys(JSON.parse(fleetConfig.data["dispatch.json"]) as Record<string, unknown>);
/** Every manifest, the person template rendered for each person of the table. */
const manifests: Array<{ file: string; doc: Doc }> = readdirSync(DIR)
  .filter((file) => file.endsWith(".yaml"))
  .sort()
  .flatMap((file) => {
    const texts = file === "person.yaml" ? people.map((p) => read(file).replaceAll("PERSON", p)) : [read(file)];
    return texts.flatMap((text) => asList(docsOf(text)).map((doc) => ({ file, doc })));
  });
const ofKind = (kind: string) => manifests.map((m) => m.doc).filter((d) => d.kind === kind);

/** A container's T3D_* environment, as settings. */
const envOf = (container: Doc) =>
  settingsFromEnv(Object.fromEntries((container.env ?? []).map((e: Doc) => [e.name, e.value])));
/** What a dispatcher container would resolve: the fleet's settings file, then its environment. */
function settingsOf(container: Doc): Settings {
  const file = JSON.parse(fleetConfig.data["settings.json"]);
  const resolved = resolveSettings({ file, env: envOf(container) });
  if (resolved instanceof Invalid) throw new Error(`${container.name}: ${resolved.detail}`);
  return resolved.settings;
}
const dispatchers = () =>
  [...ofKind("Deployment"), ...ofKind("StatefulSet")].map((workload) => ({
    workload,
    container: workload.spec.template.spec.containers.find((c: Doc) => c.name === "dispatch"),
  }));

describe("the Kubernetes recipe, without a cluster", () => {
  test("every manifest is valid against its kind's API schema, in the t3 namespace", () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const { file, doc } of manifests) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model ? `${file}: ${doc.kind}` : `${file}: no schema for ${doc.apiVersion}/${doc.kind}`).toBe(
        `${file}: ${doc.kind}`,
      );
      if (!Model) continue;
      expect(() => new Model(doc as never).validate()).not.toThrow();
      if (doc.kind !== "Namespace") expect(`${file}: ${doc.metadata.namespace}`).toBe(`${file}: t3`);
    }
  });

  test("the schemas do catch what is wrong: a port as text, a StatefulSet without a selector", () => {
    const door = ofKind("Deployment")[0];
    const broken = structuredClone(door);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "3780";
    expect(() => new Deployment(broken).validate()).toThrow("containerPort");
    const person = structuredClone(ofKind("StatefulSet")[0]);
    delete person.spec.selector;
    expect(() => new StatefulSet(person).validate()).toThrow("selector");
  });

  test("every dispatcher's settings resolve as a fleet, and the table parses against them", () => {
    const seen = dispatchers().map(({ workload, container }) => {
      const settings = settingsOf(container);
      const table = parseTable(fleetConfig.data["dispatch.json"], settings.fleet);
      if (table instanceof Invalid) throw new Error(table.detail);
      return `${workload.kind} ${workload.metadata.name}: host "${settings.fleet.self}", forwards to ${[...table.values()].filter((i) => i.host !== undefined).length}`;
    });
    expect(seen).toEqual([
      'Deployment t3-dispatch-door: host "", forwards to 2',
      ...people.map((p) => `StatefulSet t3-${p}: host "t3-${p}", forwards to 1`),
    ]);
  });

  test("each table host is a headless Service on the fleet port, at the address fleetHosts gives it", () => {
    const { fleet } = settingsOf(dispatchers()[0]?.container);
    for (const [host, origin] of fleet.hosts) {
      const service = ofKind("Service").find((s) => s.metadata.name === host);
      expect([service?.spec.clusterIP, service?.spec.ports[0].port]).toEqual(["None", 3790]);
      expect(origin).toBe(`https://${host}.t3.svc.cluster.local:3790`);
    }
  });

  test("the NetworkPolicies select the pods they are written for: person pods from doors, doors from the front", () => {
    const labelsOf = (component: string) =>
      [...ofKind("Deployment"), ...ofKind("StatefulSet")]
        .map((w) => w.spec.template.metadata.labels)
        .filter((labels) => labels["app.kubernetes.io/component"] === component);
    const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => labels[key] === value);
    const policy = (name: string) => ofKind("NetworkPolicy").find((p) => p.metadata.name === name);
    const persons = labelsOf("person");
    const doors = labelsOf("door");
    expect(persons.length).toBe(people.length);
    const toPersons = policy("t3-person-from-doors");
    for (const labels of persons) expect(selects(toPersons.spec.podSelector.matchLabels, labels)).toBe(true);
    for (const labels of doors)
      expect(selects(toPersons.spec.ingress[0].from[0].podSelector.matchLabels, labels)).toBe(true);
    for (const labels of doors) expect(selects(toPersons.spec.podSelector.matchLabels, labels)).toBe(false);
    expect(toPersons.spec.ingress[0].ports).toEqual([{ protocol: "TCP", port: 3790 }]);
    for (const labels of doors)
      expect(selects(policy("t3-doors-from-front").spec.podSelector.matchLabels, labels)).toBe(true);
  });

  test("the pod's mint script mints for the pod's account only", async () => {
    const script = asList(docsOf(read("person-common.yaml")))[0].data["mint.sh"];
    const refused = await runToEnd(["sh", "-c", script, "mint.sh", "mallory"]);
    expect([refused.code, refused.stderr.trim()]).toEqual([3, "mint.sh: this pod mints for t3 only, not mallory"]);
  });
});
