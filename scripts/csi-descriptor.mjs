#!/usr/bin/env node
// Writes proto/csi.json: proto/csi.proto as protobufjs JSON, which the driver loads at start-up
// instead of parsing the .proto (parsing it, twice, with @grpc/proto-loader and its descriptor
// reflection cost about 4 MiB of resident memory more). Run after changing proto/csi.proto;
// test/unit/proto-loader.test.ts fails while the two disagree.
//
//   node scripts/csi-descriptor.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const PROTO = fileURLToPath(new URL("../proto/csi.proto", import.meta.url));
export const CSI_DESCRIPTOR = fileURLToPath(new URL("../proto/csi.json", import.meta.url));

/** csi.proto as the JSON text proto/csi.json must hold. */
export function csiDescriptorJson() {
  const require = createRequire(import.meta.url);
  const protobuf = require("protobufjs");
  const descriptor = require("protobufjs/google/protobuf/descriptor.json");
  const descriptorTypes = descriptor.nested.google.nested.protobuf.nested;
  // Registered so the `extend google.protobuf.FieldOptions` blocks (csi_secret, alpha_field…) resolve.
  protobuf.common("descriptor", descriptorTypes);
  const root = new protobuf.Root();
  root.loadSync(PROTO, { keepCase: true });
  root.resolveAll();
  const json = root.toJSON({ keepComments: false });
  // Kept: the option values on fields (`"(csi_secret)": true`). Dropped: the extension declarations
  // and descriptor.proto itself, which only the parser needs; the well-known types csi.proto uses stay.
  const google = json.nested.google.nested.protobuf.nested;
  for (const name of Object.keys(descriptorTypes)) delete google[name];
  const v1 = json.nested.csi.nested.v1.nested;
  for (const [name, entry] of Object.entries(v1)) if (entry.extend) delete v1[name];
  return `${JSON.stringify(json, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = csiDescriptorJson();
  if (process.argv.includes("--check")) {
    if (readFileSync(CSI_DESCRIPTOR, "utf8") !== text) {
      process.stderr.write("proto/csi.json is out of date: run node scripts/csi-descriptor.mjs\n");
      process.exit(1);
    }
  } else writeFileSync(CSI_DESCRIPTOR, text);
}
