/**
 * Offline Kubernetes JSON schemas for kubeconform, generated from the OpenAPI (swagger v2) document that
 * ships inside the k8s.io/kubernetes Go module (api/openapi-spec/swagger.json), plus CRD schemas
 * (e.g. the Prometheus operator's ServiceMonitor) from their CustomResourceDefinition YAML.
 *
 *   npx tsx scripts/deploy/k8s-schemas.ts --swagger <swagger.json> [--crd <crd.yaml>]... --out <dir>
 *
 * Layout (kubeconform -schema-location '<dir>/{{ .ResourceKind }}{{ .KindSuffix }}.json'):
 *   <dir>/_definitions.json                  every definition, transformed as below
 *   <dir>/<kind>[-<group>]-<version>.json     one per group/version/kind, `$ref`s into _definitions.json
 *
 * The transformations are those of openapi2jsonschema `--kubernetes --expanded --strict` (which produced
 * kubeconform's default schema set), so validation behaves the same way, just without the network:
 *  - IntOrString becomes string|integer, Quantity string|number;
 *  - `apiVersion` and `kind` are restricted to the values of x-kubernetes-group-version-kind;
 *  - strict: every object schema with `properties` and no `additionalProperties` rejects unknown fields
 *    (a typo like `readinesProbe` fails instead of being silently dropped by the API server);
 *  - optional fields accept null (kubectl/kustomize print `creationTimestamp: null`).
 * `description`s are dropped: they are most of the bytes and kubeconform never shows them.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const isObj = (v: Json | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep copy without descriptions; `$ref: #/definitions/X` → `_definitions.json#/definitions/X` when `external`. */
function clean(v: Json, external: boolean): Json {
  if (Array.isArray(v)) return v.map((x) => clean(x, external));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'description') continue;
    if (k === '$ref' && typeof x === 'string' && external) out[k] = x.replace(/^#\/definitions\//, '_definitions.json#/definitions/');
    else out[k] = clean(x, external);
  }
  return out;
}

/** openapi2jsonschema --strict: `additionalProperties: false` wherever `properties` is given without it. */
function strict(v: Json, skipRoot = false): void {
  if (Array.isArray(v)) return v.forEach((x) => strict(x));
  if (!isObj(v)) return;
  if (!skipRoot && isObj(v['properties']) && !('additionalProperties' in v) && v['x-kubernetes-preserve-unknown-fields'] !== true) {
    v['additionalProperties'] = false;
  }
  for (const x of Object.values(v)) strict(x);
}

/** Optional properties accept null (the API server treats null as "unset"). */
function nullableOptional(v: Json): void {
  if (Array.isArray(v)) return v.forEach(nullableOptional);
  if (!isObj(v)) return;
  const props = v['properties'];
  if (isObj(props)) {
    const required = new Set(Array.isArray(v['required']) ? (v['required'] as string[]) : []);
    for (const [name, p] of Object.entries(props)) {
      if (required.has(name) || !isObj(p)) continue;
      if (typeof p['type'] === 'string' && p['type'] !== 'null') p['type'] = [p['type'], 'null'];
      else if (typeof p['$ref'] === 'string') props[name] = { anyOf: [{ $ref: p['$ref'] }, { type: 'null' }] };
    }
  }
  for (const x of Object.values(v)) nullableOptional(x);
}

const fileName = ({ group, version, kind }: Gvk) =>
  `${[kind, group ? group.split('.')[0] : undefined, version].filter(Boolean).join('-').toLowerCase()}.json`;

async function fromSwagger(file: string, out: string): Promise<string[]> {
  const swagger = JSON.parse(await readFile(file, 'utf8')) as { definitions?: Record<string, Obj> };
  const defs = swagger.definitions;
  if (!defs || Object.keys(defs).length < 100) throw new Error(`${file}: no Kubernetes definitions found`);

  defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  defs['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { oneOf: [{ type: 'string' }, { type: 'number' }] };

  const kinds: Array<[string, Gvk]> = [];
  for (const [name, def] of Object.entries(defs)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    const props = isObj(def['properties']) ? def['properties'] : undefined;
    for (const raw of gvks) {
      const gvk = raw as unknown as Gvk;
      kinds.push([name, gvk]);
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      for (const [prop, value] of [['apiVersion', apiVersion], ['kind', gvk.kind]] as const) {
        const p = props?.[prop];
        if (!isObj(p)) continue;
        const list = (Array.isArray(p['enum']) ? p['enum'] : (p['enum'] = [])) as Json[];
        if (!list.includes(value)) list.push(value);
      }
    }
  }

  const definitions: Obj = {};
  for (const [name, def] of Object.entries(defs)) definitions[name] = clean(def, false);
  strict(definitions);
  nullableOptional(definitions);
  await writeFile(path.join(out, '_definitions.json'), JSON.stringify({ definitions }));

  const written: string[] = [];
  for (const [name, gvk] of kinds) {
    const root = clean(definitions[name] as Obj, true) as Obj;
    root['type'] = 'object';
    root['additionalProperties'] = false;
    const f = fileName(gvk);
    await writeFile(path.join(out, f), JSON.stringify(root));
    written.push(f);
  }
  return written;
}

async function fromCrd(file: string, out: string): Promise<string[]> {
  const written: string[] = [];
  for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
    const crd = doc.toJS() as Obj | null;
    if (!crd || crd['kind'] !== 'CustomResourceDefinition' || !isObj(crd['spec'])) continue;
    const spec = crd['spec'];
    const names = spec['names'] as Obj;
    for (const v of (spec['versions'] as Obj[]) ?? []) {
      const schema = isObj(v['schema']) ? v['schema']['openAPIV3Schema'] : undefined;
      if (!isObj(schema)) continue;
      const root = clean(schema, false) as Obj;
      // Like kubeconform's openapi2jsonschema.py: the root keeps accepting what every object has.
      strict(root, true);
      const gvk = { group: String(spec['group']), version: String(v['name']), kind: String(names['kind']) };
      const props = isObj(root['properties']) ? root['properties'] : undefined;
      if (props && isObj(props['kind'])) props['kind']['enum'] = [gvk.kind];
      if (props && isObj(props['apiVersion'])) props['apiVersion']['enum'] = [`${gvk.group}/${gvk.version}`];
      const f = fileName(gvk);
      await writeFile(path.join(out, f), JSON.stringify(root));
      written.push(f);
    }
  }
  if (written.length === 0) throw new Error(`${file}: no CustomResourceDefinition with an openAPIV3Schema`);
  return written;
}

const { values } = parseArgs({
  options: { swagger: { type: 'string' }, crd: { type: 'string', multiple: true, default: [] }, out: { type: 'string' } },
});
if (!values.swagger || !values.out) {
  process.stderr.write('usage: k8s-schemas.ts --swagger <swagger.json> [--crd <crd.yaml>]... --out <dir>\n');
  process.exit(2);
}
const out = path.resolve(values.out);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const files = await fromSwagger(values.swagger, out);
for (const crd of values.crd) files.push(...(await fromCrd(crd, out)));
process.stdout.write(`${files.length} schemas written to ${out}\n`);
