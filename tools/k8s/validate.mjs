// Offline checks for deploy/ (run by deploy/k8s/validate.sh; no cluster, no network).
//
//   node validate.mjs manifests [--external-secret=NAME]... LABEL RENDERED.yaml
//       Every object of a `kubectl kustomize` output against the Kubernetes API schemas of
//       npm's kubernetes-models (and @kubernetes-models/keda for KEDA's kinds): types, enums,
//       required fields, and, which those validators alone do not catch, unknown fields.
//       Then the references between objects and longrun's own rules (below).
//   node validate.mjs same A.yaml B.yaml
//       Two renders hold the same objects, generated names' hash suffixes aside (kubectl
//       1.20's kustomize and newer ones hash differently).
//   node validate.mjs flags LABEL RENDERED.yaml BIN_DIR
//       The flags and LONGRUN_* variables the manifests give longrun-api and longrun-worker
//       exist: each binary's --help lists them.
//   node validate.mjs promql --rules-out=FILE SOURCE...
//       Collects the PromQL of Grafana dashboards (.json: every target's expr), Prometheus
//       rule files (.yaml: every expr) and docs (.md: ```promql blocks), checks that each
//       names only metrics longrun exports, checks the dashboards' structure, and writes
//       every expression as a recording rule to FILE for `promtool check rules` (syntax).
//
// Unknown fields: the validators are compiled ajv code that reads every property its schema
// declares (`data.replicas`, present or not) and enumerates the keys of maps (labels, data).
// Each object is validated through a Proxy that records those reads; afterwards a key the
// validator neither read nor enumerated is one the schema does not have. An object whose
// schema is free-form (no properties, no map) gets no reads at all and is not judged.
//
// Exit status: 0 when everything passes, 1 with one line per problem (naming the object and
// the field path) otherwise, 2 on a usage error.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

