// Builds a JavaScript app or contract into a component; `trellis build` runs it with Node.
//
//   node build.mjs <project> <sdk> <world> <out.wasm> <node_modules>
//
// <project> holds app.js or contract.js; <sdk> is the project's `.trellis/` folder (the WIT
// package and the SDK); <node_modules> holds the pinned rolldown, componentize-js and jco.
//
// 1. An entry module imports the project's default export and exports the world's functions.
// 2. rolldown bundles it with the SDK (`trellis`) into one module: componentize-js does not
//    reliably follow imports of other files. The WIT interfaces (`trellis:*`) stay imports.
// 3. componentize-js embeds the bundle in StarlingMonkey. The host offers no wasi:http, so the
//    engine's fetch support is left out.
// 4. jco writes TypeScript declarations of the world into <sdk>/js/types/<world>/, for editors.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [projectArg, sdkArg, world, outArg, toolsArg] = process.argv.slice(2);
if (!toolsArg || !["app", "contract"].includes(world)) {
  console.error("usage: node build.mjs <project> <sdk> <app|contract> <out.wasm> <node_modules>");
  process.exit(2);
}
const project = resolve(projectArg);
const sdk = resolve(sdkArg);
const out = resolve(outArg);
const tools = resolve(toolsArg);
const work = join(sdk, "js", "build");

// The module a package's `import` resolves to, read from its package.json in <node_modules>
// (this script lives outside that folder, so a bare `import` would not find it).
async function load(name) {
  const dir = join(tools, name);
  let manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  } catch (error) {
    throw new Error(`${name} is not installed in ${tools} (${error.code || error.message})`);
  }
  let entry = manifest.exports?.["."] ?? manifest.exports ?? manifest.main;
  while (entry && typeof entry === "object") entry = entry.import ?? entry.default ?? entry.node;
  return import(pathToFileURL(join(dir, entry)).href);
}

const EXPORTS = {
  app: { factory: "appExports", functions: ["init", "onReading", "onTick"] },
  contract: { factory: "contractExports", functions: ["preprocess", "postprocess"] },
};

function entrySource() {
  const { factory, functions } = EXPORTS[world];
  const lines = [
    `import Impl from ${JSON.stringify(join(project, `${world}.js`))};`,
    `import { ${factory} } from ${JSON.stringify(join(sdk, "js", "trellis", `${world}-world.js`))};`,
    `const exported = ${factory}(Impl);`,
    ...functions.map((f) => `export function ${f}(...args) { return exported.${f}(...args); }`),
  ];
  return lines.join("\n") + "\n";
}

async function bundle() {
  const { rolldown } = await load("rolldown");
  const entry = join(work, `entry-${world}.js`);
  await writeFile(entry, entrySource());
  const sdkDir = join(sdk, "js", "trellis");
  const build = await rolldown({
    input: entry,
    platform: "neutral",
    resolve: { alias: { trellis: join(sdkDir, "index.js") } },
    external: [/^trellis:/],
    // The SDK's modules and the WIT imports have no side effects: what a project does not use
    // is dropped, so a contract does not import the app world's interfaces.
    treeshake: {
      moduleSideEffects: (id, external) => !external && !id.startsWith(sdkDir),
    },
    logLevel: "warn",
  });
  const file = join(work, `${world}.bundle.js`);
  const { output } = await build.generate({ file, format: "esm", sourcemap: "hidden" });
  await build.close();
  const [chunk] = output;
  await writeFile(file, chunk.code + sourceLines(chunk.map) + "\n");
  return file;
}

// The engine's stack traces name lines of the bundle; a table appended after its last line
// (so no line moves) lets the SDK name the project's file and line instead (errors.js).
function sourceLines(map) {
  const files = map.sources.map((source) => relative(project, resolve(work, source)));
  const lines = [];
  let source = 0;
  let line = 0;
  for (const segments of map.mappings.split(";")) {
    let first = null;
    for (const segment of segments.split(",").filter(Boolean)) {
      const fields = vlq(segment);
      if (fields.length < 4) continue;
      source += fields[1];
      line += fields[2];
      first ??= [source, line + 1];
    }
    lines.push(first);
  }
  const table = JSON.stringify({ files, lines });
  return `\nglobalThis[Symbol.for("trellis.source-lines")] = ${table};`;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// One source-map segment: base64 VLQ numbers, each relative to the one before it.
function vlq(segment) {
  const numbers = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      numbers.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return numbers;
}

async function componentize(source) {
  const { componentize } = await load("@bytecodealliance/componentize-js");
  const { component } = await componentize({
    sourcePath: source,
    witPath: join(sdk, "wit"),
    worldName: world,
    disableFeatures: ["http", "fetch-event"],
  });
  await mkdir(join(out, ".."), { recursive: true });
  await writeFile(out, component);
}

async function types() {
  const { types } = await load("@bytecodealliance/jco");
  const outDir = join(sdk, "js", "types", world);
  const files = await types(join(sdk, "wit"), { worldName: world, guest: true, outDir });
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, contents);
  }
}

try {
  await mkdir(work, { recursive: true });
  const source = await bundle();
  await componentize(source);
  await types();
} catch (error) {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
}
