// Validates Kubernetes objects offline against the Kubernetes API schemas of the npm package
// kubernetes-models (tests/package.json), as `kubectl apply --validate=strict` would:
//   1. the JSON schema of the object's apiVersion/kind (types, required fields, enums, formats);
//   2. strict fields: every key of every object must be a field the API type declares (the JSON
//      schemas allow unknown keys, the API server's strict field validation does not). The field
//      lists come from the package's type declarations (.d.ts), walked type by type.
//
// Input (stdin): JSON [{"source": "file#index", "object": {...}}, ...].
// Output: one line per object, "ok SOURCE KIND/NAME" or "FAIL SOURCE: reason", then
// "N passed, M failed". Exit status 0 iff every object is valid.
// Environment: FGW_NODE_MODULES (default: tests/node_modules beside this file).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NM = process.env.FGW_NODE_MODULES || path.resolve(HERE, "../node_modules");
const MODELS = path.join(NM, "kubernetes-models");

// The package's folder for an apiVersion is the apiVersion itself: "apps/v1", "v1" (core).
const modelFolder = (apiVersion) => apiVersion;

// ---- strict fields, from the .d.ts files ------------------------------------------------------
const typeCache = new Map();  // absolute .d.ts path -> {fields: Map(name -> typeText), imports}

function resolveImport(fromFile, spec) {
  let base;
  if (spec.startsWith(".")) {
    base = path.resolve(path.dirname(fromFile), spec.replace(/\.js$/, ""));
  } else {
    base = path.join(NM, spec.replace(/\.js$/, ""));
  }
  return base + ".d.ts";
}

// Splits "a; b; {c; d}; e" at depth-0 semicolons.
function splitTop(text) {
  const out = [];
  let depth = 0, cur = "";
  for (const ch of text) {
    if (ch === "{" || ch === "<" || ch === "(") depth++;
    if (ch === "}" || ch === ">" || ch === ")") depth--;
    if (ch === ";" && depth === 0) { out.push(cur.trim()); cur = ""; continue; }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function loadType(file) {
  if (typeCache.has(file)) return typeCache.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      imports.set(name, resolveImport(file, m[2]));
    }
  }
  // The class body lists each field once, without comments.
  const cls = text.match(/export declare class \w+ extends Model<\w+> implements \w+ \{([\s\S]*?)\n\s*constructor\(/);
  let fields = null;
  if (cls) {
    fields = new Map();
    for (const stmt of splitTop(cls[1])) {
      const m = stmt.match(/^"([^"]+)"\??:\s*([\s\S]+)$/);
      if (m) fields.set(m[1], m[2].trim());
    }
  }
  const entry = { fields, imports, file };
  typeCache.set(file, entry);
  return entry;
}

// Checks `value` against the type text `typeText` seen from the declaration file `ctx`.
function checkValue(value, typeText, ctx, where, errors) {
  if (value === null || typeof value !== "object") return;
  let t = typeText.trim();
  const arr = t.match(/^Array<([\s\S]+)>$/);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => checkValue(v, arr[1], ctx, `${where}/${i}`, errors));
    return;
  }
  const map = t.match(/^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/);
  if (map) {
    for (const [k, v] of Object.entries(value)) checkValue(v, map[1], ctx, `${where}/${k}`, errors);
    return;
  }
  if (/^I\w+$/.test(t) && ctx.imports.has(t)) {
    checkObject(value, loadType(ctx.imports.get(t)), where, errors);
  }
  // Primitives, unions of literals, IntOrString, Quantity, free-form objects: nothing to walk.
}

function checkObject(value, type, where, errors) {
  if (!type.fields || Array.isArray(value)) return;  // A type without declared fields.
  for (const [k, v] of Object.entries(value)) {
    if (!type.fields.has(k)) {
      errors.push(`${where || "/"}: unknown field "${k}"`);
      continue;
    }
    checkValue(v, type.fields.get(k), type, `${where}/${k}`, errors);
  }
}

// ---- main ---------------------------------------------------------------------------------------
if (!fs.existsSync(path.join(MODELS, "package.json"))) {
  console.log(`FAIL kubernetes-models is not installed in ${NM} (npm ci in tests/)`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const input = JSON.parse(fs.readFileSync(0, "utf8"));
let passed = 0, failed = 0;
for (const { source, object } of input) {
  const kind = object?.kind, apiVersion = object?.apiVersion;
  const label = `${source} ${kind}/${object?.metadata?.name}`;
  const dts = path.join(MODELS, modelFolder(apiVersion || "?"), `${kind}.d.ts`);
  if (!kind || !apiVersion || !fs.existsSync(dts)) {
    console.log(`FAIL ${label}: no schema for apiVersion ${apiVersion} kind ${kind}`);
    failed++;
    continue;
  }
  const errors = [];
  try {
    const mod = await import(pathToFileURL(dts.replace(/\.d\.ts$/, ".js")).href);
    new mod[kind](object).validate();
  } catch (e) {
    errors.push(`schema: ${e.message}`);
  }
  const top = loadType(dts);
  const topFields = new Set(top.fields ? top.fields.keys() : []);
  topFields.add("apiVersion");
  topFields.add("kind");
  for (const k of Object.keys(object)) {
    if (!topFields.has(k)) errors.push(`/: unknown field "${k}"`);
  }
  const { apiVersion: _a, kind: _k, ...rest } = object;
  checkObject(rest, top, "", errors);
  if (errors.length) {
    console.log(`FAIL ${label}: ${errors.join("; ")}`);
    failed++;
  } else {
    console.log(`ok ${label}`);
    passed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