// Metrics longrun-api and longrun-worker export (docs/RUNBOOK.md). Histograms are listed by
// their base name; _bucket, _sum and _count follow from it.
const COUNTERS_AND_GAUGES = [
  "grpc_server_started_total",
  "grpc_server_handled_total",
  "longrun_operations_submitted_total",
  "longrun_jobs_finished_total",
  "longrun_retries_total",
  "longrun_queue_depth",
  "longrun_queue_oldest_age_seconds",
  "longrun_watch_streams",
  "longrun_lease_rescues_total",
  "longrun_db_pool_connections",
  "longrun_worker_slots",
  "longrun_db_errors_total",
];
const HISTOGRAMS = [
  "grpc_server_handling_seconds",
  "longrun_job_run_seconds",
  "longrun_job_pickup_seconds",
  "longrun_notify_lag_seconds",
];
const KNOWN_METRICS = new Set([
  ...COUNTERS_AND_GAUGES,
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);

const problems = [];
function problem(where, message) {
  problems.push(`${where}: ${message}`);
}

function usage(message) {
  process.stderr.write(`validate.mjs: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Schemas and the unknown-field check.
// ---------------------------------------------------------------------------------------

function modelModule(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === "keda.sh") return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  return group === ""
    ? `kubernetes-models/${version}/${kind}`
    : `kubernetes-models/${group}/${version}/${kind}`;
}

async function loadModel(apiVersion, kind) {
  if (!/^[A-Za-z0-9.\-/]+$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  try {
    const mod = await import(modelModule(apiVersion, kind));
    const model = mod[kind];
    return typeof model === "function" && typeof model.prototype.validate === "function"
      ? model
      : null;
  } catch {
    return null;
  }
}

// Wraps `root` so that every property read, `in` test and key enumeration is recorded per
// underlying object.
function instrument(root) {
  const reads = new Map();  // object -> Set of keys read
  const enumerated = new Set();
  const proxies = new WeakMap();
  const record = (target, key) => {
    if (typeof key !== "string") return;
    let keys = reads.get(target);
    if (keys === undefined) reads.set(target, (keys = new Set()));
    keys.add(key);
  };
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    let proxy = proxies.get(value);
    if (proxy === undefined) {
      proxy = new Proxy(value, {
        get(target, key, receiver) {
          record(target, key);
          return wrap(Reflect.get(target, key, receiver));
        },
        has(target, key) {
          record(target, key);
          return Reflect.has(target, key);
        },
        ownKeys(target) {
          enumerated.add(target);
          return Reflect.ownKeys(target);
        },
      });
      proxies.set(value, proxy);
    }
    return proxy;
  };
  return { proxy: wrap(root), reads, enumerated };
}

function fieldPath(segments) {
  let out = "";
  for (const s of segments) {
    out += /^\d+$/.test(String(s)) ? `[${s}]` : out === "" ? String(s) : `.${s}`;
  }
  return out === "" ? "(object)" : out;
}

function unknownFields(value, reads, enumerated, segments, out) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, reads, enumerated, [...segments, i], out));
    return;
  }
  const keysRead = reads.get(value);
  const judged = keysRead !== undefined && !enumerated.has(value);
  for (const key of Object.keys(value)) {
    if (judged && !keysRead.has(key)) {
      out.push(`${fieldPath([...segments, key])}: unknown field "${key}"`);
      continue;
    }
    unknownFields(value[key], reads, enumerated, [...segments, key], out);
  }
}

function schemaErrors(model, object) {
  const { proxy, reads, enumerated } = instrument(object);
  const out = [];
  try {
    model.prototype.validate.call(proxy);
  } catch (err) {
    if (!Array.isArray(err.errors)) throw err;
    for (const e of err.errors) {
      const segments = e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
      let detail = e.message ?? e.keyword;
      if (e.keyword === "enum") detail += ` (${e.params.allowedValues.join(", ")})`;
      if (e.keyword === "required") segments.push(e.params.missingProperty);
      out.push(`${fieldPath(segments)}: ${detail}`);
    }
  }
  unknownFields(object, reads, enumerated, [], out);
  return out;
}

// ---------------------------------------------------------------------------------------
// References between objects and longrun's rules.
// ---------------------------------------------------------------------------------------

const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job"]);

function podSpecOf(obj) {
  return POD_TEMPLATE_KINDS.has(obj.kind) ? obj.spec?.template?.spec : undefined;
}

function podLabelsOf(obj) {
  return POD_TEMPLATE_KINDS.has(obj.kind) ? obj.spec?.template?.metadata?.labels ?? {} : undefined;
}

function selects(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

// "1m30s", "500ms", "10s" -> seconds (the flag syntax of longrun's binaries).
function durationSeconds(text) {
  const units = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 };
  const re = /(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : NaN;
}

function flagValue(args, name) {
  const prefix = `--${name}=`;
  const arg = (args ?? []).find((a) => typeof a === "string" && a.startsWith(prefix));
  return arg === undefined ? undefined : arg.slice(prefix.length);
}

function checkReferences(label, objects, externalSecrets) {
  const named = (kind, ns, name) =>
    objects.some((o) => o.kind === kind && o.metadata?.name === name && (o.metadata?.namespace ?? "") === ns);
  const where = (o) => `${label}: ${o.kind}/${o.metadata?.name}`;
  const secretExists = (ns, name) => externalSecrets.has(name) || named("Secret", ns, name);
  const workloads = objects.filter((o) => POD_TEMPLATE_KINDS.has(o.kind));
  const podsIn = (ns) => workloads.filter((w) => (w.metadata?.namespace ?? "") === ns);

  for (const o of objects) {
    const ns = o.metadata?.namespace ?? "";
    const spec = podSpecOf(o);
    if (spec !== undefined) checkPod(o, spec, ns, where(o), named, secretExists, objects);
    if (o.kind === "Service" && o.spec?.selector !== undefined) {
      const targets = podsIn(ns).filter((w) => selects(o.spec.selector, podLabelsOf(w)));
      if (targets.length === 0) problem(where(o), "spec.selector matches no pod template");
      for (const [i, port] of (o.spec.ports ?? []).entries()) {
        if (typeof port.targetPort !== "string") continue;
        const found = targets.some((w) =>
          podSpecOf(w).containers?.some((c) => c.ports?.some((p) => p.name === port.targetPort)));
        if (!found) problem(where(o), `spec.ports[${i}].targetPort: no selected container has a port named "${port.targetPort}"`);
      }
    }
    if (o.kind === "PodDisruptionBudget" || o.kind === "NetworkPolicy") {
      const selector = o.kind === "NetworkPolicy" ? o.spec?.podSelector : o.spec?.selector;
      const labels = selector?.matchLabels;
      if (labels !== undefined && Object.keys(labels).length > 0 &&
          !podsIn(ns).some((w) => selects(labels, podLabelsOf(w)))) {
        problem(where(o), "selector matches no pod template");
      }
    }
    if (o.kind === "StatefulSet" && !named("Service", ns, o.spec?.serviceName)) {
      problem(where(o), `spec.serviceName: no Service "${o.spec?.serviceName}"`);
    }
    if (o.kind === "ScaledObject") {
      const target = o.spec?.scaleTargetRef ?? {};
      if (!named(target.kind ?? "Deployment", ns, target.name)) {
        problem(where(o), `spec.scaleTargetRef: no ${target.kind ?? "Deployment"} "${target.name}"`);
      }
      for (const [i, t] of (o.spec?.triggers ?? []).entries()) {
        const ref = t.authenticationRef;
        if (ref !== undefined && !named(ref.kind ?? "TriggerAuthentication", ns, ref.name)) {
          problem(where(o), `spec.triggers[${i}].authenticationRef: no ${ref.kind ?? "TriggerAuthentication"} "${ref.name}"`);
        }
      }
    }
    if (o.kind === "TriggerAuthentication") {
      for (const [i, ref] of (o.spec?.secretTargetRef ?? []).entries()) {
        if (!secretExists(ns, ref.name)) problem(where(o), `spec.secretTargetRef[${i}].name: no Secret "${ref.name}"`);
      }
    }
  }
}

function checkPod(o, spec, ns, at, named, secretExists, objects) {
  const configMap = (name) =>
    objects.find((x) => x.kind === "ConfigMap" && x.metadata?.name === name && (x.metadata?.namespace ?? "") === ns);
  const podSc = spec.securityContext ?? {};
  // The "restricted" Pod Security Standard, plus a read-only root file system.
  const seccomp = podSc.seccompProfile?.type;
  for (const [i, c] of [...(spec.initContainers ?? []), ...(spec.containers ?? [])].entries()) {
    const field = `spec.template.spec.containers[${c.name ?? i}]`;
    const sc = c.securityContext ?? {};
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problem(at, `${field}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0 || podSc.runAsUser === 0) problem(at, `${field}: runs as uid 0`);
    if (sc.allowPrivilegeEscalation !== false) problem(at, `${field}.securityContext.allowPrivilegeEscalation must be false`);
    if (sc.privileged === true) problem(at, `${field}.securityContext.privileged must not be true`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problem(at, `${field}.securityContext.capabilities.drop must include ALL`);
    if (sc.readOnlyRootFilesystem !== true) problem(at, `${field}.securityContext.readOnlyRootFilesystem must be true`);
    const profile = sc.seccompProfile?.type ?? seccomp;
    if (profile !== "RuntimeDefault" && profile !== "Localhost") {
      problem(at, `${field}: seccompProfile.type must be RuntimeDefault or Localhost`);
    }
    const image = String(c.image ?? "");
    const tag = image.includes("@") ? "digest" : image.slice(image.lastIndexOf("/") + 1).split(":")[1];
    if (tag === undefined || tag === "latest") problem(at, `${field}.image "${image}" needs a fixed tag`);

    // References to ConfigMaps and Secrets, and the variables $(NAME) in command and args.
    const vars = new Set();
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef !== undefined) {
        const cm = configMap(from.configMapRef.name);
        if (cm === undefined) problem(at, `${field}.envFrom: no ConfigMap "${from.configMapRef.name}"`);
        for (const k of Object.keys(cm?.data ?? {})) vars.add((from.prefix ?? "") + k);
      }
      if (from.secretRef !== undefined && !secretExists(ns, from.secretRef.name)) {
        problem(at, `${field}.envFrom: no Secret "${from.secretRef.name}"`);
      }
    }
    for (const e of c.env ?? []) {
      vars.add(e.name);
      const cmRef = e.valueFrom?.configMapKeyRef;
      if (cmRef !== undefined) {
        const cm = configMap(cmRef.name);
        if (cm === undefined || !(cmRef.key in (cm.data ?? {}))) {
          problem(at, `${field}.env[${e.name}]: no key "${cmRef.key}" in ConfigMap "${cmRef.name}"`);
        }
      }
      const secretRef = e.valueFrom?.secretKeyRef;
      if (secretRef !== undefined && !secretExists(ns, secretRef.name)) {
        problem(at, `${field}.env[${e.name}]: no Secret "${secretRef.name}"`);
      }
    }
    for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
      for (const m of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
        if (!vars.has(m[1])) problem(at, `${field}: "${arg}" uses $(${m[1]}), which no env or envFrom defines`);
      }
    }
    // Probe ports must be ports the container declares.
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const port = c[probe]?.grpc?.port ?? c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
      if (port !== undefined && !(c.ports ?? []).some((p) => p.containerPort === port || p.name === port)) {
        problem(at, `${field}.${probe}: port ${port} is not one of the container's ports`);
      }
    }
    // longrun's drains: SIGKILL must not come before --shutdown-delay + --shutdown-grace.
    const grace = flagValue(c.args, "shutdown-grace");
    if (grace !== undefined) {
      const needed = durationSeconds(grace) + durationSeconds(flagValue(c.args, "shutdown-delay") ?? "0s");
      const period = spec.terminationGracePeriodSeconds ?? 30;
      if (Number.isNaN(needed)) problem(at, `${field}: cannot read the duration in --shutdown-grace/--shutdown-delay`);
      else if (!(period > needed)) {
        problem(at, `spec.template.spec.terminationGracePeriodSeconds (${period}) must exceed --shutdown-delay + --shutdown-grace (${needed}s)`);
      }
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap !== undefined && configMap(v.configMap.name) === undefined) problem(at, `volume ${v.name}: no ConfigMap "${v.configMap.name}"`);
    if (v.secret !== undefined && !secretExists(ns, v.secret.secretName)) problem(at, `volume ${v.name}: no Secret "${v.secret.secretName}"`);
  }
}

// ---------------------------------------------------------------------------------------
// Commands.
// ---------------------------------------------------------------------------------------

function readObjects(file) {
  const docs = parseAllDocuments(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      problem(file, `YAML: ${doc.errors[0].message}`);
      continue;
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

async function manifests(args) {
  const externalSecrets = new Set();
  const positional = [];
  for (const a of args) {
    if (a.startsWith("--external-secret=")) externalSecrets.add(a.slice("--external-secret=".length));
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) usage("manifests [--external-secret=NAME]... LABEL RENDERED.yaml");
  const [label, file] = positional;
  const objects = readObjects(file);
  if (objects.length === 0) problem(label, "the render holds no objects");
  const kinds = {};
  for (const o of objects) {
    const at = `${label}: ${o.kind ?? "?"}/${o.metadata?.name ?? "?"}`;
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string") {
      problem(at, "apiVersion and kind are required strings");
      continue;
    }
    const model = await loadModel(o.apiVersion, o.kind);
    if (model === null) {
      problem(at, `no schema for apiVersion "${o.apiVersion}" kind "${o.kind}" (a typo, or a kind this check does not know)`);
      continue;
    }
    for (const e of schemaErrors(model, o)) problem(at, e);
    kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
  }
  checkReferences(label, objects, externalSecrets);
  return `${label}: ${objects.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")})`;
}

function same(args) {
  if (args.length !== 2) usage("same A.yaml B.yaml");
  // Generated ConfigMaps and Secrets are named NAME-HASH (10 characters); the hash depends on
  // the kustomize version.
  // kubectl 1.20's kustomize also leaves empty labels and annotations on merged generators.
  const dropEmpty = (o) => {
    for (const k of ["labels", "annotations"]) {
      if (o.metadata?.[k] !== undefined && Object.keys(o.metadata[k]).length === 0) delete o.metadata[k];
    }
    return o;
  };
  const normalize = (file) =>
    readObjects(file)
      .map(dropEmpty)
      .map((o) => JSON.stringify(o, (k, v) =>
        v !== null && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v).replace(/"(longrun-[a-z0-9-]*?)-[a-z0-9]{10}"/g, '"$1-HASH"'))
      .sort();
  const a = normalize(args[0]);
  const b = normalize(args[1]);
  const onlyA = a.filter((x) => !b.includes(x));
  const onlyB = b.filter((x) => !a.includes(x));
  for (const x of onlyA) problem(args[0], `only here: ${x.slice(0, 300)}`);
  for (const x of onlyB) problem(args[1], `only here: ${x.slice(0, 300)}`);
  return `${a.length} objects, the same in both renders`;
}

// Grafana's variables, replaced so that promtool can parse the expressions.
function substituteGrafana(expr) {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, ".*");
}

function checkMetricNames(where, expr) {
  const known = /\b(?:longrun|grpc_server)_[a-z0-9_]+/g;
  for (const m of expr.matchAll(known)) {
    if (!KNOWN_METRICS.has(m[0])) problem(where, `unknown metric "${m[0]}" in: ${expr.replace(/\s+/g, " ")}`);
  }
}

function dashboardExprs(file, out) {
  let dash;
  try {
    dash = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    problem(file, `not JSON: ${err.message}`);
    return;
  }
  if (typeof dash.schemaVersion !== "number") problem(file, "schemaVersion must be a number");
  if (typeof dash.title !== "string" || typeof dash.uid !== "string") problem(file, "title and uid are required");
  const dsVar = (dash.templating?.list ?? []).find((v) => v.type === "datasource");
  if (dsVar === undefined) problem(file, "templating.list needs a datasource variable");
  const ids = new Set();
  const panels = (dash.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  for (const p of panels) {
    const at = `${file}: panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id) || ids.has(p.id)) problem(at, "needs a unique integer id");
    ids.add(p.id);
    if (typeof p.gridPos?.w !== "number" || typeof p.gridPos?.h !== "number") problem(at, "needs gridPos");
    if (p.type === "row") continue;
    if (dsVar !== undefined && p.datasource?.uid !== `\${${dsVar.name}}`) {
      problem(at, `datasource.uid must be \${${dsVar.name}}`);
    }
    if (!Array.isArray(p.targets) || p.targets.length === 0) problem(at, "has no targets");
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== "string" || t.expr.trim() === "") problem(at, `target ${t.refId}: no expr`);
      else out.push({ where: `${at} target ${t.refId}`, expr: t.expr });
    }
  }
  if (panels.length === 0) problem(file, "has no panels");
}

function ruleExprs(file, out) {
  for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    for (const group of doc.toJS()?.groups ?? []) {
      for (const rule of group.rules ?? []) {
        out.push({ where: `${file}: ${rule.alert ?? rule.record}`, expr: String(rule.expr) });
      }
    }
  }
}

function markdownExprs(file, out) {
  const text = fs.readFileSync(file, "utf8");
  let n = 0;
  for (const m of text.matchAll(/^```promql\n([\s\S]*?)^```/gm)) {
    n += 1;
    // One expression per block; a blank line separates several.
    for (const expr of m[1].split(/\n\s*\n/)) {
      const code = expr.split("\n").filter((l) => !l.trim().startsWith("#")).join("\n").trim();
      if (code !== "") out.push({ where: `${file}: promql block ${n}`, expr: code });
    }
  }
  if (n === 0) problem(file, "has no ```promql blocks");
}

function promql(args) {
  let rulesOut;
  const sources = [];
  for (const a of args) {
    if (a.startsWith("--rules-out=")) rulesOut = a.slice("--rules-out=".length);
    else sources.push(a);
  }
  if (rulesOut === undefined || sources.length === 0) usage("promql --rules-out=FILE SOURCE...");
  const exprs = [];
  for (const file of sources) {
    if (file.endsWith(".json")) dashboardExprs(file, exprs);
    else if (file.endsWith(".md")) markdownExprs(file, exprs);
    else ruleExprs(file, exprs);
  }
  for (const { where, expr } of exprs) checkMetricNames(where, expr);
  const rules = exprs.map((e, i) => `  - record: longrun_check:expr_${i}\n    expr: ${JSON.stringify(substituteGrafana(e.expr))}`);
  fs.writeFileSync(rulesOut, `# Generated by tools/k8s/validate.mjs for promtool; one rule per expression.\ngroups:\n- name: longrun-check\n  rules:\n${rules.join("\n")}\n`);
  return `${exprs.length} PromQL expressions from ${sources.map((s) => path.basename(s)).join(", ")}`;
}

// Every --flag in the args of a container running a longrun binary, and every LONGRUN_*
// variable in its env, must be one that binary's --help lists.
function flags(args) {
  if (args.length !== 3) usage("flags LABEL RENDERED.yaml BIN_DIR");
  const [label, file, binDir] = args;
  const helps = new Map();
  const helpOf = (binary) => {
    if (!helps.has(binary)) {
      const out = spawnSync(path.join(binDir, binary), ["--help"], { encoding: "utf8" });
      if (out.status !== 0) {
        problem(label, `${path.join(binDir, binary)} --help failed: ${out.error?.message ?? out.stderr}`);
        helps.set(binary, null);
      } else {
        helps.set(binary, {
          flags: new Set([...out.stdout.matchAll(/^  --([a-z0-9-]+)/gm)].map((m) => m[1])),
          env: new Set([...out.stdout.matchAll(/\[env (LONGRUN_[A-Z0-9_]+)\]/g)].map((m) => m[1])),
        });
      }
    }
    return helps.get(binary);
  };
  let checked = 0;
  const objects = readObjects(file);
  for (const o of objects) {
    for (const c of podSpecOf(o)?.containers ?? []) {
      const binary = path.basename(String(c.command?.[0] ?? ""));
      if (!/^longrun-(api|worker)$/.test(binary)) continue;
      const help = helpOf(binary);
      if (help === null) continue;
      const at = `${label}: ${o.kind}/${o.metadata?.name} container ${c.name}`;
      for (const arg of [...(c.command ?? []).slice(1), ...(c.args ?? [])]) {
        const m = /^--([a-z0-9-]+)/.exec(String(arg));
        if (m !== null && !help.flags.has(m[1])) problem(at, `${binary} has no flag --${m[1]}`);
      }
      const envNames = [...(c.env ?? []).map((e) => e.name)];
      for (const from of c.envFrom ?? []) {
        const cm = objects.find((x) => x.kind === "ConfigMap" && x.metadata?.name === from.configMapRef?.name);
        envNames.push(...Object.keys(cm?.data ?? {}));
      }
      for (const name of envNames) {
        if (name.startsWith("LONGRUN_") && !help.env.has(name)) problem(at, `${binary} reads no variable ${name}`);
      }
      checked += 1;
    }
  }
  return `${label}: the flags and LONGRUN_* variables of ${checked} containers exist in the binaries`;
}

const [command, ...rest] = process.argv.slice(2);
const commands = { manifests, same, promql, flags };
if (!(command in commands)) usage("command must be one of: manifests, same, promql, flags");
const summary = await commands[command](rest);
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`${p}\n`);
  process.stderr.write(`validate.mjs ${command}: ${problems.length} problem(s)\n`);
  process.exit(1);
}
process.stdout.write(`ok: ${summary}\n`);
